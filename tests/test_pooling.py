"""Pooling: max/avg/adaptive pooling (1-D and 2-D), indices, unpooling, layers.

Inputs with many ties (small integers) check that the max-pool gradient goes to the first maximum
of each window, exactly as PyTorch routes it.
"""

import numpy as np
import pytest
from oracle import TOL, check_grad_fd, check_gradgrad, check_op

import numtorch
import numtorch.nn as nn
import numtorch.nn.functional as F

# every test runs on the pure-NumPy kernels and on the compiled ones (conftest.py)
pytestmark = pytest.mark.usefixtures("jit_kernels")


@pytest.fixture(autouse=True)
def _strict_gradgrad(monkeypatch):
    """This family is differentiable to any order: check_op's second-derivative check must
    run, never be skipped as "not yet converted"."""
    monkeypatch.setenv("NUMTORCH_GRADGRAD_STRICT", "1")


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _ties(shape, seed=0):
    return np.random.default_rng(seed).integers(-2, 3, shape).astype(np.float64)


def _check_ties(fn, arrays):
    """check_op on inputs with ties; their second derivatives are compared with torch's only (a
    finite difference jumps from one maximum to another there)."""
    check_op(fn, arrays=arrays, gradgrad=False)
    check_gradgrad(fn, fn, arrays, 0, TOL[np.float64], fd=False)


MAX2D_CASES = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 7), dict(kernel_size=2)),  # odd sizes: the tail is dropped
    ((2, 3, 9, 7), dict(kernel_size=2, ceil_mode=True)),
    ((2, 3, 9, 7), dict(kernel_size=2, padding=1)),  # 2x2 (compiled kernel) with padding
    ((2, 3, 8, 9), dict(kernel_size=2, padding=1, ceil_mode=True)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 9, 8), dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 1), dilation=(2, 1))),
    ((1, 2, 10, 9), dict(kernel_size=3, stride=1, dilation=2, ceil_mode=True)),
    ((3, 9, 7), dict(kernel_size=(2, 3), stride=(2, 1))),  # unbatched
]


@pytest.mark.parametrize("shape,kw", MAX2D_CASES)
def test_max_pool2d_matches_torch_with_ties(torch, shape, kw):
    _check_ties(lambda lib, x: lib.nn.functional.max_pool2d(x, return_indices=True, **kw),
                arrays=[_ties(shape)])
    check_op(lambda lib, x: lib.nn.functional.max_pool2d(x, **kw), shapes=[shape])


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1,
                                                          ceil_mode=True),
                                dict(kernel_size=2, stride=1, dilation=2)])
def test_max_pool1d_matches_torch(torch, kw):
    _check_ties(lambda lib, x: lib.nn.functional.max_pool1d(x, return_indices=True, **kw),
                arrays=[_ties((2, 3, 11))])
    check_op(lambda lib, x: lib.nn.functional.max_pool1d(x, **kw), shapes=[(3, 10)])


def test_max_pool_graph_names(torch):
    x = numtorch.randn(1, 2, 4, 4, requires_grad=True)
    assert type(F.max_pool2d(x, 2).grad_fn).__name__ == "MaxPool2DWithIndicesBackward0"
    x1 = numtorch.randn(1, 2, 4, requires_grad=True)
    assert type(F.max_pool1d(x1, 2).grad_fn).__name__ == "SqueezeBackward1"
    assert type(F.avg_pool2d(x, 2).grad_fn).__name__ == "AvgPool2DBackward0"
    assert type(F.adaptive_avg_pool2d(x, 3).grad_fn).__name__ == "AdaptiveAvgPool2DBackward0"
    assert type(F.adaptive_max_pool2d(x, 3).grad_fn).__name__ == "AdaptiveMaxPool2DBackward0"


def test_max_pool_gradient_goes_to_first_maximum():
    x = numtorch.zeros(1, 1, 2, 4, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.numpy().tolist() == [[[[1, 0, 1, 0], [0, 0, 0, 0]]]]


def test_max_pool_nan_propagates(torch):
    a = np.array([[[[1.0, np.nan, 3.0, 2.0], [np.nan, 0.0, 1.0, 1.0]]]])
    on, oi = F.max_pool2d(numtorch.tensor(a), 2, return_indices=True)
    tn, ti = torch.nn.functional.max_pool2d(torch.tensor(a), 2, return_indices=True)
    np.testing.assert_array_equal(on.numpy(), tn.numpy())
    np.testing.assert_array_equal(oi.numpy(), ti.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_max_pool_nan_and_infinities_anywhere_in_the_window(torch, dtype, requires_grad):
    """The 2x2 kernels have a fast path for inputs without NaN; a NaN at any of the four window
    positions (one or several) and infinities must still give PyTorch's maxima and positions."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4, 8, 8)).astype(dtype)
    for k in range(16):  # window k: NaN at the positions of k's bits
        for bit in range(4):
            if k >> bit & 1:
                a[0, 0, 2 * (k // 4) + bit // 2, 2 * (k % 4) + bit % 2] = np.nan
    a[1, 1, :2, :2] = [[np.inf, -np.inf], [np.nan, 1.0]]
    a[2, 2, :2, :4] = [[-np.inf, -np.inf, np.inf, 5.0], [-np.inf, -np.inf, 7.0, np.inf]]
    x = numtorch.tensor(a, requires_grad=requires_grad)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    expect, expect_idx = torch.nn.functional.max_pool2d(torch.tensor(a), 2, return_indices=True)
    np.testing.assert_array_equal(out.detach().numpy(), expect.numpy())
    np.testing.assert_array_equal(idx.numpy(), expect_idx.numpy())
    with numtorch.no_grad():
        np.testing.assert_array_equal(F.max_pool2d(x, 2).numpy(), expect.numpy())
    finite = a.copy()
    finite[np.isnan(finite)] = 0.0
    np.testing.assert_array_equal(
        F.max_pool2d(numtorch.tensor(finite), 2).numpy(),
        torch.nn.functional.max_pool2d(torch.tensor(finite), 2).numpy())


AVG2D_CASES = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 9), dict(kernel_size=2)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        count_include_pad=False)),
    ((2, 3, 9, 8), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), divisor_override=5)),
    ((3, 7, 6), dict(kernel_size=(2, 3), stride=1)),
]


@pytest.mark.parametrize("shape,kw", AVG2D_CASES)
def test_avg_pool2d_matches_torch(torch, shape, kw):
    check_op(lambda lib, x: lib.nn.functional.avg_pool2d(x, **kw), shapes=[shape])


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                     count_include_pad=False)])
def test_avg_pool1d_matches_torch(torch, kw):
    check_op(lambda lib, x: lib.nn.functional.avg_pool1d(x, **kw), shapes=[(2, 3, 11)])


@pytest.mark.parametrize("size", [(4, 3), (None, 3), 1, (9, 7), 5])
def test_adaptive_avg_pool2d_matches_torch(torch, size):
    check_op(lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, size), shapes=[(2, 3, 9, 7)])


def test_adaptive_avg_pool1d_matches_torch(torch):
    check_op(lambda lib, x: lib.nn.functional.adaptive_avg_pool1d(x, 4), shapes=[(2, 3, 9)])


@pytest.mark.parametrize("shape,size", [((2, 3, 9, 7), (4, 3)), ((2, 3, 8, 6), (4, 3)),
                                        ((3, 5, 5), 2)])
def test_adaptive_max_pool2d_matches_torch(torch, shape, size):
    _check_ties(lambda lib, x: lib.nn.functional.adaptive_max_pool2d(x, size, return_indices=True),
                arrays=[_ties(shape)])


def test_adaptive_max_pool1d_matches_torch(torch):
    _check_ties(lambda lib, x: lib.nn.functional.adaptive_max_pool1d(x, 4, return_indices=True),
                arrays=[_ties((2, 3, 9))])


def test_max_unpool2d_matches_torch(torch):
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    o, i = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    check_op(lambda lib, v: lib.nn.functional.max_unpool2d(
        v, lib.tensor(i.numpy()), 2), arrays=[o.numpy()])


def test_lp_pool2d_matches_torch(torch):
    check_op(lambda lib, x: lib.nn.functional.lp_pool2d(x, 2, 2), shapes=[(2, 3, 8, 6)],
             low=0.5, high=2.0)


# ---------------------------------------------------------------------------- finite differences
def test_max_pool2d_finite_differences():
    rng = np.random.default_rng(0)
    check_grad_fd(lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
                  [rng.standard_normal((2, 2, 7, 6))])


def test_avg_pool2d_finite_differences():
    rng = np.random.default_rng(1)
    check_grad_fd(lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True,
                                         count_include_pad=False),
                  [rng.standard_normal((2, 2, 7, 6))])


def test_adaptive_pools_finite_differences():
    rng = np.random.default_rng(2)
    check_grad_fd(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), [rng.standard_normal((1, 2, 7, 6))])
    check_grad_fd(lambda x: F.adaptive_max_pool2d(x, (3, 4)), [rng.standard_normal((1, 2, 7, 6))])


# ---------------------------------------------------------------------------- dtypes, errors
def test_float32_kept_and_no_graph_under_no_grad():
    x = numtorch.randn(2, 3, 8, 8, requires_grad=True)
    for out in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 1, 1), F.adaptive_avg_pool2d(x, 3),
                F.adaptive_max_pool2d(x, 3)):
        assert out.dtype == numtorch.float32
        out.sum().backward()
        assert x.grad.dtype == numtorch.float32
    with numtorch.no_grad():
        assert F.max_pool2d(x, 2).grad_fn is None


def _raises(exc, text, fn):
    with pytest.raises(exc) as info:
        fn()
    assert text in str(info.value), str(info.value)


def test_pool_errors():
    x = numtorch.randn(1, 3, 4, 4)
    _raises(RuntimeError, "Given input size: (3x4x4). Calculated output size: (3x0x0). Output "
            "size is too small", lambda: F.max_pool2d(x, 5))
    _raises(RuntimeError, "Output size is too small", lambda: F.avg_pool2d(x, 5))
    _raises(RuntimeError, "pad should be at most half of effective kernel size, but got pad=2, "
            "kernel_size=2 and dilation=1", lambda: F.max_pool2d(x, 2, padding=2))
    _raises(RuntimeError, "non-empty 3D or 4D (batch mode) tensor expected for input",
            lambda: F.max_pool2d(numtorch.randn(3, 4), 2))
    _raises(RuntimeError, "max_pool1d: Expected 2D or 3D (batch mode) tensor",
            lambda: F.max_pool1d(x, 2))
    _raises(RuntimeError, "divisor must be not zero", lambda: F.avg_pool2d(x, 2,
                                                                          divisor_override=0))


# ---------------------------------------------------------------------------- layers
REPR_CASES = [
    ("MaxPool2d", (2,), {}), ("MaxPool2d", ((2, 3),), dict(stride=1, padding=1, ceil_mode=True)),
    ("MaxPool1d", (3,), {}), ("AvgPool2d", (2,), {}), ("AvgPool1d", (3,), dict(stride=2)),
    ("AdaptiveAvgPool2d", ((5, 7),), {}), ("AdaptiveAvgPool1d", (3,), {}),
    ("AdaptiveMaxPool2d", (2,), dict(return_indices=True)), ("MaxUnpool2d", (2,), {}),
    ("LPPool2d", (2, 3), {}),
]


def test_maxpool_repr_lenet():
    assert repr(nn.MaxPool2d(2)) == ("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                                     "ceil_mode=False)")


@pytest.mark.parametrize("name,args,kw", REPR_CASES)
def test_layer_repr_matches_torch(torch, name, args, kw):
    assert repr(getattr(nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


def test_layers_forward_match_functional():
    x = numtorch.randn(2, 3, 9, 8)
    pairs = [(nn.MaxPool2d(3, 2, 1, ceil_mode=True), F.max_pool2d(x, 3, 2, 1, ceil_mode=True)),
             (nn.AvgPool2d(3, 2, 1, count_include_pad=False),
              F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)),
             (nn.AdaptiveAvgPool2d((2, 3)), F.adaptive_avg_pool2d(x, (2, 3))),
             (nn.AdaptiveMaxPool2d(2), F.adaptive_max_pool2d(x, 2))]
    for layer, expected in pairs:
        np.testing.assert_array_equal(layer(x).numpy(), expected.numpy())
    out, idx = nn.MaxPool2d(2, return_indices=True)(x)
    back = nn.MaxUnpool2d(2)(out, idx, output_size=x.shape)
    assert tuple(back.shape) == (2, 3, 9, 8)
    y = numtorch.randn(2, 3, 10)
    np.testing.assert_array_equal(nn.MaxPool1d(2)(y).numpy(), F.max_pool1d(y, 2).numpy())
    np.testing.assert_array_equal(nn.AvgPool1d(2)(y).numpy(), F.avg_pool1d(y, 2).numpy())


# ---------------------------------------------------------------- saved values, higher order
@pytest.mark.parametrize("pool", [
    lambda x: F.max_pool2d(x, 2, return_indices=True),
    lambda x: F.max_pool1d(x[0], 2, return_indices=True),
    lambda x: F.adaptive_max_pool2d(x, 3, return_indices=True),
])
def test_returned_indices_changed_in_place_raise(pool):
    """The gradient routes through the maxima the node recorded, but PyTorch saves the returned
    indices and refuses a backward once they were changed: so does numtorch."""
    x = numtorch.randn(2, 3, 6, 6, requires_grad=True)
    out, idx = pool(x)
    idx.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


@pytest.mark.parametrize("name,fn", [
    ("max_pool2d", lambda lib, x: lib.nn.functional.max_pool2d(x, 3, 2, 1)),
    ("avg_pool2d", lambda lib, x: lib.nn.functional.avg_pool2d(x, 3, 2, 1,
                                                              count_include_pad=False)),
    ("adaptive_avg_pool2d", lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, (3, 2))),
    ("adaptive_max_pool2d", lambda lib, x: lib.nn.functional.adaptive_max_pool2d(x, (3, 2))),
    ("max_unpool2d", lambda lib, x: lib.nn.functional.max_unpool2d(
        *lib.nn.functional.max_pool2d(x, 2, return_indices=True), 2)),
])
def test_third_derivatives_and_node_names_match_torch(torch, name, fn):
    def run(lib):
        x = lib.tensor(np.random.default_rng(1).standard_normal((2, 3, 7, 6)),
                       requires_grad=True)
        y = fn(lib, x)
        g1, = lib.autograd.grad((y * y * y).sum(), x, create_graph=True)
        g2, = lib.autograd.grad((g1 * g1 * g1).sum(), x, create_graph=True)
        g3, = lib.autograd.grad((g2 * g2).sum(), x)
        return type(g1.grad_fn).__name__, [g.detach().numpy() for g in (g1, g2, g3)]

    ours, theirs = run(numtorch), run(torch)
    assert ours[0] == theirs[0]
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=2, padding=1),
                                dict(kernel_size=3, stride=1, padding=1),
                                dict(kernel_size=2, stride=1, padding=1, dilation=2),
                                dict(kernel_size=2, stride=2)])
def test_max_pool_windows_of_minus_infinity_point_inside_the_input(torch, dtype, kw):
    """A window whose values are all -inf (or padding) keeps PyTorch's first position inside
    the input, never one in the padding; the gradient goes there."""
    a = np.full((2, 2, 5, 4), -np.inf, dtype=dtype)
    a[0, 0, 3, 3] = 1.0
    a[0, 1, 4, 0] = np.nan
    a[1, 0, 1:3, 1:3] = 2.0  # ties
    results = []
    for lib in (numtorch, torch):
        x = lib.tensor(a, requires_grad=True)
        out, idx = lib.nn.functional.max_pool2d(x, return_indices=True, **kw)
        out.backward(lib.tensor(np.arange(1, out.numel() + 1, dtype=dtype).reshape(out.shape)))
        results.append((out.detach().numpy(), idx.numpy(), x.grad.numpy()))
    (out, idx, grad), (t_out, t_idx, t_grad) = results
    np.testing.assert_array_equal(out, t_out)
    np.testing.assert_array_equal(idx, t_idx)
    np.testing.assert_array_equal(grad, t_grad)
    assert idx.min() >= 0


def test_max_pool_compiled_general_kernel_blocks_and_threads(torch, jit_kernels, monkeypatch):
    """The 3x3 stride-2 pooling (compiled: ``_jit.max_pool2d``, in blocks of a few images):
    PyTorch's maxima, indices (NaNs, ties) and gradient (the NumPy path adds overlapping
    windows' gradients in another order: to rounding), and the same bits on one thread and on
    two."""
    from numtorch.ops import pooling

    rng = np.random.default_rng(4)
    a = rng.integers(-2, 3, (7, 3, 13, 11)).astype(np.float32)
    a[0, 0, 3, 4] = a[2, 1, 0, 0] = a[6, 2, 12, 10] = np.nan
    g = rng.standard_normal((7, 3, 7, 6)).astype(np.float32)
    monkeypatch.setattr(pooling, "_POOL_BLOCK_BYTES", 2000)  # about one image a block

    def run(lib):
        x = lib.tensor(a, requires_grad=True)
        out, idx = lib.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True)
        out.backward(lib.tensor(g))
        return out.detach().numpy(), idx.numpy(), x.grad.numpy()

    monkeypatch.setattr(numtorch._threads, "_requested", 1)
    one = run(numtorch)
    monkeypatch.setattr(numtorch._threads, "_requested", 2)
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    two = run(numtorch)
    expected = run(torch)
    for k in range(3):
        np.testing.assert_array_equal(one[k], two[k])
    np.testing.assert_array_equal(one[0], expected[0])
    np.testing.assert_array_equal(one[1], expected[1])
    if jit_kernels == "numba":  # (sums in PyTorch's order: output by output)
        np.testing.assert_array_equal(one[2], expected[2])
    np.testing.assert_allclose(one[2], expected[2], rtol=1e-6, atol=1e-6)
