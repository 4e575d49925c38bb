"""The compiled convolution paths against the NumPy ones and PyTorch: the stride-1 input gradient
computed as the convolution of the gradient with the flipped weight (inputs of 16 channels or
more; by Winograd's algorithm where the forward would take it), the strided one as a
pixel-major product and gather (16 channels or more), the 3x3 stride-1 weight gradient by
Winograd's algorithm, the 3x3 stride-2 gradients by the transpose of the stride-2
Winograd-style forward, and the forward and weight gradient padding a block at a time."""

import numpy as np
import pytest
from conftest import skip_without_numba

import numtorch
from numtorch.ops import _jit
from numtorch.ops import conv as conv_ops

pytestmark = pytest.mark.usefixtures("stem_only_direct_convolutions")

CASES = [
    # (N, C, H, W), (O, kh, kw), stride, padding, dilation
    ((3, 16, 9, 8), (5, 3, 3), 1, 1, 1),
    ((2, 16, 9, 10), (4, 3, 2), 1, "same", 1),
    ((2, 17, 11, 9), (3, 3, 3), 1, 2, 2),
    ((2, 16, 7, 7), (4, 3, 3), 1, 3, 1),  # padding beyond the kernel: the columns' path
    ((2, 16, 6, 5), (6, 1, 1), 1, 0, 1),
    ((2, 16, 9, 9), (4, 3, 3), 2, 1, 1),
    ((2, 3, 8, 8), (16, 3, 3), 1, 1, 1),  # few input channels: col2im
    ((2, 16, 32, 32), (4, 3, 3), 1, 1, 1),
    ((2, 16, 16, 32), (3, 3, 3), 1, 2, 2),
    # strided, 16 channels or more: the pixel-major product and gather
    ((2, 16, 11, 10), (4, 3, 2), (2, 3), (1, 0), 1),
    ((2, 16, 10, 10), (3, 2, 2), 3, 0, 1),  # windows leave gaps: those pixels get zero
    ((2, 16, 7, 7), (3, 3, 3), 2, 2, 1),  # padding beyond the kernel
    # 3x3 stride 2, 16 channels or more each side: the Winograd-style forward, weight gradient
    ((2, 16, 9, 10), (16, 3, 3), 2, 1, 1),
    ((3, 17, 8, 7), (18, 3, 3), 2, (0, 2), 1),
    # stride 2: the weight gradient's columns from even and odd halves of the rows (odd widths)
    ((2, 3, 11, 9), (4, 3, 3), 2, 1, 1),
    ((2, 5, 8, 11), (3, 2, 3), 2, (0, 1), 1),
]


def _grads(x, w, stride, padding, dilation, g):
    xt = numtorch.tensor(x, requires_grad=True)
    wt = numtorch.tensor(w, requires_grad=True)
    y = numtorch.nn.functional.conv2d(xt, wt, None, stride, padding, dilation)
    y.backward(numtorch.tensor(g))
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,wshape,stride,padding,dilation", CASES)
def test_compiled_paths_match_numpy_and_torch(monkeypatch, shape, wshape, stride, padding,
                                              dilation, dtype):
    torch = pytest.importorskip("torch")
    skip_without_numba()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((wshape[0], shape[1], *wshape[1:])).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, None, stride, padding, dilation)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(g))
    expected = (yt.detach().numpy(), xt.grad.numpy(), wt.grad.numpy())
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(_jit, "ENABLED", enabled)
        results.append(_grads(x, w, stride, padding, dilation, g))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for compiled, plain, e in zip(*results, expected):
        np.testing.assert_allclose(compiled, e, rtol=tol, atol=tol)
        np.testing.assert_allclose(plain, e, rtol=tol, atol=tol)


def _spy(monkeypatch, name, note=lambda *args: 1):
    """Wraps ``conv_ops.<name>`` so that each call appends ``note(*args)`` to the list
    returned (which path a gradient took)."""
    calls = []
    original = getattr(conv_ops, name)

    def spy(*args, **kwargs):
        calls.append(note(*args))
        return original(*args, **kwargs)

    monkeypatch.setattr(conv_ops, name, spy)
    return calls


def _one_image_blocks_on_one_and_two_threads(monkeypatch, fn, args):
    """``fn(*args)`` with one image per block, on one thread and on two (both idle): the same
    bits, returned. (Against the uncut batch only within float rounding: BLAS rounds a row of a
    product by where it falls in its kernel's blocks, which the number of rows moves.)"""
    monkeypatch.setattr(conv_ops, "_BLOCK_BYTES", 1)
    monkeypatch.setattr(conv_ops, "_WINOGRAD_BLOCK_BYTES", 1)
    monkeypatch.setattr(numtorch._threads, "_requested", 1)
    one = fn(*args)
    monkeypatch.setattr(numtorch._threads, "_requested", 2)
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    two = fn(*args)
    np.testing.assert_array_equal(one, two)
    return two


@pytest.mark.parametrize("o,path", [
    (8, "_conv_backward_input_winograd"),  # 8 -> 16 channels adjoint: Winograd
    (4, "_conv_forward_steps"),  # 4 channels: the columns' forward with the flipped weight
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flipped_weight_path_is_taken_and_blocks_agree(monkeypatch, o, path, dtype):
    torch = pytest.importorskip("torch")
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 16, 6, 6)).astype(dtype)
    w = rng.standard_normal((o, 16, 3, 3)).astype(dtype)
    g = rng.standard_normal((5, o, 6, 6)).astype(dtype)
    calls = _spy(monkeypatch, path, lambda *args: path)
    args = (g, w, x.shape, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    whole = conv_ops._conv_backward_input(*args)
    assert calls == [path]
    # the Winograd adjoint (its kernels flipped and transformed inside the job) gives the bits
    # of the forward convolution of the gradient with the flipped weight
    flipped = conv_ops._conv_forward(g, conv_ops._flipped(w), (1, 1), (1, 1, 1, 1), (1, 1), 1)
    np.testing.assert_array_equal(whole, flipped)
    expected = torch.nn.grad.conv2d_input(x.shape, torch.tensor(w), torch.tensor(g), 1, 1)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(whole, expected.numpy(), rtol=tol, atol=tol)
    if path == "_conv_backward_input_winograd":
        # (8 channels: the gradient's tiles transformed with even and odd columns apart; the
        # plain transform gives the same bits)
        split = conv_ops._WINOGRAD_SPLIT_CHANNELS
        monkeypatch.setattr(conv_ops, "_WINOGRAD_SPLIT_CHANNELS", 0)
        np.testing.assert_array_equal(conv_ops._conv_backward_input(*args), whole)
        monkeypatch.setattr(conv_ops, "_WINOGRAD_SPLIT_CHANNELS", split)
    blocks = _one_image_blocks_on_one_and_two_threads(monkeypatch, conv_ops._conv_backward_input,
                                                      args)
    np.testing.assert_allclose(blocks, whole, rtol=tol, atol=tol)


@pytest.mark.parametrize("shape,o,stride,path", [
    ((3, 16, 9, 9), 8, 2, "_conv_backward_input_gather"),
    ((3, 16, 9, 9), 16, 2, "_conv_backward_input_winograd_s2"),
    ((3, 17, 12, 10), 18, 2, "_conv_backward_input_winograd_s2"),
])
def test_input_gradient_paths_are_taken_and_blocks_agree(monkeypatch, shape, o, stride, path):
    torch = pytest.importorskip("torch")
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((o, shape[1], 3, 3)).astype(np.float32)
    ho, wo = (shape[2] - 1) // stride + 1, (shape[3] - 1) // stride + 1
    g = rng.standard_normal((shape[0], o, ho, wo)).astype(np.float32)
    calls = _spy(monkeypatch, path, lambda *args: path)
    args = (g, w, x.shape, (stride, stride), (1, 1, 1, 1), (1, 1), 1)
    whole = conv_ops._conv_backward_input(*args)
    assert calls == [path]
    blocks = _one_image_blocks_on_one_and_two_threads(monkeypatch, conv_ops._conv_backward_input,
                                                      args)
    np.testing.assert_allclose(blocks, whole, rtol=1e-5, atol=1e-5)
    expected = torch.nn.grad.conv2d_input(x.shape, torch.tensor(w), torch.tensor(g), stride, 1)
    np.testing.assert_allclose(whole, expected.numpy(), rtol=1e-4, atol=1e-4)


def _weight_gradient_matches_torch(monkeypatch, path, taken, shape, o, pads, stride, dtype,
                                   seed, kernel=(3, 3), dilation=(1, 1)):
    """``_conv_backward_weight`` (a 3x3 kernel unless given; ``stride`` a number or a pair) on
    random input and gradient: whether ``path`` ran, the result against PyTorch, and the same
    bits on two threads (the block sums are added in an order fixed by the shapes)."""
    torch = pytest.importorskip("torch")
    stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
    kh, kw = kernel
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    ho = (shape[2] + pads[0] + pads[1] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (shape[3] + pads[2] + pads[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    g = rng.standard_normal((shape[0], o, ho, wo)).astype(dtype)
    calls = _spy(monkeypatch, path)
    args = (g, x, kernel, stride, pads, dilation, 1)
    gw = conv_ops._conv_backward_weight(*args)
    assert calls == ([1] if taken else [])
    xt = torch.nn.functional.pad(torch.tensor(x), (pads[2], pads[3], pads[0], pads[1]))
    expected = torch.nn.grad.conv2d_weight(xt, (o, shape[1], kh, kw), torch.tensor(g), stride,
                                           0, dilation).numpy()
    assert gw.shape == expected.shape and gw.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(gw, expected, rtol=tol, atol=tol)
    monkeypatch.setattr(numtorch._threads, "_requested", 2)
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    np.testing.assert_array_equal(gw, conv_ops._conv_backward_weight(*args))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,o,pads,taken", [
    ((5, 8, 10, 14), 5, (1, 1, 1, 1), True),
    ((3, 9, 10, 12), 4, (2, 0, 1, 1), True),
    ((3, 8, 10, 12), 6, (0, 0, 0, 0), True),
    ((3, 8, 9, 12), 4, (1, 1, 1, 1), False),  # an odd output height: the columns' path
])
def test_winograd_weight_gradient(monkeypatch, shape, o, pads, taken, dtype):
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    monkeypatch.setattr(conv_ops, "_MIN_WINOGRAD_TILES", 1)  # small shapes take it too
    _weight_gradient_matches_torch(monkeypatch, "_conv_backward_weight_winograd", taken, shape,
                                   o, pads, 1, dtype, seed=3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,o,pads,taken", [
    ((5, 16, 10, 14), 16, (1, 1, 1, 1), True),
    ((3, 17, 9, 11), 18, (0, 0, 0, 0), True),  # odd output sizes: a last half tile
    ((2, 16, 5, 7), 20, (3, 3, 2, 2), True),  # padding beyond the kernel
    ((2, 16, 3, 3), 16, (0, 0, 0, 0), True),  # one output
    ((3, 16, 9, 9), 8, (1, 1, 1, 1), False),  # few output channels
])
def test_winograd_stride2_weight_gradient(monkeypatch, shape, o, pads, taken, dtype):
    """The 3x3 stride-2 weight gradient by the transposed Winograd-style split against
    PyTorch, its blocks' sums the same bits on two threads."""
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    monkeypatch.setattr(conv_ops, "_WINOGRAD_BLOCK_BYTES", 1)  # one image a block
    _weight_gradient_matches_torch(monkeypatch, "_conv_backward_weight_winograd_s2", taken,
                                   shape, o, pads, 2, dtype, seed=6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,o,pads", [((3, 16, 9, 11), 16, 1), ((2, 17, 8, 8), 20, 0),
                                          ((2, 16, 5, 6), 16, 2)])
def test_winograd_stride2_gradients_together(monkeypatch, shape, o, pads, dtype):
    """Both gradients of a 3x3 stride-2 convolution in one pass (the gradient's tiles
    transformed once) give the bits of each alone, on one thread and on two."""
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    rng = np.random.default_rng(8)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((o, shape[1], 3, 3)).astype(dtype)
    ho = (shape[2] + 2 * pads - 3) // 2 + 1
    wo = (shape[3] + 2 * pads - 3) // 2 + 1
    g = rng.standard_normal((shape[0], o, ho, wo)).astype(dtype)
    geom = ((2, 2), (pads,) * 4, (1, 1), 1, False, (0, 0), 2)
    calls = _spy(monkeypatch, "_conv_backward_winograd_s2")
    gx, gw, _ = conv_ops._conv_backward_arrays(g, x, w, geom, (True, True, False), x.shape)
    assert calls == [1]
    alone_x = conv_ops._conv_backward_arrays(g, x, w, geom, (True, False, False), x.shape)[0]
    alone_w = conv_ops._conv_backward_arrays(g, x, w, geom, (False, True, False), x.shape)[1]
    np.testing.assert_array_equal(gx, alone_x)
    np.testing.assert_array_equal(gw, alone_w)
    monkeypatch.setattr(conv_ops, "_WINOGRAD_BLOCK_BYTES", 1)  # one image a block
    monkeypatch.setattr(numtorch._threads, "_requested", 2)
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    both = conv_ops._conv_backward_arrays(g, x, w, geom, (True, True, False), x.shape)
    np.testing.assert_array_equal(both[0], conv_ops._conv_backward_arrays(
        g, x, w, geom, (True, False, False), x.shape)[0])
    np.testing.assert_array_equal(both[1], conv_ops._conv_backward_arrays(
        g, x, w, geom, (False, True, False), x.shape)[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,o,pads,min_tiles,taken", [
    ((3, 32, 10, 12), 32, (1, 1, 1, 1), 256, True),  # 32 channels: before the planar one
    ((3, 33, 9, 7), 40, (1, 1, 1, 1), 1, True),  # odd output sizes: a last half tile
    ((2, 32, 6, 5), 32, (2, 0, 3, 1), 1, True),
    ((2, 16, 8, 8), 16, (1, 1, 1, 1), 1, True),  # 16 channels each side: before the planar one
    ((2, 16, 4, 4), 8, (1, 1, 1, 1), 1 << 30, True),  # the planar one declines
    ((2, 16, 8, 8), 8, (1, 1, 1, 1), 1, False),  # the planar one takes it
    ((2, 16, 8, 8), 4, (1, 1, 1, 1), 1 << 30, False),  # too few channels
])
def test_channels_last_winograd_weight_gradient(monkeypatch, shape, o, pads, min_tiles, taken,
                                                dtype):
    """The 3x3 stride-1 weight gradient by the transpose of the channels-last Winograd forward
    against PyTorch, and the same bits on two threads."""
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    monkeypatch.setattr(conv_ops, "_MIN_WINOGRAD_TILES", min_tiles)
    monkeypatch.setattr(conv_ops, "_WINOGRAD_BLOCK_BYTES", 1)  # one image a block
    _weight_gradient_matches_torch(monkeypatch, "_conv_backward_weight_winograd_cl", taken,
                                   shape, o, pads, 1, dtype, seed=7)


@pytest.mark.parametrize("stride", [1, 2])
def test_new_paths_take_broadcast_and_strided_gradients(monkeypatch, stride):
    """A sum's gradient reaches the convolution as a broadcast (stride-0) view, a transpose's
    as a non-contiguous one: the compiled paths read them as they are."""
    torch = pytest.importorskip("torch")
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    monkeypatch.setattr(conv_ops, "_MIN_WINOGRAD_TILES", 1)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 16, 10, 10)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    for reduce in (lambda y: y.sum(), lambda y: (y.transpose(2, 3) * y.transpose(2, 3)).sum()):
        grads = []
        for lib in (numtorch, torch):
            xt = lib.tensor(x, requires_grad=True)
            wt = lib.tensor(w, requires_grad=True)
            reduce(lib.nn.functional.conv2d(xt, wt, None, stride, 1)).backward()
            grads.append((xt.grad.numpy(), wt.grad.numpy()))
        for a, b in zip(*grads):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,w_shape,stride,pads,dilation,taken", [
    ((5, 32, 8, 8), (6, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), True),
    ((3, 32, 11, 9), (4, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), True),  # odd sizes, stride 2
    ((3, 40, 11, 10), (5, 2, 3), (1, 2), (0, 0, 2, 1), (2, 1), True),
    ((2, 32, 6, 7), (3, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), False),  # 1x1: the columns' path
    ((2, 16, 9, 9), (3, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), False),  # too few channels
])
def test_rows_weight_gradient(monkeypatch, shape, w_shape, stride, pads, dilation, taken, dtype):
    """The weight gradient as ``grad^T @ rows`` (channels-last rows, 32 input channels or
    more) against PyTorch, and the same bits on two threads."""
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    monkeypatch.setattr(conv_ops, "_MIN_WINOGRAD_TILES", 1 << 30)  # never Winograd here
    monkeypatch.setattr(conv_ops, "_BLOCK_BYTES", 1)  # one image a block: the blocks' sum
    _weight_gradient_matches_torch(monkeypatch, "_conv_backward_weight_rows", taken, shape,
                                   w_shape[0], pads, stride, dtype, seed=5,
                                   kernel=w_shape[1:], dilation=dilation)
