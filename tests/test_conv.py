"""Convolutions: F.conv1d/conv2d/conv_transpose1d/conv_transpose2d/unfold/fold and the Conv layers.

Values and gradients are compared with PyTorch (float64 and float32) through ``oracle.check_op``;
finite-difference checks, errors, shapes and initialisation bounds need no PyTorch.
"""

import math

import numpy as np
import pytest
from oracle import check_grad_fd, check_op

import numtorch
import numtorch.nn as nn
import numtorch.nn.functional as F


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


# every test runs on the pure-NumPy kernels and on the compiled ones (conftest.py)
pytestmark = pytest.mark.usefixtures("jit_kernels")


@pytest.fixture(autouse=True)
def _strict_gradgrad(monkeypatch):
    """This family is differentiable to any order: check_op's second-derivative check must
    run, never be skipped as "not yet converted"."""
    monkeypatch.setenv("NUMTORCH_GRADGRAD_STRICT", "1")


# ---------------------------------------------------------------------------- F.conv2d vs torch
CONV2D_CASES = [
    # (input shape, weight shape, kwargs)
    ((2, 3, 9, 8), (4, 3, 3, 3), {}),
    ((2, 3, 9, 8), (4, 3, 3, 2), dict(stride=2)),
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(stride=(2, 1), padding=(1, 2))),
    ((2, 3, 9, 8), (4, 3, 2, 3), dict(padding=1, dilation=2)),
    ((2, 4, 9, 8), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((1, 4, 7, 7), (4, 1, 3, 3), dict(groups=4, stride=2, padding=1)),  # depthwise
    ((2, 3, 8, 9), (5, 3, 4, 3), dict(padding="same")),  # even kernel: extra pad after
    ((2, 3, 8, 9), (5, 3, 3, 3), dict(padding="same", dilation=(2, 1))),
    ((2, 3, 8, 9), (5, 3, 3, 3), dict(padding="valid")),
    ((2, 3, 6, 5), (4, 3, 1, 1), {}),  # 1x1
    ((3, 7, 6), (2, 3, 3, 3), dict(padding=1)),  # unbatched
    ((2, 3, 11, 10), (4, 3, 5, 5), dict(stride=3, dilation=2, padding=2)),
]


# torch warns that an even kernel with 'same' padding copies the input; numtorch does not warn
SAME_WARNING = "ignore:Using padding='same' with even kernel:UserWarning"


@pytest.mark.filterwarnings(SAME_WARNING)
@pytest.mark.parametrize("xs,ws,kw", CONV2D_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(torch, xs, ws, kw, bias):
    shapes = [xs, ws] + ([(ws[0],)] if bias else [])
    check_op(lambda lib, *a: lib.nn.functional.conv2d(*a, **kw), shapes)


@pytest.mark.filterwarnings(SAME_WARNING)
@pytest.mark.parametrize("kw", [{}, dict(stride=2, padding=1), dict(dilation=2, groups=2),
                                dict(padding="same"), dict(padding="same", dilation=3)])
def test_conv1d_matches_torch(torch, kw):
    check_op(lambda lib, x, w, b: lib.nn.functional.conv1d(x, w, b, **kw),
             [(2, 4, 11), (6, 4 // kw.get("groups", 1), 4), (6,)])


def test_conv1d_unbatched(torch):
    check_op(lambda lib, x, w: lib.nn.functional.conv1d(x, w, padding=2), [(3, 7), (2, 3, 3)])


@pytest.mark.parametrize("kw", [{}, dict(stride=2), dict(stride=2, padding=1, output_padding=1),
                                dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                                     dilation=(1, 2)),
                                dict(groups=2, stride=2, dilation=2, output_padding=1)])
def test_conv_transpose2d_matches_torch(torch, kw):
    check_op(lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, **kw),
             [(2, 4, 5, 6), (4, 3, 3, 2), (3 * kw.get("groups", 1),)])


def test_conv_transpose1d_matches_torch(torch):
    check_op(lambda lib, x, w, b: lib.nn.functional.conv_transpose1d(
        x, w, b, stride=2, padding=1, output_padding=1), [(2, 4, 7), (4, 3, 3), (3,)])
    check_op(lambda lib, x, w: lib.nn.functional.conv_transpose1d(x, w, groups=2),
             [(4, 5), (4, 1, 2)])


def test_unfold_fold_match_torch(torch):
    kw = dict(dilation=(1, 2), padding=1, stride=(2, 1))
    check_op(lambda lib, x: lib.nn.functional.unfold(x, (2, 3), **kw), [(2, 3, 7, 8)])
    check_op(lambda lib, x: lib.nn.functional.fold(x, (7, 8), (2, 3), **kw), [(2, 18, 24)])


def test_only_weight_or_only_input_requires_grad(torch):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3))
    for need_x, need_w in [(False, True), (True, False)]:
        xn = numtorch.tensor(x, requires_grad=need_x)
        wn = numtorch.tensor(w, requires_grad=need_w)
        xt = torch.tensor(x, requires_grad=need_x)
        wt = torch.tensor(w, requires_grad=need_w)
        F.conv2d(xn, wn, stride=2, padding=1).sum().backward()
        torch.nn.functional.conv2d(xt, wt, stride=2, padding=1).sum().backward()
        for a, b in [(xn, xt), (wn, wt)]:
            if b.grad is None:
                assert a.grad is None
            else:
                np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)


# ---------------------------------------------------------------------------- finite differences
def test_conv2d_finite_differences():
    rng = np.random.default_rng(1)
    check_grad_fd(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2),
                                           groups=2),
                  [rng.standard_normal((2, 4, 7, 8)), rng.standard_normal((6, 2, 3, 2)),
                   rng.standard_normal(6)])


def test_conv1d_finite_differences():
    rng = np.random.default_rng(2)
    check_grad_fd(lambda x, w: F.conv1d(x, w, padding="same"),
                  [rng.standard_normal((2, 3, 9)), rng.standard_normal((2, 3, 4))])


def test_conv_transpose2d_finite_differences():
    rng = np.random.default_rng(3)
    check_grad_fd(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                     output_padding=1),
                  [rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((3, 2, 3, 3)),
                   rng.standard_normal(2)])


def test_unfold_fold_finite_differences():
    rng = np.random.default_rng(4)
    check_grad_fd(lambda x: F.unfold(x, 3, padding=1, stride=2),
                  [rng.standard_normal((1, 2, 5, 6))])
    check_grad_fd(lambda x: F.fold(x, (5, 6), 3, padding=1, stride=2),
                  [rng.standard_normal((1, 18, 9))])


# ---------------------------------------------------------------------------- graph, dtype, shapes
def test_graph_node_and_float32_kept():
    x = numtorch.randn(2, 1, 12, 12)
    conv = nn.Conv2d(1, 6, 5)
    out = conv(x)
    assert out.dtype == numtorch.float32
    assert tuple(out.shape) == (2, 6, 8, 8)
    assert type(out.grad_fn).__name__ == "ConvolutionBackward0"
    assert len(out.grad_fn.next_functions) == 3
    assert out.grad_fn.next_functions[0] == (None, 0)
    out.sum().backward()
    assert conv.weight.grad.dtype == numtorch.float32
    assert conv.bias.grad.dtype == numtorch.float32


def test_no_graph_under_no_grad():
    conv = nn.Conv2d(2, 3, 3)
    with numtorch.no_grad():
        out = conv(numtorch.randn(1, 2, 5, 5))
    assert out.grad_fn is None and not out.requires_grad


def test_conv_transpose_is_adjoint_of_conv():
    """<conv(x), y> == <x, conv_transpose(y)> for the same weight."""
    rng = np.random.default_rng(5)
    x = numtorch.tensor(rng.standard_normal((2, 3, 9, 9)))
    w = numtorch.tensor(rng.standard_normal((4, 3, 3, 3)))
    y = numtorch.tensor(rng.standard_normal((2, 4, 4, 4)))
    lhs = (F.conv2d(x, w, stride=2) * y).sum().item()
    rhs = (x * F.conv_transpose2d(y, w, stride=2)).sum().item()
    assert math.isclose(lhs, rhs, rel_tol=1e-10)


# ---------------------------------------------------------------------------- errors
def _raises(exc, text, fn):
    with pytest.raises(exc) as info:
        fn()
    assert text in str(info.value), str(info.value)


def test_wrong_channels_message():
    _raises(RuntimeError, "Given groups=1, weight of size [6, 1, 5, 5], expected "
            "input[1, 3, 32, 32] to have 1 channels, but got 3 channels instead",
            lambda: F.conv2d(numtorch.randn(1, 3, 32, 32), numtorch.randn(6, 1, 5, 5)))
    _raises(RuntimeError, "expected input[1, 3, 32, 32] to have 1 channels",
            lambda: nn.Conv2d(1, 6, 5)(numtorch.randn(1, 3, 32, 32)))


def test_kernel_larger_than_input_message():
    _raises(RuntimeError, "Calculated padded input size per channel: (4 x 4). Kernel size: "
            "(5 x 5). Kernel size can't be greater than actual input size",
            lambda: F.conv2d(numtorch.randn(1, 1, 4, 4), numtorch.randn(6, 1, 5, 5)))
    _raises(RuntimeError, "Calculated padded input size per channel: (4). Kernel size: (5).",
            lambda: F.conv1d(numtorch.randn(1, 3, 4), numtorch.randn(6, 3, 5)))


def test_argument_errors():
    x, w = numtorch.randn(1, 4, 8, 8), numtorch.randn(6, 4, 3, 3)
    _raises(RuntimeError, "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got "
            "input of size: [8, 8]", lambda: F.conv2d(numtorch.randn(8, 8), w))
    _raises(RuntimeError, "non-positive stride is not supported", lambda: F.conv2d(x, w, stride=0))
    _raises(RuntimeError, "negative padding is not supported", lambda: F.conv2d(x, w, padding=-1))
    _raises(RuntimeError, "padding='same' is not supported for strided convolutions",
            lambda: F.conv2d(x, w, padding="same", stride=2))
    _raises(RuntimeError, "Invalid padding string: 'foo'", lambda: F.conv2d(x, w, padding="foo"))
    _raises(RuntimeError, "expected scalar type Double but found Float",
            lambda: F.conv2d(x.double(), w))
    _raises(RuntimeError, "Given transposed=1, weight of size [4, 3, 3, 3], expected "
            "input[1, 3, 4, 4] to have 4 channels, but got 3 channels instead",
            lambda: F.conv_transpose2d(numtorch.randn(1, 3, 4, 4), numtorch.randn(4, 3, 3, 3)))
    _raises(ValueError, "in_channels must be divisible by groups", lambda: nn.Conv2d(3, 6, 3,
                                                                                    groups=2))
    _raises(ValueError, "padding='same' is not supported for strided convolutions",
            lambda: nn.Conv2d(3, 6, 3, padding="same", stride=2))
    _raises(ValueError, "padding_mode must be one of", lambda: nn.Conv2d(3, 6, 3,
                                                                        padding_mode="foo"))


# ---------------------------------------------------------------------------- layers
REPR_CASES = [
    ("Conv2d", (1, 6, 5), {}),
    ("Conv2d", (6, 16, (3, 5)), dict(stride=2, padding=1, dilation=2, groups=2, bias=False,
                                     padding_mode="reflect")),
    ("Conv2d", (4, 8, 3), dict(padding="same")),
    ("Conv1d", (4, 8, 3), dict(padding="valid", stride=2)),
    ("ConvTranspose2d", (4, 8, 3), dict(stride=2, output_padding=1)),
    ("ConvTranspose1d", (4, 8, 3), {}),
]


def test_conv2d_repr_lenet():
    assert repr(nn.Conv2d(1, 6, 5)) == "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))"
    assert repr(nn.Conv2d(6, 16, 5)) == "Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))"


@pytest.mark.parametrize("name,args,kw", REPR_CASES)
def test_layer_repr_matches_torch(torch, name, args, kw):
    assert repr(getattr(nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


@pytest.mark.parametrize("layer,fan_in", [(lambda: nn.Conv2d(6, 16, 5), 150),
                                          (lambda: nn.Conv2d(8, 4, 3, groups=4), 18),
                                          (lambda: nn.Conv1d(3, 5, 7), 21),
                                          (lambda: nn.ConvTranspose2d(4, 6, 3), 54)])
def test_default_init_bounds(layer, fan_in):
    numtorch.manual_seed(0)
    m = layer()
    bound = 1 / math.sqrt(fan_in)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.9 * bound  # spread over the whole interval
    assert abs(w.mean()) < 0.2 * bound
    assert w.dtype == np.float32


def _copy_params(src, dst, torch):
    for name, p in src.named_parameters():
        with torch.no_grad():
            getattr(dst, name).copy_(torch.tensor(p.detach().numpy()))


@pytest.mark.filterwarnings(SAME_WARNING)
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_conv2d_layer_padding_modes(torch, mode, padding):
    ours = nn.Conv2d(2, 3, (3, 4), padding=padding, padding_mode=mode)
    theirs = torch.nn.Conv2d(2, 3, (3, 4), padding=padding, padding_mode=mode)
    _copy_params(ours, theirs, torch)
    x = np.random.default_rng(0).standard_normal((2, 2, 7, 6)).astype(np.float32)
    xn, xt = numtorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    on, ot = ours(xn), theirs(xt)
    np.testing.assert_allclose(on.detach().numpy(), ot.detach().numpy(), rtol=1e-4, atol=1e-5)
    on.sum().backward()
    ot.sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-4,
                               atol=1e-4)


def test_conv1d_layer_circular(torch):
    ours = nn.Conv1d(2, 3, 3, padding=2, padding_mode="circular", dilation=2)
    theirs = torch.nn.Conv1d(2, 3, 3, padding=2, padding_mode="circular", dilation=2)
    _copy_params(ours, theirs, torch)
    x = np.random.default_rng(0).standard_normal((2, 2, 9)).astype(np.float32)
    np.testing.assert_allclose(ours(numtorch.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_conv_transpose2d_output_size(torch):
    ours = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    _copy_params(ours, theirs, torch)
    x = np.random.default_rng(0).standard_normal((1, 3, 4, 5)).astype(np.float32)
    on = ours(numtorch.tensor(x), output_size=[8, 10])
    ot = theirs(torch.tensor(x), output_size=[8, 10])
    assert tuple(on.shape) == tuple(ot.shape) == (1, 2, 8, 10)
    np.testing.assert_allclose(on.detach().numpy(), ot.detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError):
        ours(numtorch.tensor(x), output_size=[12, 10])


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, padding=(1, 2), groups=2)])
def test_blocks_and_worker_threads_equal_whole_batch(monkeypatch, kw, workers):
    """Large batches run the forward and the input gradient a block of images at a time."""
    from numtorch.ops import conv as conv_ops
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 4, 7, 6))
    w = rng.standard_normal((6, 4 // kw.get("groups", 1), 3, 3))

    def run():
        xt, wt = numtorch.tensor(x, requires_grad=True), numtorch.tensor(w, requires_grad=True)
        out = F.conv2d(xt, wt, **kw)
        out.pow(2).sum().backward()
        return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()

    whole = run()
    monkeypatch.setattr(conv_ops, "_BLOCK_BYTES", 1)
    monkeypatch.setattr(numtorch._threads, "_requested", workers)  # that many threads, all idle
    monkeypatch.setattr(numtorch._threads, "workers", lambda: workers)
    for a, b in zip(run(), whole):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# ---------------------------------------------------------------------------- higher derivatives
def _third_order(lib, fn, shapes):
    """Gradients of a non-linear loss, then of a function of them (create_graph both times),
    then of a function of those: three levels of backward through the convolution."""
    rng = np.random.default_rng(3)
    ins = [lib.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    first = lib.autograd.grad(fn(lib, *ins).tanh().sum(), ins, create_graph=True)
    s = sum(((g * g).sum() if i % 2 == 0 else g.sin().sum()) for i, g in enumerate(first))
    second = lib.autograd.grad(s, ins, create_graph=True)
    t = sum((g * g * g).sum() for g in second)
    third = lib.autograd.grad(t, ins)
    names = [type(g.grad_fn).__name__ for g in first]
    return names, [g.detach().numpy() for g in first + second + third]


@pytest.mark.parametrize("fn,shapes", [
    (lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, stride=2, padding=1, groups=2),
     [(2, 4, 6, 5), (6, 2, 3, 3), (6,)]),
    (lambda lib, x, w, b: lib.nn.functional.conv1d(x, w, b, padding="same", dilation=2),
     [(2, 3, 7), (4, 3, 3), (4,)]),
    # (no output_padding: PyTorch's own third derivative refuses it)
    (lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1),
     [(2, 3, 4, 3), (3, 2, 3, 3), (2,)]),
    (lambda lib, x, w: lib.nn.functional.conv_transpose1d(x, w, dilation=2, groups=2),
     [(2, 2, 5), (2, 3, 3)]),
])
def test_third_derivatives_and_node_names_match_torch(torch, fn, shapes):
    names, ours = _third_order(numtorch, fn, shapes)
    their_names, theirs = _third_order(torch, fn, shapes)
    assert names == their_names  # ConvolutionBackwardBackward0, as PyTorch shows it
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_input_changed_in_place_after_conv_raises():
    x = numtorch.randn(1, 2, 5, 5, requires_grad=True)
    a = x * 1
    out = F.conv2d(a, numtorch.randn(3, 2, 3, 3))
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
