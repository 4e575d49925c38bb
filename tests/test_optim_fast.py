"""The optimizers' fast paths: the compiled Adam update gives bitwise the NumPy path's numbers,
float32 stays float32 whatever the type of the hyperparameters, and large parameters still
follow torch step for step."""

import importlib

import numpy as np
import pytest

from numtorch import optim
from numtorch.nn.parameter import Parameter
from numtorch.ops import _jit as ops_jit
from numtorch.optim import _jit

SIZE = 6151  # the compiled loop's vector body and its remainder both run; a multiple of nothing

ADAM_CONFIGS = [
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.9), eps=1e-3)),  # the other side of the lerp
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
]


def _trajectory(name, config, dtype, steps=6, shape=(SIZE,)):
    rng = np.random.default_rng(0)
    p = Parameter(rng.standard_normal(shape).astype(dtype))
    opt = getattr(optim, name)([p], **config)
    out = []
    for _ in range(steps):
        p.grad = Parameter(rng.standard_normal(shape).astype(dtype) * 10).detach()
        opt.step()
        out.append(p.detach().numpy().copy())
    state = opt.state[p]
    return out, {k: v.numpy().copy() for k, v in state.items()}


def _compiled_available():
    return ops_jit.ENABLED and ops_jit.kernels(np.zeros(1, np.float32)) is not None


@pytest.mark.parametrize("shape", [(SIZE,), (3, 2)])  # a weight and a small bias
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,config", ADAM_CONFIGS)
def test_compiled_adam_is_bitwise_the_numpy_path(monkeypatch, name, config, dtype, shape):
    if not _compiled_available():
        pytest.skip("numba is not available")
    calls = []
    real = _jit.adam_kernel

    def counting(*arrays):
        kernel = real(*arrays)
        calls.append(kernel is not None)
        return kernel

    monkeypatch.setattr(_jit, "adam_kernel", counting)
    fast, fast_state = _trajectory(name, config, dtype, shape=shape)
    assert any(calls) == (not config.get("amsgrad", False))
    monkeypatch.setattr(_jit, "adam_kernel", lambda *arrays: None)
    slow, slow_state = _trajectory(name, config, dtype, shape=shape)
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)
    for key in slow_state:
        np.testing.assert_array_equal(fast_state[key], slow_state[key])


def test_empty_or_strided_parameters_stay_on_numpy():
    empty = np.zeros(0, np.float32)
    assert _jit.adam_kernel(empty, empty, empty, empty) is None
    big = np.zeros((SIZE, 2), np.float32)
    assert _jit.adam_kernel(big[:, 0], big[:, 0], big[:, 0], big[:, 0]) is None
    mixed = [np.zeros(SIZE, np.float32), np.zeros(SIZE, np.float64)]
    assert _jit.adam_kernel(mixed[0], mixed[1], mixed[0], mixed[0]) is None


@pytest.mark.parametrize("name,config", [
    ("Adam", dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.1)),
])
@pytest.mark.parametrize("shape", [(SIZE,), (3, 5)])
def test_numpy_scalar_hyperparameters_do_not_upcast_float32(name, config, shape):
    as_numpy = {k: (tuple(np.float64(b) for b in v) if isinstance(v, tuple) else np.float64(v))
                for k, v in config.items() if not isinstance(v, bool)}
    as_numpy.update({k: v for k, v in config.items() if isinstance(v, bool)})
    python, python_state = _trajectory(name, config, np.float32, shape=shape)
    numpy_, numpy_state = _trajectory(name, as_numpy, np.float32, shape=shape)
    for a, b in zip(python, numpy_):
        assert b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    for key, value in numpy_state.items():
        assert value.dtype == np.float32, key
        np.testing.assert_array_equal(value, python_state[key])


@pytest.mark.parametrize("name,config", ADAM_CONFIGS + [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
])
def test_large_parameters_follow_torch(name, config):
    torch = pytest.importorskip("torch")
    ours, _ = _trajectory(name, config, np.float32, steps=10)
    rng = np.random.default_rng(0)
    p = torch.nn.Parameter(torch.from_numpy(rng.standard_normal(SIZE).astype(np.float32)))
    opt = getattr(torch.optim, name)([p], **config)
    for mine in ours:
        p.grad = torch.from_numpy(rng.standard_normal(SIZE).astype(np.float32) * 10)
        opt.step()
        np.testing.assert_allclose(mine, p.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD"])
@pytest.mark.parametrize("flags", [dict(foreach=True), dict(foreach=False), dict(fused=True),
                                   dict(fused=False), dict(foreach=None, fused=None)])
def test_foreach_and_fused_are_accepted_like_torch(name, flags):
    torch = pytest.importorskip("torch")
    extra = {"momentum": 0.9} if name == "SGD" else {}
    p = Parameter(np.ones(4, np.float32))
    opt = getattr(optim, name)([p], lr=0.1, **extra, **flags)
    tp = torch.nn.Parameter(torch.ones(4))
    topt = getattr(torch.optim, name)([tp], lr=0.1, **extra, **flags)
    for key in flags:
        assert opt.param_groups[0][key] == topt.param_groups[0][key]
    p.grad = Parameter(np.full(4, 0.5, np.float32)).detach()
    tp.grad = torch.full((4,), 0.5)
    opt.step()
    topt.step()
    np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("name,config", [
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-3, momentum=0.5, weight_decay=0.1,
                     centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, eps=1e-3, weight_decay=0.1)),
    ("Adamax", dict(lr=0.01, eps=1e-3, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, eps=1e-3, weight_decay=0.1, momentum_decay=0.01)),
    ("RAdam", dict(lr=0.01, eps=1e-3, weight_decay=0.1)),
    ("Adadelta", dict(lr=1.0, rho=0.8, eps=1e-3, weight_decay=0.1)),
    ("ASGD", dict(lr=0.01, lambd=1e-3, alpha=0.7, t0=2.0, weight_decay=0.1)),
])
def test_other_optimizers_take_numpy_scalars_without_upcasting(name, config):
    as_numpy = {k: np.float64(v) for k, v in config.items() if not isinstance(v, bool)}
    as_numpy.update({k: v for k, v in config.items() if isinstance(v, bool)})
    python, _ = _trajectory(name, config, np.float32, shape=(3, 5))
    numpy_, state = _trajectory(name, as_numpy, np.float32, shape=(3, 5))
    for a, b in zip(python, numpy_):
        assert b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    for key, value in state.items():
        assert value.dtype == np.float32, key


@pytest.mark.parametrize("name,config", [ADAM_CONFIGS[2], ("SGD", dict(lr=0.05, momentum=0.9))])
def test_updates_shared_among_threads_give_the_same_bits(monkeypatch, name, config):
    if not _compiled_available():
        pytest.skip("numba is not available")
    from numtorch import _threads

    one, one_state = _trajectory(name, config, np.float32)
    pieces = []
    real = _threads.run_chunks

    def recording(fn, chunks, threads):
        pieces.append((chunks, threads))
        real(fn, chunks, threads)

    monkeypatch.setattr(_threads, "run_chunks", recording)
    monkeypatch.setattr(_threads, "_requested", 2)
    monkeypatch.setattr(_threads, "workers", lambda: 2)
    monkeypatch.setattr(_jit, "ELEMENTS_PER_THREAD", 1000)
    # SGD cuts its one job over all parameters into pieces of its own size: four here
    monkeypatch.setattr(importlib.import_module("numtorch.optim.sgd"), "_PIECE", 1552)
    shared, shared_state = _trajectory(name, config, np.float32)
    assert pieces and all(threads == 2 and chunks == 4 for chunks, threads in pieces)
    for a, b in zip(one, shared):
        np.testing.assert_array_equal(a, b)
    for key in one_state:
        np.testing.assert_array_equal(one_state[key], shared_state[key])


@pytest.mark.parametrize("config", [dict(lr=0.1), dict(lr=0.05, momentum=0.9, weight_decay=0.01)])
def test_sgd_one_job_over_mixed_parameters_follows_torch(monkeypatch, config):
    # float32 weights of several sizes (one job, cut into pieces on two threads), a float64
    # one, a non-contiguous one and one without a gradient: each follows torch step for step
    torch = pytest.importorskip("torch")
    from numtorch import _threads
    monkeypatch.setattr(_threads, "_requested", 2)
    monkeypatch.setattr(_threads, "workers", lambda: 2)
    monkeypatch.setattr(_jit, "ELEMENTS_PER_THREAD", 1000)
    monkeypatch.setattr(importlib.import_module("numtorch.optim.sgd"), "_PIECE", 1552)
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s).astype(np.float32) for s in [(SIZE,), (40, 70), (3,)]]
    values += [rng.standard_normal((30, 20)), rng.standard_normal((7, 9)).astype(np.float32)]
    values.append(rng.standard_normal(5).astype(np.float32))
    ours = [Parameter(v) for v in values[:4]]
    ours.append(Parameter(values[4].T))  # non-contiguous
    ours.append(Parameter(values[5]))
    theirs = [torch.nn.Parameter(torch.tensor(v)) for v in values[:4]]
    theirs.append(torch.nn.Parameter(torch.tensor(values[4]).T))
    theirs.append(torch.nn.Parameter(torch.tensor(values[5])))
    opt = optim.SGD(ours, **config)
    ref = torch.optim.SGD(theirs, **config)
    for _ in range(4):
        for p, q in zip(ours[:-1], theirs[:-1]):
            g = rng.standard_normal(p.shape).astype(p.detach().numpy().dtype)
            p.grad = Parameter(g).detach()
            q.grad = torch.tensor(g)
        opt.step()
        ref.step()
        for p, q in zip(ours, theirs):
            assert str(p.dtype) == str(q.dtype)
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6,
                                       atol=1e-6)
