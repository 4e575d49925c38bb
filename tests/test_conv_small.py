"""The direct kernels of a stride-1 convolution with few input channels (``ops/_conv_small_jit``,
ResNet's 3-channel stem): forward and weight gradient against PyTorch and the columns' path,
for the stem's shape and odd ones (sizes, kernel widths that leave a pass of one or two taps,
output channels not a multiple of four, uneven and large padding, bias, float64, a
non-contiguous input, one image and batches of several blocks), the same bits on one and two
threads, and the shapes that keep the columns' path. Up to 16 input channels the direct
kernels also take the forward (any output channels and kernel size) and, as the forward of a
gradient of up to 16 channels with the flipped weight, the input gradient from the Winograd
and the columns, and up to 32 the weight gradient from 16x16 outputs on;
but not a single image's forward, which the Winograd shares among the threads. A 3x3
stride-2 convolution of up to 16 input channels gets its forward and both gradients from the
stride-2 direct kernels (phase planes)."""

import numpy as np
import pytest
from conftest import skip_without_numba

import numtorch
from numtorch.ops import _conv_small_jit, _jit
from numtorch.ops import conv as conv_ops

CASES = [
    # (N, C, H, W), (O, kh, kw), padding
    ((32, 3, 32, 32), (16, 3, 3), 1),  # ResNet-8's stem
    ((1, 3, 7, 9), (8, 3, 3), 1),
    ((3, 1, 9, 6), (4, 3, 3), 0),
    ((2, 3, 5, 8), (12, 3, 3), 2),
    ((2, 2, 6, 7), (4, 3, 3), (0, 2)),
    ((2, 4, 4, 4), (8, 3, 6), (1, 3)),
    # shapes the dispatch leaves to the columns (too few output channels for a pass of four,
    # kernel rows of one, two, four or five taps), forced onto the direct kernels
    ((3, 1, 9, 10), (6, 5, 5), 0),  # LeNet's first convolution
    ((2, 3, 6, 5), (5, 3, 3), 1),
    ((2, 2, 5, 6), (4, 2, 4), (1, 2)),
    ((2, 3, 4, 5), (3, 1, 1), 0),
    ((1, 1, 3, 3), (7, 2, 2), 3),
    ((2, 5, 21, 23), (7, 3, 3), 1),  # over 400 output positions: the dot products' kernel
]


def _taken(monkeypatch, force=True):
    """Spies on the direct paths (their names, in the order called); ``force``: also on shapes
    the dispatch leaves to the columns."""
    calls = []
    for name in ("_conv_forward_small", "_conv_backward_weight_small",
                 "_conv_backward_input_small_s2"):
        def spy(*args, _fn=getattr(conv_ops, name), _name=name, **kwargs):
            calls.append(_name)
            return (yield from _fn(*args, **kwargs))

        monkeypatch.setattr(conv_ops, name, spy)
    if force:
        monkeypatch.setattr(conv_ops, "_small_pays", lambda o, kernel: True)
    return calls


def _run(x, w, b, padding, stride=1):
    """Output and weight (and bias) gradients of conv2d with an input that needs no gradient,
    as the stem's; the output's gradient is fixed."""
    xt = numtorch.tensor(x)
    wt = numtorch.tensor(w, requires_grad=True)
    bt = None if b is None else numtorch.tensor(b, requires_grad=True)
    y = numtorch.nn.functional.conv2d(xt, wt, bt, stride, padding)
    g = np.cos(np.arange(y.numel(), dtype=x.dtype)).reshape(y.shape)
    y.backward(numtorch.tensor(g))
    return y.detach().numpy(), wt.grad.numpy(), None if b is None else bt.grad.numpy()


def _torch_run(torch, x, w, b, padding, stride=1):
    xt = torch.tensor(x)
    wt = torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    y = torch.nn.functional.conv2d(xt, wt, bt, stride, padding)
    g = np.cos(np.arange(y.numel(), dtype=x.dtype)).reshape(y.shape)
    y.backward(torch.tensor(g))
    return y.detach().numpy(), wt.grad.numpy(), None if b is None else bt.grad.numpy()


def _arrays(shape, wshape, dtype, bias, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((wshape[0], shape[1], *wshape[1:])).astype(dtype)
    b = rng.standard_normal(wshape[0]).astype(dtype) if bias else None
    return x, w, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("shape,wshape,padding", CASES)
def test_small_forward_and_weight_gradient_match_torch(monkeypatch, shape, wshape, padding,
                                                       bias, dtype):
    torch = pytest.importorskip("torch")
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    x, w, b = _arrays(shape, wshape, dtype, bias)
    expected = _torch_run(torch, x, w, b, padding)
    calls = _taken(monkeypatch)
    got = _run(x, w, b, padding)
    assert calls == ["_conv_forward_small", "_conv_backward_weight_small"]
    tol = 1e-4 if dtype == np.float32 else 1e-11
    for a, e in zip(got, expected):
        if e is None:
            assert a is None
            continue
        assert a.dtype == e.dtype and a.shape == e.shape
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol * max(1.0, np.abs(e).max()))


@pytest.mark.parametrize("shape,wshape,padding", CASES[:6])
def test_small_kernels_match_the_columns_path(monkeypatch, shape, wshape, padding):
    """The same convolution without numba (columns and products): values and weight gradient
    agree to float64 rounding."""
    skip_without_numba()
    x, w, b = _arrays(shape, wshape, np.float64, True, seed=1)
    monkeypatch.setattr(_jit, "ENABLED", True)
    calls = _taken(monkeypatch, force=False)
    direct = _run(x, w, b, padding)
    assert calls == ["_conv_forward_small", "_conv_backward_weight_small"]
    monkeypatch.setattr(_jit, "ENABLED", False)
    plain = _run(x, w, b, padding)
    assert calls == ["_conv_forward_small", "_conv_backward_weight_small"]  # (not taken again)
    for a, e in zip(direct, plain):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,wshape,padding,stride,channels,taken", [
    # stride 2, not 3x3: the forward direct (a kernel of at least 3x3), the gradients not
    ((32, 3, 32, 32), (16, 5, 5), 2, 2, 4, ["_conv_forward_small"]),
    ((4, 3, 17, 17), (8, 2, 2), 0, 2, 4, []),
    ((2, 5, 8, 8), (16, 3, 3), 1, 1, 4, []),  # five input channels
    # the forward direct (any output channels and kernel size), the weight gradient by
    # columns: kernel rows of one tap, or of seven for 64 output channels (see _small_pays)
    ((2, 3, 8, 8), (16, 1, 1), 0, 1, 4, ["_conv_forward_small"]),
    ((2, 3, 12, 12), (64, 7, 7), 3, 1, 4, ["_conv_forward_small"]),
    # LeNet's first convolution: both direct (rows of five taps for six output channels)
    ((64, 1, 28, 28), (6, 5, 5), 0, 1, 4, ["_conv_forward_small",
                                           "_conv_backward_weight_small"]),
    ((2, 3, 8, 8), (16, 3, 3), 1, 1, 0, []),  # the direct kernels switched off
])
def test_which_shapes_keep_the_columns_path(monkeypatch, shape, wshape, padding, stride,
                                          channels, taken):
    torch = pytest.importorskip("torch")
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    monkeypatch.setattr(conv_ops, "_SMALL_MAX_CHANNELS", channels)
    x, w, b = _arrays(shape, wshape, np.float32, False)
    calls = _taken(monkeypatch, force=False)
    got = _run(x, w, b, padding, stride)
    assert calls == taken
    expected = _torch_run(torch, x, w, b, padding, stride)
    for a, e in zip(got[:2], expected[:2]):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(e).max()))


def test_small_kernels_same_bits_on_one_and_two_threads_and_in_blocks(monkeypatch):
    """37 images cut into blocks of a few (the weight gradient's parts added in block order):
    the same bits on one thread and on two, and a non-contiguous input gives the bits of its
    contiguous copy; against float64 the result stays within float32 rounding."""
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    rng = np.random.default_rng(2)
    base = rng.standard_normal((37, 6, 12, 22)).astype(np.float32)
    x = base[:, ::2, :, 1:-1]  # (37, 3, 12, 20), non-contiguous
    w = rng.standard_normal((16, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    g = rng.standard_normal((37, 16, 12, 20)).astype(np.float32)
    geom = ((1, 1), (1, 1, 1, 1), (1, 1), 1)
    monkeypatch.setattr(conv_ops, "_BLOCK_BYTES", 20_000)  # a few images a block
    calls = _taken(monkeypatch, force=False)

    def both():
        return (conv_ops._conv_forward(x, w, *geom, b),
                conv_ops._conv_backward_weight(g, x, (3, 3), *geom))

    monkeypatch.setattr(numtorch._threads, "_requested", 1)
    one = both()
    monkeypatch.setattr(numtorch._threads, "_requested", 2)
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    two = both()
    assert calls == ["_conv_forward_small", "_conv_backward_weight_small"] * 2
    assert len(conv_ops.Blocks(37, conv_ops._shared_block_size(
        37, conv_ops._small_bytes(x, 16, (1, 1, 1, 1), (12, 20))), None).bounds) > 4
    for a, e in zip(one, two):
        np.testing.assert_array_equal(a, e)
    xc = np.ascontiguousarray(x)
    np.testing.assert_array_equal(conv_ops._conv_forward(xc, w, *geom, b), one[0])
    np.testing.assert_array_equal(conv_ops._conv_backward_weight(g, xc, (3, 3), *geom), one[1])
    ref = (conv_ops._conv_forward(xc.astype(np.float64), w.astype(np.float64), *geom,
                                  b.astype(np.float64)),
           conv_ops._conv_backward_weight(g.astype(np.float64), xc.astype(np.float64), (3, 3),
                                          *geom))
    for a, e in zip(one, ref):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4 * np.abs(e).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,wshape,padding", [
    ((3, 6, 14, 14), (16, 5, 5), 0),  # LeNet's second convolution
    ((2, 16, 8, 8), (16, 3, 3), 1),
    ((2, 3, 21, 20), (6, 3, 3), (2, 1)),  # 420 positions
    ((1, 32, 16, 16), (32, 3, 3), 1),
])
def test_both_weight_gradient_kernels_match_torch(monkeypatch, shape, wshape, padding, dtype):
    """The weight gradient as dot products of runs and as one product per image from the
    channels-last gradient (``small_weight_taps``): each where it is chosen by the output
    positions (up to ``_TAP_WEIGHT_MAX_POSITIONS``) and forced onto the other, against
    PyTorch."""
    torch = pytest.importorskip("torch")
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    x, w, b = _arrays(shape, wshape, dtype, False, seed=6)
    expected = _torch_run(torch, x, w, b, padding)[1]
    used = []
    run_small = conv_ops._conv_backward_weight_small

    def spy(weight, *args):
        used.append(weight.py_func.__name__)
        return (yield from run_small(weight, *args))

    monkeypatch.setattr(conv_ops, "_conv_backward_weight_small", spy)
    ho = shape[2] + (2 * padding if isinstance(padding, int) else 2 * padding[0]) - wshape[1] + 1
    wo = shape[3] + (2 * padding if isinstance(padding, int) else 2 * padding[1]) - wshape[2] + 1
    chosen = ("_small_weight_taps" if ho * wo <= conv_ops._TAP_WEIGHT_MAX_POSITIONS
              else "_small_weight")
    tol = 1e-4 if dtype == np.float32 else 1e-11
    for limit in (conv_ops._TAP_WEIGHT_MAX_POSITIONS, 0, 10**9):
        monkeypatch.setattr(conv_ops, "_TAP_WEIGHT_MAX_POSITIONS", limit)
        got = _run(x, w, b, padding)[1]
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.abs(expected).max())
    assert used == [chosen, "_small_weight", "_small_weight_taps"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,wshape,padding,stride", [
    ((2, 3, 40, 40), (64, 3, 3), 1, 1),  # 64 output channels: the sums in bands of rows
    ((2, 16, 70, 66), (24, 5, 5), 2, 1),
    ((2, 3, 70, 70), (64, 7, 7), 3, 2),  # ResNet's stem at a smaller size, in bands
    ((3, 2, 15, 12), (5, 4, 4), 1, 2),
    ((2, 1, 9, 11), (3, 5, 3), (2, 1), 2),
])
def test_direct_forward_in_bands_and_any_stride2_kernel_matches_torch(shape, wshape, padding,
                                                                      stride, dtype):
    """The direct forward of outputs whose sums take several bands of rows (over
    ``_conv_small_jit._BAND_BYTES``), and stride-2 forwards of kernels other than 3x3 (from
    the phase planes), with a bias, against PyTorch."""
    torch = pytest.importorskip("torch")
    skip_without_numba()
    x, w, b = _arrays(shape, wshape, dtype, True, seed=7)
    ho = (shape[2] + 2 * np.broadcast_to(padding, 2)[0] - wshape[1]) // stride + 1
    assert wshape[0] * (ho + wshape[1]) * x.itemsize * ho > _conv_small_jit._BAND_BYTES or (
        stride == 2)
    taken = []
    run = conv_ops._conv_forward_small

    def spy(*args):
        taken.append(args[0].py_func.__name__)
        return (yield from run(*args))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_jit, "ENABLED", True)
        mp.setattr(conv_ops, "_conv_forward_small", spy)
        got = numtorch.nn.functional.conv2d(numtorch.tensor(x), numtorch.tensor(w),
                                            numtorch.tensor(b), stride, padding).numpy()
    assert taken == ["_small_forward" if stride == 1 else "_small_forward_s2"]
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride,
                                      padding).numpy()
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


def test_small_kernels_empty_batch(monkeypatch):
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    calls = _taken(monkeypatch, force=False)
    x = np.zeros((0, 3, 8, 8), np.float32)
    w = np.ones((16, 3, 3, 3), np.float32)
    geom = ((1, 1), (1, 1, 1, 1), (1, 1), 1)
    out = conv_ops._conv_forward(x, w, *geom)
    gw = conv_ops._conv_backward_weight(np.zeros((0, 16, 8, 8), np.float32), x, (3, 3), *geom)
    assert calls == ["_conv_forward_small", "_conv_backward_weight_small"]
    assert out.shape == (0, 16, 8, 8) and out.dtype == np.float32
    assert gw.shape == (16, 3, 3, 3) and not gw.any()


def _run_with_input_gradient(lib, x, w, b, padding, stride=1):
    """Output, input, weight and bias gradients of conv2d in ``lib`` (numtorch or torch), the
    output's gradient fixed."""
    xt = lib.tensor(x, requires_grad=True)
    wt = lib.tensor(w, requires_grad=True)
    bt = lib.tensor(b, requires_grad=True)
    y = lib.nn.functional.conv2d(xt, wt, bt, stride, padding)
    g = np.cos(np.arange(y.numel(), dtype=x.dtype)).reshape(y.shape)
    y.backward(lib.tensor(g))
    return [t.detach().numpy() for t in (y, xt.grad, wt.grad, bt.grad)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,o,padding,calls", [
    # up to 16 channels on both sides: forward, input gradient and weight gradient direct
    ((2, 16, 9, 7), 16, 1, ["_conv_forward_small", "_conv_forward_small",
                            "_conv_backward_weight_small"]),
    # under 16 input channels too, as the gradient has few (see _MIN_FLIP_CHANNELS)
    ((3, 8, 6, 10), 12, (1, 2), ["_conv_forward_small", "_conv_forward_small",
                                 "_conv_backward_weight_small"]),
    # 32 output channels: the input gradient's forward has too many input channels
    ((2, 16, 5, 6), 32, 1, ["_conv_forward_small", "_conv_backward_weight_small"]),
    # 32 input channels: the weight gradient from 16x16 outputs on (the input gradient's
    # forward has 8)
    ((2, 32, 16, 16), 8, 1, ["_conv_forward_small", "_conv_backward_weight_small"]),
    ((2, 32, 15, 16), 8, 1, ["_conv_forward_small"]),
    ((2, 32, 16, 16), 32, 1, ["_conv_backward_weight_small"]),
    ((2, 20, 17, 16), 16, 1, ["_conv_forward_small", "_conv_backward_weight_small"]),
    # a single image: the forward is the Winograd's (in bands); the input gradient's too,
    # unless the flipped weight has too few output channels for it
    ((1, 16, 12, 12), 16, 1, ["_conv_backward_weight_small"]),
    ((1, 4, 12, 12), 16, 1, ["_conv_forward_small", "_conv_forward_small",
                             "_conv_backward_weight_small"]),
])
def test_direct_kernels_take_up_to_16_channels_and_weight_gradients_up_to_32(
        monkeypatch, shape, o, padding, calls, dtype):
    torch = pytest.importorskip("torch")
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    x, w, b = _arrays(shape, (o, 3, 3), dtype, True, seed=3)
    expected = _run_with_input_gradient(torch, x, w, b, padding)
    taken = _taken(monkeypatch, force=False)
    got = _run_with_input_gradient(numtorch, x, w, b, padding)
    assert sorted(taken) == sorted(calls)  # (the weight gradient may run on a helper thread)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    for a, e in zip(got, expected):
        assert a.dtype == e.dtype and a.shape == e.shape
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol * max(1.0, np.abs(e).max()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,o,padding,taken", [
    ((2, 16, 9, 9), 32, 1, True),  # ResNet-8's 16->32 at an odd size
    ((2, 6, 10, 9), 10, 0, True),  # no padding, channels not a multiple of four
    ((3, 4, 11, 8), 8, 2, True),  # padding beyond 1: the first phase row is padding
    ((2, 3, 8, 8), 4, (2, 1), True),  # uneven padding: rows and columns in other phases
    ((1, 5, 1, 1), 3, 1, True),  # a 1x1 input: one output, mostly padding
    ((2, 32, 8, 8), 16, 1, False),  # 32 input channels: the stride-2 Winograd
])
def test_stride2_direct_up_to_16_channels(monkeypatch, shape, o, padding, taken, dtype):
    torch = pytest.importorskip("torch")
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    x, w, b = _arrays(shape, (o, 3, 3), dtype, True, seed=4)
    expected = _run_with_input_gradient(torch, x, w, b, padding, 2)
    calls = _taken(monkeypatch, force=False)
    got = _run_with_input_gradient(numtorch, x, w, b, padding, 2)
    assert sorted(calls) == (["_conv_backward_input_small_s2", "_conv_backward_weight_small",
                              "_conv_forward_small"] if taken else [])
    tol = 1e-4 if dtype == np.float32 else 1e-11
    for a, e in zip(got, expected):
        assert a.dtype == e.dtype and a.shape == e.shape
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol * max(1.0, np.abs(e).max()))


def test_stride2_direct_kernels_same_bits_on_one_and_two_threads(monkeypatch):
    """37 images in blocks of a few: the stride-2 forward and both gradients give the same bits
    on one thread and on two, and a non-contiguous input or gradient the bits of its contiguous
    copy."""
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((37, 12, 13, 22)).astype(np.float32)[:, ::2, :, 1:-1]
    w = rng.standard_normal((8, 6, 3, 3)).astype(np.float32)
    g = rng.standard_normal((37, 8, 7, 20)).astype(np.float32)[:, :, :, ::2]
    geom = ((2, 2), (1, 1, 1, 1), (1, 1), 1)
    monkeypatch.setattr(conv_ops, "_BLOCK_BYTES", 20_000)  # a few images a block
    calls = _taken(monkeypatch, force=False)

    def both(g, x):
        return (conv_ops._conv_forward(x, w, *geom),
                conv_ops._conv_backward_input(g, w, x.shape, *geom),
                conv_ops._conv_backward_weight(g, x, (3, 3), *geom))

    monkeypatch.setattr(numtorch._threads, "_requested", 1)
    one = both(g, x)
    monkeypatch.setattr(numtorch._threads, "_requested", 2)
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    two = both(g, x)
    assert calls == ["_conv_forward_small", "_conv_backward_input_small_s2",
                     "_conv_backward_weight_small"] * 2
    for a, e in zip(one, two):
        np.testing.assert_array_equal(a, e)
    for a, e in zip(both(np.ascontiguousarray(g), np.ascontiguousarray(x)), one):
        np.testing.assert_array_equal(a, e)
