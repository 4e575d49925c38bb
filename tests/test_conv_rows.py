"""The compiled channels-last forwards of conv2d (``ops/_conv_jit``): the "rows" product
(positions as the product's rows), Winograd's F(2x2, 3x3) for 3x3 stride-1 kernels and its
stride-2 counterpart (F(2, 2) on the even taps) for 3x3 stride-2 kernels, against
PyTorch and the NumPy path: strides, dilations (the per-offset copy of ``im2row``), uneven and
large padding, odd output sizes (a last half tile), bias, float64, non-contiguous inputs,
several blocks on two workers; and the shapes that keep the columns' path."""

import numpy as np
import pytest
from conftest import skip_without_numba
from oracle import check_grad_fd

import numtorch
from numtorch.ops import _jit
from numtorch.ops import conv as conv_ops

pytestmark = pytest.mark.usefixtures("stem_only_direct_convolutions")

CASES = [
    # (N, C, H, W), (O, kh, kw), stride, padding, dilation
    ((3, 16, 9, 8), (16, 3, 3), 1, 1, 1),
    ((2, 16, 11, 9), (16, 3, 3), 2, 1, 1),
    ((2, 17, 11, 13), (18, 3, 2), (2, 1), (0, 2), 1),
    ((2, 16, 12, 12), (16, 3, 3), 1, 2, 2),
    ((2, 20, 13, 11), (16, 2, 3), (1, 2), (1, 0), (2, 3)),
    ((1, 16, 5, 5), (17, 5, 5), 1, 0, 1),
    ((2, 8, 7, 9), (16, 3, 3), 1, 0, 1),
    ((2, 16, 6, 5), (9, 3, 3), 1, (2, 1), 1),
    ((1, 16, 4, 3), (16, 3, 3), 1, (3, 2), 1),
    ((2, 16, 3, 3), (16, 3, 3), 1, 0, 1),  # a 1x1 output: one tile, mostly dropped
    ((1, 16, 1, 1), (16, 3, 3), 1, 1, 1),
    # 3x3 stride 2: odd sizes (a last half tile), no padding, padding beyond the kernel
    ((2, 16, 8, 8), (32, 3, 3), 2, 1, 1),
    ((3, 17, 9, 14), (16, 3, 3), 2, 0, 1),
    ((2, 16, 5, 7), (20, 3, 3), 2, (3, 2), 1),
    ((1, 16, 3, 3), (16, 3, 3), 2, 0, 1),  # one output
    ((2, 16, 11, 9), (16, 3, 3), 2, 1, 2),  # dilated: the rows' path
]


def _forward(x, w, b, stride, padding, dilation):
    y = numtorch.nn.functional.conv2d(numtorch.tensor(x), numtorch.tensor(w),
                                      None if b is None else numtorch.tensor(b), stride,
                                      padding, dilation)
    return y.numpy()


@pytest.mark.parametrize("winograd", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("shape,wshape,stride,padding,dilation", CASES)
def test_rows_forward_matches_torch_and_numpy(monkeypatch, shape, wshape, stride, padding,
                                              dilation, bias, dtype, winograd):
    torch = pytest.importorskip("torch")
    skip_without_numba()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((wshape[0], shape[1], *wshape[1:])).astype(dtype)
    b = rng.standard_normal(wshape[0]).astype(dtype) if bias else None
    expected = torch.nn.functional.conv2d(
        torch.tensor(x), torch.tensor(w), None if b is None else torch.tensor(b), stride,
        padding, dilation).numpy()
    calls = []
    for name in ("_conv_forward_rows", "_conv_forward_winograd", "_conv_forward_winograd_s2"):
        def spy(*args, _fn=getattr(conv_ops, name), _name=name, **kwargs):
            calls.append(_name)
            return _fn(*args, **kwargs)

        monkeypatch.setattr(conv_ops, name, spy)
    monkeypatch.setattr(conv_ops, "_WINOGRAD", winograd)
    monkeypatch.setattr(conv_ops, "_WINOGRAD_S2", winograd)
    monkeypatch.setattr(_jit, "ENABLED", True)
    compiled = _forward(x, w, b, stride, padding, dilation)
    by_winograd = winograd and wshape[1:] == (3, 3) and stride in (1, 2) and dilation == 1
    many = min(shape[1], wshape[0]) >= 16
    expected_path = ("_conv_forward_winograd" if by_winograd and stride == 1 else
                     "_conv_forward_winograd_s2" if by_winograd and many else
                     "_conv_forward_rows" if many else None)
    assert calls == ([expected_path] if expected_path else [])
    monkeypatch.setattr(_jit, "ENABLED", False)
    plain = _forward(x, w, b, stride, padding, dilation)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(compiled, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(plain, expected, rtol=tol, atol=tol)
    assert compiled.dtype == expected.dtype


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("winograd", [True, False])
def test_rows_forward_blocks_on_two_workers_and_strided_input(monkeypatch, winograd, stride):
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    monkeypatch.setattr(conv_ops, "_WINOGRAD", winograd)
    monkeypatch.setattr(conv_ops, "_WINOGRAD_S2", winograd)
    rng = np.random.default_rng(1)
    base = rng.standard_normal((7, 32, 10, 12)).astype(np.float32)
    x = base[:, ::2, :, 1:-1]  # non-contiguous
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    geom = ((stride, stride), (1, 1, 1, 1), (1, 1))
    whole = conv_ops._conv_forward(x, w, *geom, 1, b)
    monkeypatch.setattr(conv_ops, "_BLOCK_BYTES", 1)  # one image per block
    monkeypatch.setattr(conv_ops, "_WINOGRAD_BLOCK_BYTES", 1)
    monkeypatch.setattr(numtorch._threads, "_requested", 1)
    one = conv_ops._conv_forward(x, w, *geom, 1, b)
    monkeypatch.setattr(numtorch._threads, "_requested", 2)  # the same blocks on two workers
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    blocks = conv_ops._conv_forward(x, w, *geom, 1, b)
    np.testing.assert_array_equal(one, blocks)
    # (cut otherwise, the products may differ in the last bits: BLAS rounds a row of a product
    # by where it falls in its kernel's blocks, which the number of rows moves)
    np.testing.assert_allclose(blocks, whole, rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(_jit, "ENABLED", False)
    np.testing.assert_allclose(conv_ops._conv_forward(np.ascontiguousarray(x), w, *geom, 1, b),
                               whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_winograd_input_transform_gives_the_same_bits(dtype):
    """The forward's transform with the even and odd columns apart (taken below
    ``_WINOGRAD_SPLIT_CHANNELS``) against the plain one: the same tiles, bit for bit, for odd
    and even sizes, no padding, padding on one side and padding beyond the image."""
    _compare_input_transforms(
        dtype, 4, "winograd_input", 16, lambda size, pad: size + 2 * pad - 2,
        [(1, 1, 1, 1, 1), (3, 5, 4, 0, 0), (8, 9, 7, 1, 1), (16, 8, 10, 2, 3), (31, 6, 9, 1, 0),
         (5, 2, 3, 3, 2), (16, 32, 32, 1, 1)])
    assert 8 < conv_ops._WINOGRAD_SPLIT_CHANNELS <= 32


def _compare_input_transforms(dtype, seed, name, entries, out_size, cases):
    """Kernel ``name`` and ``name + "_split"`` write the same tiles, bit for bit, for each
    ``(channels, height, width, top, left)`` of ``cases`` (``out_size(size, pad)``: the
    convolution's output size along an axis)."""
    skip_without_numba()
    from numtorch.ops import _conv_jit
    rng = np.random.default_rng(seed)
    for c, h, w, top, left in cases:
        x = rng.standard_normal((2, c, h, w)).astype(dtype)
        th, tw = -(-out_size(h, top) // 2), -(-out_size(w, left) // 2)
        k = _conv_jit.kernels(x)
        plain = np.full((entries, 2 * th * tw, c), np.nan, dtype)
        split = plain.copy()
        getattr(k, name)(x, plain, th, tw, top, left)
        getattr(k, name + "_split")(x, split, th, tw, top, left)
        np.testing.assert_array_equal(split, plain, err_msg=str((c, h, w, top, left)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_winograd_output_transform_gives_the_same_bits(dtype):
    """The output transform with each row's even and odd columns apart (taken up to
    ``_WINOGRAD_OUTPUT_SPLIT_CHANNELS``) against the plain one: the same outputs, bit for bit,
    with and without a bias, for odd and even output sizes (an odd one's last tile half
    outside)."""
    skip_without_numba()
    from numtorch.ops import _conv_jit
    rng = np.random.default_rng(6)
    for o, ho, wo in [(1, 1, 1), (3, 5, 4), (8, 9, 7), (16, 32, 32), (5, 2, 3), (16, 7, 12)]:
        th, tw = -(-ho // 2), -(-wo // 2)
        m = rng.standard_normal((16, 2 * th * tw, o)).astype(dtype)
        bias = rng.standard_normal(o).astype(dtype)
        k = _conv_jit.kernels(m)
        for has_bias in (False, True):
            plain = np.full((2, o, ho, wo), np.nan, dtype)
            split = plain.copy()
            k.winograd_output(m, plain, bias, has_bias, th, tw)
            k.winograd_output_split(m, split, bias, has_bias, th, tw)
            np.testing.assert_array_equal(split, plain, err_msg=str((o, ho, wo, has_bias)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_stride2_winograd_input_transform_gives_the_same_bits(dtype):
    """The stride-2 transform with the column phases apart (taken below
    ``_WINOGRAD_SPLIT_CHANNELS``) against the plain one: the same tiles, bit for bit, with
    every padding from 0 to 3 on the left (each phase's first column), odd and even sizes,
    and images narrower than a tile."""
    _compare_input_transforms(
        dtype, 5, "winograd_s2_input", 25, lambda size, pad: (size + 2 * pad - 3) // 2 + 1,
        [(1, 1, 1, 1, 1), (3, 5, 4, 0, 0), (8, 9, 7, 1, 1), (16, 8, 10, 2, 3), (31, 6, 9, 1, 2),
         (5, 2, 3, 3, 2), (16, 32, 32, 1, 1), (7, 13, 17, 0, 1), (4, 11, 12, 2, 0)])


@pytest.mark.parametrize("shape,wshape,stride,groups,path", [
    ((2, 3, 8, 8), (16, 3, 3), 1, 1, None),  # few input channels
    ((2, 16, 8, 8), (8, 3, 3), 2, 1, None),  # few output channels for the rows' product
    ((2, 16, 8, 8), (16, 3, 3), 2, 1, "winograd_s2"),
    ((2, 16, 8, 8), (16, 3, 2), 2, 1, "rows"),
    ((2, 16, 8, 8), (8, 3, 3), 1, 1, "winograd"),
    ((2, 8, 8, 8), (8, 3, 3), 1, 1, None),  # too few channel pairs for Winograd
    ((2, 16, 8, 8), (16, 1, 1), 1, 1, None),  # 1x1 kernel
    ((2, 16, 8, 8), (16, 3, 3), 1, 2, None),  # groups
    ((2, 16, 8, 8), (16, 5, 5), 1, 1, "rows"),
])
def test_path_choice(shape, wshape, stride, groups, path):
    x = np.ones(shape, np.float32)
    w = np.ones((wshape[0], shape[1] // groups, *wshape[1:]), np.float32)
    assert conv_ops._channels_last_path(x, w, (stride, stride), (1, 1), groups) == path



@pytest.mark.parametrize("winograd", [True, False])
@pytest.mark.parametrize("stride", [1, 2])
def test_channels_last_forwards_gradients_by_finite_differences(monkeypatch, stride, winograd):
    """float64 gradients through the Winograd and rows' forwards (the stride-1 input gradient
    runs the forward again, on the flipped weight), and second derivatives on a small one."""
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    monkeypatch.setattr(conv_ops, "_WINOGRAD", winograd)
    monkeypatch.setattr(conv_ops, "_WINOGRAD_S2", winograd)
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((3, 16, 7, 6)), rng.standard_normal((16, 16, 3, 3)),
              rng.standard_normal(16)]

    def f(x, w, b):
        return numtorch.nn.functional.conv2d(x, w, b, stride, 1)

    check_grad_fd(f, arrays)


@pytest.mark.parametrize("shape,wshape,stride", [((2, 8, 5, 6), (16, 3, 3), 1),
                                                 ((2, 16, 7, 6), (16, 3, 3), 2)])
def test_channels_last_forwards_second_derivatives_match_torch(monkeypatch, shape, wshape,
                                                               stride):
    torch = pytest.importorskip("torch")
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(shape), rng.standard_normal((wshape[0], shape[1], 3, 3))]
    results = []
    for lib in (numtorch, torch):
        x, w = (lib.tensor(a, requires_grad=True) for a in arrays)
        y = lib.nn.functional.conv2d(x, w, None, stride, 1)
        v = lib.tensor(np.random.default_rng(4).standard_normal(tuple(y.shape)),
                       requires_grad=True)
        gx, gw = lib.autograd.grad(y, (x, w), v, create_graph=True)
        r = np.random.default_rng(5)
        s = (gx * lib.tensor(r.standard_normal(shape))).sum() + \
            (gw * lib.tensor(r.standard_normal(tuple(w.shape)))).sum()
        results.append([t.detach().numpy() for t in lib.autograd.grad(s, (x, w, v))])
    for got, expected in zip(*results):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("stride", [1, 2])
def test_channels_last_forwards_of_an_empty_batch(monkeypatch, stride):
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    x = numtorch.zeros(0, 16, 8, 8)
    y = numtorch.nn.functional.conv2d(x, numtorch.ones(16, 16, 3, 3), None, stride, 1)
    assert tuple(y.shape) == (0, 16, 8 // stride, 8 // stride)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,o,padding,bias", [
    ((1, 64, 56, 56), 64, 1, False),  # ResNet-18's first stage at batch 1: 4 bands
    ((1, 64, 57, 55), 64, 1, True),  # odd sizes: a last half tile
    ((1, 48, 40, 33), 80, 2, True),  # padding beyond 1: the first band starts in it
    ((1, 96, 31, 29), 64, (2, 1), False),
    ((1, 64, 44, 40), 64, 0, True),
    ((1, 64, 61, 50), 16, 1, True),  # few outputs: the split output transform, on band views
])
def test_winograd_forward_of_one_image_in_bands(monkeypatch, shape, o, padding, bias, dtype):
    """A single image is cut into bands of tile rows shared among threads: against PyTorch
    and against the whole image as one block."""
    torch = pytest.importorskip("torch")
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    monkeypatch.setattr(conv_ops, "_WHOLE_BATCH", False)
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(dtype)
    w = (rng.standard_normal((o, shape[1], 3, 3)) * 0.1).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    calls = []
    real = conv_ops._winograd_bands

    def spy(*args, **kwargs):
        calls.append(args[5])  # the number of bands
        return real(*args, **kwargs)

    monkeypatch.setattr(conv_ops, "_winograd_bands", spy)
    banded = _forward(x, w, b, 1, padding, 1)
    assert len(calls) == 1 and calls[0] >= 2
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w),
                                          None if b is None else torch.tensor(b), 1,
                                          padding).numpy()
    monkeypatch.setattr(conv_ops, "_WINOGRAD_BLOCK_BYTES", 1 << 30)  # one block
    whole = _forward(x, w, b, 1, padding, 1)
    assert len(calls) == 1
    tol = 1e-5 if dtype == np.float32 else 1e-12
    scale = np.abs(expected).max()
    np.testing.assert_allclose(banded, expected, rtol=tol, atol=tol * scale)
    np.testing.assert_allclose(banded, whole, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("packed", [True, False], ids=["panels", "blas"])
@pytest.mark.parametrize("c,o", [(16, 16), (20, 18), (64, 40)])
def test_winograd_products_from_packed_kernels_match_torch(monkeypatch, c, o, packed, stride,
                                                           dtype):
    """The Winograd entries' products from the transformed kernels packed once (output
    channels that fill the panels or end in a part-filled one) and by BLAS (no weight small
    enough): forward, input and weight gradients against PyTorch."""
    torch = pytest.importorskip("torch")
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    monkeypatch.setattr(conv_ops, "_WHOLE_BATCH", False)
    monkeypatch.setattr(conv_ops, "_PANEL_MAX_COLUMNS", 64 if packed else 0)
    from numtorch.ops import _conv_jit
    used, packs = [], []
    real, real_pack = conv_ops._entry_product, _conv_jit._Kernels.pack_entries
    monkeypatch.setattr(conv_ops, "_entry_product",
                        lambda kernels, u: used.append(u.shape) or real(kernels, u))
    monkeypatch.setattr(_conv_jit._Kernels, "pack_entries",
                        lambda self, u: packs.append(u.shape) or real_pack(self, u))
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, c, 13, 11)).astype(dtype)
    w = (rng.standard_normal((o, c, 3, 3)) * 0.1).astype(dtype)
    g = rng.standard_normal((3, o, (13 + 1) // stride if stride == 2 else 13,
                             (11 + 1) // stride if stride == 2 else 11)).astype(dtype)
    nx = numtorch.tensor(x, requires_grad=True)
    nw = numtorch.tensor(w, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    ny = numtorch.nn.functional.conv2d(nx, nw, stride=stride, padding=1)
    ty = torch.nn.functional.conv2d(tx, tw, stride=stride, padding=1)
    ny.backward(numtorch.tensor(g))
    ty.backward(torch.tensor(g))
    assert len(used) == 2  # the forward and the input gradient went the Winograd way
    assert len(packs) == (2 if packed else 0)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    for ours, theirs in [(ny.detach().numpy(), ty.detach().numpy()),
                         (nx.grad.numpy(), tx.grad.numpy()), (nw.grad.numpy(), tw.grad.numpy())]:
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * np.abs(theirs).max())
