"""The compiled sequence-model kernels' own arithmetic (ops/_jit_native.py, ops/_jit_seq.py):
the vectorised float32 exp and tanh, and the compiled log-softmax against PyTorch, special
values included."""

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")


def _kernels_or_skip():
    pytest.importorskip("numba")
    from numtorch.ops import _jit_seq
    kern = _jit_seq.kernels(np.zeros(1, np.float32))
    if kern is None:
        pytest.skip("compiled kernels are off")
    return kern


def _compiled_unary(name):
    import numba

    from numtorch.ops import _jit_native as nat
    fn = getattr(nat, name)

    @numba.njit(error_model="numpy")
    def run(x, out):
        for i in range(x.shape[0]):
            out[i] = fn(x[i])

    return run


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid"])
def test_float32_math_within_two_ulp(name):
    _kernels_or_skip()
    x = np.concatenate([np.linspace(-100, 100, 200_001), np.linspace(-1, 1, 20_001),
                        [0.0, -0.0, 1e-30, -1e-30, 88.7, -87.3, 89.0, -90.0]]).astype(np.float32)
    out = np.empty_like(x)
    _compiled_unary(name)(x, out)
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore"):
        exact = {"exp": np.exp, "tanh": np.tanh,
                 "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[name](x64)
    f32 = np.finfo(np.float32)
    # float32 results of normal size (below, exp flushes to 0)
    normal = (np.abs(exact) >= f32.tiny) & (np.abs(exact) <= f32.max) | (exact == 0)
    ulp = np.spacing(np.abs(exact[normal]).astype(np.float32)).astype(np.float64)
    err = np.abs(out[normal] - exact[normal]) / np.maximum(ulp, f32.smallest_subnormal)
    assert err.max() <= 2.0
    if name == "exp":
        assert np.isposinf(out[x > 88.8]).all()
        assert (out[x < -87.4] == 0).all()


def test_float32_math_special_values():
    _kernels_or_skip()
    x = np.array([np.nan, np.inf, -np.inf], np.float32)
    for name, want in [("exp", [np.nan, np.inf, 0.0]), ("tanh", [np.nan, 1.0, -1.0]),
                       ("sigmoid", [np.nan, 1.0, 0.0])]:
        out = np.empty_like(x)
        _compiled_unary(name)(x, out)
        np.testing.assert_array_equal(out, np.array(want, np.float32))


@pytest.mark.parametrize("shape", [(700, 1000), (3, 4, 17), (6, 32), (2, 15), (5, 1)])
def test_compiled_log_softmax_matches_torch(shape):
    _kernels_or_skip()
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 5).astype(np.float32)
    x.reshape(-1, shape[-1])[0, 0] = -np.inf
    if shape[-1] > 1:
        x.reshape(-1, shape[-1])[-1, -1] = 80.0
    g = rng.standard_normal(shape).astype(np.float32)
    nx = numtorch.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ny = numtorch.nn.functional.log_softmax(nx, -1)
    ty = torch.log_softmax(tx, -1)
    np.testing.assert_allclose(ny.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    ny.backward(numtorch.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(nx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_compiled_log_softmax_nan_row():
    _kernels_or_skip()
    x = np.array([[0.0, np.nan, 1.0], [1.0, 2.0, 3.0]], np.float32)
    y = numtorch.nn.functional.log_softmax(numtorch.tensor(x), 1).numpy()
    want = torch.log_softmax(torch.tensor(x), 1).numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
    np.testing.assert_allclose(y[1], want[1], rtol=1e-6)


def test_compiled_log_softmax_keeps_the_log_term_next_to_huge_values():
    # (x - max) - log(sum) must not be reassociated to x - (max + log(sum)): with max near
    # float32's largest value the log term vanishes in the sum and every output read 0
    _kernels_or_skip()
    x = np.array([[3e38, 3e38, 3e38], [3.4e38, 3.4e38, -1.0], [-3e38, 0.0, 1.0]], np.float32)
    nx = numtorch.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ny = numtorch.nn.functional.log_softmax(nx, 1)
    ty = torch.log_softmax(tx, 1)
    np.testing.assert_allclose(ny.detach().numpy(), ty.detach().numpy(), rtol=1e-6)
    ny.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(nx.grad.numpy(), tx.grad.numpy(), atol=1e-6)
