"""Normalization functions and layers: values, input/weight/bias gradients and running
statistics against PyTorch; eval mode; errors; reprs; float64 finite differences without torch."""

import numpy as np
import pytest
from oracle import check_grad_fd, check_op

import numtorch

try:
    import torch
except ImportError:  # the finite-difference tests still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="needs torch as the oracle")


def F(t):
    return t.nn.functional


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------- functional forms
BN_SHAPES = [(4, 3), (4, 3, 5), (2, 3, 4, 2), (2, 3, 2, 2, 2)]


@needs_torch
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("training", [False, True])
def test_batch_norm_matches_torch(shape, affine, training):
    c = shape[1]
    rm, rv = rng(5).standard_normal(c), rng(6).uniform(0.5, 2, c)

    def fn(t, x, w=None, b=None):
        mean, var = t.tensor(rm, dtype=x.dtype), t.tensor(rv, dtype=x.dtype)
        out = F(t).batch_norm(x, mean, var, w, b, training=training, momentum=0.3, eps=1e-3)
        return out, mean, var  # the running statistics are compared too
    arrays = [rng(1).standard_normal(shape) * 2 + 1]
    if affine:
        arrays += [rng(2).uniform(0.5, 1.5, c), rng(3).standard_normal(c)]
    check_op(fn, arrays=arrays)


@needs_torch
def test_batch_norm_without_running_stats_uses_batch_stats():
    check_op(lambda t, x: F(t).batch_norm(x, None, None, training=True), [(5, 3, 2)])
    with pytest.raises(RuntimeError):
        F(numtorch).batch_norm(numtorch.randn(4, 3), None, None, training=False)


@needs_torch
@pytest.mark.parametrize("shape,normalized", [((4, 5), (5,)), ((2, 3, 4), (4,)),
                                              ((2, 3, 4), (3, 4)), ((6,), (6,))])
@pytest.mark.parametrize("affine", ["none", "weight", "both"])
def test_layer_norm_matches_torch(shape, normalized, affine):
    arrays = [rng(1).standard_normal(shape) * 3 + 2]
    if affine != "none":
        arrays.append(rng(2).uniform(0.5, 1.5, normalized))
    if affine == "both":
        arrays.append(rng(3).standard_normal(normalized))
    check_op(lambda t, x, *p: F(t).layer_norm(x, normalized, *p, eps=1e-4), arrays=arrays)


@needs_torch
@pytest.mark.parametrize("shape,groups", [((2, 6, 4), 3), ((2, 6, 2, 3), 1), ((3, 4), 2),
                                          ((2, 4, 3, 2), 2)])
@pytest.mark.parametrize("affine", [False, True])
def test_group_norm_matches_torch(shape, groups, affine):
    c = shape[1]
    arrays = [rng(1).standard_normal(shape) * 2 - 1]
    if affine:
        arrays += [rng(2).uniform(0.5, 1.5, c), rng(3).standard_normal(c)]
    check_op(lambda t, x, *p: F(t).group_norm(x, groups, *p), arrays=arrays)


@needs_torch
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 3, 2)])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("running", [False, True])
def test_instance_norm_matches_torch(shape, affine, running):
    c = shape[1]

    def fn(t, x, *p):
        stats = (t.zeros(c, dtype=x.dtype), t.ones(c, dtype=x.dtype)) if running else (None,
                                                                                      None)
        out = F(t).instance_norm(x, *stats, *p, momentum=0.2)
        return (out, *stats) if running else out
    arrays = [rng(1).standard_normal(shape)]
    if affine:
        arrays += [rng(2).uniform(0.5, 1.5, c), rng(3).standard_normal(c)]
    check_op(fn, arrays=arrays)


@needs_torch
@pytest.mark.parametrize("size", [1, 2, 3, 5])
@pytest.mark.parametrize("shape", [(2, 4, 3), (2, 6, 2, 2)])
def test_local_response_norm_matches_torch(size, shape):
    check_op(lambda t, x: F(t).local_response_norm(x, size, alpha=0.1, beta=0.6, k=1.5), [shape])


FD_CASES = [
    ("batch_norm_train", [(4, 3, 2), (3,), (3,)],
     lambda x, w, b: F(numtorch).batch_norm(x, None, None, w, b, training=True)),
    ("batch_norm_eval", [(4, 3, 2), (3,), (3,)],
     lambda x, w, b: F(numtorch).batch_norm(x, numtorch.zeros(3, dtype=numtorch.float64) + 0.5,
                                            numtorch.ones(3, dtype=numtorch.float64) * 2, w, b)),
    ("layer_norm", [(3, 4), (4,), (4,)], lambda x, w, b: F(numtorch).layer_norm(x, (4,), w, b)),
    ("layer_norm_2d", [(2, 3, 4), (3, 4), (3, 4)],
     lambda x, w, b: F(numtorch).layer_norm(x, (3, 4), w, b)),
    ("group_norm", [(2, 6, 3), (6,), (6,)], lambda x, w, b: F(numtorch).group_norm(x, 2, w, b)),
    ("instance_norm", [(2, 3, 4), (3,), (3,)],
     lambda x, w, b: F(numtorch).instance_norm(x, weight=w, bias=b)),
    ("local_response_norm", [(2, 5, 3)], lambda x: F(numtorch).local_response_norm(x, 3, 0.5)),
]


@pytest.mark.parametrize("name,shapes,fn", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_normalization_finite_differences(name, shapes, fn):
    arrays = [rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    check_grad_fd(fn, arrays)


@needs_torch
@pytest.mark.parametrize("make", [
    lambda t, x, w: F(t).batch_norm(x, t.zeros(3), t.ones(3), w, w, training=True),
    lambda t, x, w: F(t).batch_norm(x, None, None, training=True),
    lambda t, x, w: F(t).layer_norm(x, (4,)),
    lambda t, x, w: F(t).group_norm(x, 3, w, w),
    lambda t, x, w: F(t).instance_norm(x),
    lambda t, x, w: F(t).local_response_norm(x, 2),
], ids=["batch_norm", "batch_norm_no_affine", "layer_norm", "group_norm", "instance_norm",
        "local_response_norm"])
def test_normalization_node_names(make):
    x, w = rng(0).standard_normal((2, 3, 4)).astype(np.float32), np.ones(3, np.float32)
    got = make(numtorch, numtorch.tensor(x, requires_grad=True),
               numtorch.tensor(w, requires_grad=True)).grad_fn
    want = make(torch, torch.tensor(x, requires_grad=True),
                torch.tensor(w, requires_grad=True)).grad_fn
    assert type(got).__name__ == type(want).__name__
    assert [type(n).__name__ for n, _ in got.next_functions] == \
        [type(n).__name__ for n, _ in want.next_functions]


def test_functional_errors():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        F(numtorch).batch_norm(numtorch.randn(1, 3), numtorch.zeros(3), numtorch.ones(3),
                               training=True)
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        F(numtorch).batch_norm(numtorch.randn(2, 4), numtorch.zeros(3), numtorch.ones(3))
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F(numtorch).layer_norm(numtorch.randn(2, 3), (4,))
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F(numtorch).group_norm(numtorch.randn(2, 6, 3), 4)
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F(numtorch).instance_norm(numtorch.randn(2, 3, 1))


def test_float32_stays_float32():
    x = numtorch.randn(4, 3, 2, requires_grad=True)
    w = numtorch.ones(3, requires_grad=True)
    for out in (F(numtorch).batch_norm(x, None, None, w, w, training=True),
                F(numtorch).layer_norm(x, (2,)), F(numtorch).group_norm(x, 3, w, w)):
        assert out.dtype == numtorch.float32
        out.sum().backward()
        assert x.grad.dtype == numtorch.float32 and w.grad.dtype == numtorch.float32


# ---------------------------------------------------------------------------- modules
def _pair(cls_name, *args, **kwargs):
    """The same layer built in numtorch and torch, with torch's parameters copied over."""
    ours = getattr(numtorch.nn, cls_name)(*args, **kwargs)
    theirs = getattr(torch.nn, cls_name)(*args, **kwargs)
    gen = rng(11)
    for name, p in theirs.named_parameters():
        value = gen.uniform(0.5, 1.5, tuple(p.shape)).astype(np.float32)
        with torch.no_grad():
            p.copy_(torch.tensor(value))
        getattr(ours, name).data.copy_(numtorch.tensor(value))
    return ours, theirs


def _compare_buffers(ours, theirs):
    theirs_state = theirs.state_dict()
    ours_state = ours.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, want in theirs_state.items():
        got = ours_state[key]
        assert got.shape == tuple(want.shape) and str(got.dtype) == str(want.dtype)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("cls_name,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                            ("BatchNorm2d", (3, 3, 4, 2)),
                                            ("BatchNorm3d", (2, 3, 2, 2, 3))])
@pytest.mark.parametrize("momentum", [0.1, None, 0.5])
def test_batch_norm_running_stats_and_eval_match_torch(cls_name, shape, momentum):
    ours, theirs = _pair(cls_name, 3, momentum=momentum)
    gen = rng(4)
    for step in range(4):
        x = (gen.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        xo, xt = numtorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_o, out_t = ours(xo), theirs(xt)
        np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
        g = gen.standard_normal(shape).astype(np.float32)
        out_o.backward(numtorch.tensor(g))
        out_t.backward(torch.tensor(g))
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
        for name in ("weight", "bias"):
            np.testing.assert_allclose(getattr(ours, name).grad.numpy(),
                                       getattr(theirs, name).grad.numpy(), rtol=1e-4, atol=1e-4)
    _compare_buffers(ours, theirs)
    assert ours.num_batches_tracked.dtype == numtorch.int64 and ours.num_batches_tracked.dim() == 0
    ours.eval()
    theirs.eval()
    x = gen.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(ours(numtorch.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    _compare_buffers(ours, theirs)  # eval mode leaves the running statistics alone


@needs_torch
@pytest.mark.parametrize("kwargs", [dict(affine=False), dict(track_running_stats=False),
                                    dict(affine=False, track_running_stats=False),
                                    dict(bias=False)])
def test_batch_norm_options_match_torch(kwargs):
    ours, theirs = _pair("BatchNorm2d", 3, **kwargs)
    x = rng(1).standard_normal((2, 3, 3, 3)).astype(np.float32)
    for train in (True, False):
        ours.train(train)
        theirs.train(train)
        np.testing.assert_allclose(ours(numtorch.tensor(x)).detach().numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
    _compare_buffers(ours, theirs)
    assert repr(ours) == repr(theirs)


@needs_torch
@pytest.mark.parametrize("cls_name,args,kwargs,shape", [
    ("LayerNorm", ((5,),), {}, (2, 3, 5)),
    ("LayerNorm", ([3, 5],), dict(eps=1e-3), (2, 3, 5)),
    ("LayerNorm", (5,), dict(bias=False), (4, 5)),
    ("LayerNorm", (5,), dict(elementwise_affine=False), (4, 5)),
    ("GroupNorm", (2, 4), {}, (3, 4, 5)),
    ("GroupNorm", (4, 4), dict(affine=False), (3, 4, 2, 2)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {}, (3, 5)),
    ("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True), (2, 3, 3, 3)),
    ("InstanceNorm3d", (3,), dict(affine=True), (2, 3, 2, 2, 2)),
    ("LocalResponseNorm", (3,), dict(alpha=0.1), (2, 5, 3)),
])
def test_other_norm_layers_match_torch(cls_name, args, kwargs, shape):
    ours, theirs = _pair(cls_name, *args, **kwargs)
    assert repr(ours) == repr(theirs)
    x = rng(2).standard_normal(shape).astype(np.float32)
    for train in (True, False):
        ours.train(train)
        theirs.train(train)
        xo, xt = numtorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_o, out_t = ours(xo), theirs(xt)
        np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
        out_o.sum().backward()
        out_t.sum().backward()
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    _compare_buffers(ours, theirs)


@needs_torch
@pytest.mark.parametrize("make", [
    lambda nn: nn.BatchNorm2d(16), lambda nn: nn.BatchNorm1d(4, eps=1e-3, momentum=None),
    lambda nn: nn.BatchNorm3d(2, affine=False, track_running_stats=False),
    lambda nn: nn.LayerNorm(10), lambda nn: nn.LayerNorm([3, 4], elementwise_affine=False),
    lambda nn: nn.GroupNorm(2, 6), lambda nn: nn.InstanceNorm2d(3),
    lambda nn: nn.LocalResponseNorm(2)])
def test_norm_reprs_match_torch(make):
    assert repr(make(numtorch.nn)) == repr(make(torch.nn))


def test_batch_norm_module_errors():
    nn = numtorch.nn
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(numtorch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(numtorch.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(numtorch.randn(1, 3))
    nn.BatchNorm1d(3).eval()(numtorch.randn(1, 3))  # fine in eval mode
    with pytest.raises(ValueError, match="must be divisible by num_groups"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="match num_features"):
        nn.InstanceNorm2d(3, affine=True)(numtorch.randn(2, 4, 3, 3))


def test_batch_norm_cumulative_average_without_torch():
    bn = numtorch.nn.BatchNorm1d(2, momentum=None)
    batches = [rng(i).standard_normal((5, 2)) for i in range(3)]
    for b in batches:
        bn(numtorch.tensor(b.astype(np.float32)))
    np.testing.assert_allclose(bn.running_mean.numpy(),
                               np.mean([b.mean(0) for b in batches], axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               np.mean([b.var(0, ddof=1) for b in batches], axis=0), rtol=1e-5)
    assert bn.num_batches_tracked.item() == 3
    bn.reset_running_stats()
    assert bn.num_batches_tracked.item() == 0 and bn.running_var.numpy().tolist() == [1.0, 1.0]


def test_batch_norm_loads_state_dict_without_num_batches_tracked():
    bn = numtorch.nn.BatchNorm1d(3)
    old = {"weight": numtorch.full((3,), 2.0), "bias": numtorch.zeros(3),
           "running_mean": numtorch.ones(3), "running_var": numtorch.ones(3) * 4}
    bn.load_state_dict(old)  # strict: the pre-version-2 layout is still accepted
    assert bn.num_batches_tracked.item() == 0
    np.testing.assert_allclose(bn.running_var.numpy(), [4.0, 4.0, 4.0])
    state = bn.state_dict()
    assert list(state) == ["weight", "bias", "running_mean", "running_var",
                           "num_batches_tracked"]


@needs_torch
@pytest.mark.parametrize("kwargs", [{}, dict(affine=False), dict(bias=False)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls_name,shape", [("BatchNorm1d", (5, 3)), ("BatchNorm2d", (2, 3, 4, 5)),
                                            ("BatchNorm3d", (2, 3, 2, 3, 2))])
def test_batch_norm_eval_without_a_graph_matches_torch(monkeypatch, cls_name, shape, dtype,
                                                       kwargs):
    """Evaluation under no_grad and inference_mode (x * alpha + beta, nothing recorded) against
    PyTorch and against the recording path, with trained running statistics and affine
    parameters."""
    from numtorch.ops import normalization
    calls = []
    real = normalization._eval_output
    monkeypatch.setattr(normalization, "_eval_output",
                        lambda *args: calls.append(1) or real(*args))
    ours, theirs = _pair(cls_name, 3, **kwargs)
    gen = rng(7)
    for _ in range(2):  # running statistics away from 0 and 1
        ours(numtorch.tensor((gen.standard_normal(shape) * 3 + 1).astype(np.float32)))
    if ours.weight is not None:
        with numtorch.no_grad():
            ours.weight.copy_(numtorch.linspace(0.5, 2, 3))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    ours.to(dtype=getattr(numtorch, np.dtype(dtype).name)).eval()
    theirs.to(dtype=getattr(torch, np.dtype(dtype).name)).eval()
    x = gen.standard_normal(shape).astype(dtype)
    recorded = ours(numtorch.tensor(x))
    with numtorch.no_grad():
        plain = ours(numtorch.tensor(x))
    with numtorch.inference_mode():
        inferred = ours(numtorch.tensor(x))
    with torch.no_grad():
        want = theirs(torch.tensor(x)).numpy()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for got in (plain, inferred):
        assert got.grad_fn is None and not got.requires_grad and got.dtype == recorded.dtype
        np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol)
        np.testing.assert_allclose(got.numpy(), recorded.detach().numpy(), rtol=tol, atol=tol)
    assert inferred.is_inference() and not plain.is_inference()
    affine = kwargs.get("affine", True)
    assert (recorded.grad_fn is not None) == affine
    assert len(calls) == (2 if affine else 3)  # (without parameters nothing is ever recorded)
