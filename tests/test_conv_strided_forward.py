"""The forwards of strided convolutions: a strided 1x1 one by a subsample and one batched
product (``_conv_forward_subsampled``, ResNet's projection shortcuts; NumPy only, with or
without numba), and the 3x3 stride-2 Winograd-style forward
(``_conv_forward_winograd_s2``): its compiled input transform against an exact NumPy
reference, the forward against PyTorch, on one and two threads."""

import numpy as np
import pytest

import numtorch
from numtorch.ops import conv as conv_ops

pytestmark = pytest.mark.usefixtures("jit_kernels", "stem_only_direct_convolutions")


def _spy(monkeypatch, name):
    calls = []
    original = getattr(conv_ops, name)

    def spy(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(conv_ops, name, spy)
    return calls


def _against_torch(seed, shape, o, kernel, bias, dtype, stride, padding):
    """A convolution of random input, weight and (with ``bias``) bias by numtorch and by
    PyTorch: ``(numtorch's result, PyTorch's as an array)``."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((o, shape[1], kernel, kernel)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    expected = torch.nn.functional.conv2d(
        torch.tensor(x), torch.tensor(w), None if b is None else torch.tensor(b), stride,
        padding).numpy()
    got = numtorch.nn.functional.conv2d(numtorch.tensor(x), numtorch.tensor(w),
                                        None if b is None else numtorch.tensor(b), stride,
                                        padding)
    return got, expected


SUBSAMPLED = [
    # (N, C, H, W), O, stride
    ((2, 32, 16, 16), 64, 2),  # ResNet-8's second shortcut, a smaller batch
    ((3, 5, 9, 7), 4, 2),  # odd sizes: the last row and column are read
    ((2, 3, 10, 11), 6, (2, 3)),
    ((1, 4, 7, 8), 3, 3),
    ((2, 6, 1, 9), 5, (1, 2)),  # stride along one axis only
    ((0, 4, 6, 6), 3, 2),  # an empty batch
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("shape,o,stride", SUBSAMPLED)
def test_strided_1x1_forward_matches_torch(monkeypatch, shape, o, stride, bias, dtype):
    calls = _spy(monkeypatch, "_conv_forward_subsampled")
    got, expected = _against_torch(0, shape, o, 1, bias, dtype, stride, 0)
    assert calls == ["_conv_forward_subsampled"]
    assert got.dtype == (numtorch.float32 if dtype == np.float32 else numtorch.float64)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got.numpy(), expected, rtol=tol, atol=tol)


def test_strided_1x1_forward_of_a_strided_input():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((3, 8, 13, 12))
    x = base[:, ::2, 1:, ::-1]  # non-contiguous, negative strides
    w = rng.standard_normal((5, 4, 1, 1))
    b = rng.standard_normal(5)
    geom = ((2, 2), (0, 0, 0, 0), (1, 1), 1, b)
    got = conv_ops._conv_forward(x, w, *geom)
    expected = conv_ops._conv_forward(np.ascontiguousarray(x), w, *geom)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(got, np.einsum("nchw,oc->nohw", x[:, :, ::2, ::2], w[:, :, 0, 0])
                               + b[:, None, None], rtol=1e-12, atol=1e-12)


def test_strided_1x1_gradients_match_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((3, 4, 12, 11)), rng.standard_normal((5, 4, 1, 1)),
              rng.standard_normal(5)]
    calls = _spy(monkeypatch, "_conv_forward_subsampled")
    results = []
    for lib in (numtorch, torch):
        xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in arrays)
        y = lib.nn.functional.conv2d(xt, wt, bt, 2)
        y.backward(lib.tensor(np.cos(np.arange(y.numel()).reshape(tuple(y.shape)))))
        results.append([t.detach().numpy() for t in (y, xt.grad, wt.grad, bt.grad)])
    assert calls == ["_conv_forward_subsampled"]
    for got, expected in zip(*results):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_strided_1x1_conv1d_matches_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 6, 11))
    w = rng.standard_normal((4, 6, 1))
    calls = _spy(monkeypatch, "_conv_forward_subsampled")
    got = numtorch.nn.functional.conv1d(numtorch.tensor(x), numtorch.tensor(w), None, 3)
    expected = torch.nn.functional.conv1d(torch.tensor(x), torch.tensor(w), None, 3)
    assert calls == ["_conv_forward_subsampled"]
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel,stride,padding,groups", [
    (1, 1, 0, 1),  # no stride: the input is the columns already
    (1, 2, 1, 1),  # padded
    (1, 2, 0, 2),  # grouped
    (2, 2, 0, 1),  # a larger kernel
])
def test_strided_1x1_path_only_for_unpadded_ungrouped_strided_1x1(monkeypatch, kernel, stride,
                                                                   padding, groups):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((6, 4 // groups, kernel, kernel))
    calls = _spy(monkeypatch, "_conv_forward_subsampled")
    got = numtorch.nn.functional.conv2d(numtorch.tensor(x), numtorch.tensor(w), None, stride,
                                        padding, 1, groups)
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), None, stride,
                                          padding, 1, groups)
    assert calls == []
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,o,kernel,padding", [
    ((7, 16, 9, 10), 16, 1, 0),  # the strided 1x1 forward
    ((7, 16, 9, 10), 18, 3, 1),  # the stride-2 Winograd-style forward (with numba)
])
def test_strided_forwards_give_the_same_bits_on_one_and_two_threads(monkeypatch, shape, o,
                                                                    kernel, padding):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((o, shape[1], kernel, kernel)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    geom = ((2, 2), (padding,) * 4, (1, 1))
    monkeypatch.setattr(numtorch._threads, "_requested", 1)
    whole = conv_ops._conv_forward(x, w, *geom, 1, b)
    monkeypatch.setattr(conv_ops, "_BLOCK_BYTES", 1)  # one image per block
    monkeypatch.setattr(conv_ops, "_WINOGRAD_BLOCK_BYTES", 1)
    one = conv_ops._conv_forward(x, w, *geom, 1, b)
    monkeypatch.setattr(numtorch._threads, "_requested", 2)  # the same blocks on two workers
    monkeypatch.setattr(numtorch._threads, "workers", lambda: 2)
    np.testing.assert_array_equal(conv_ops._conv_forward(x, w, *geom, 1, b), one)
    # (BLAS rounds a row of a product by where it falls in its kernel's blocks: other cuts may
    # differ in the last bits)
    np.testing.assert_allclose(one, whole, rtol=1e-5, atol=1e-5)


def test_strided_1x1_batch_is_cut_for_threads_only_from_enough_work(monkeypatch):
    """ResNet-8's shortcut at batch 32 is one block; from ``_SUBSAMPLED_SPLIT_MACS`` the batch
    is cut in shares, with the same bits on one and two threads."""
    bounds = []

    class Recorded(conv_ops.Blocks):
        __slots__ = ()

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bounds.append(self.bounds)

    monkeypatch.setattr(conv_ops, "Blocks", Recorded)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((32, 32, 16, 16)).astype(np.float32)
    w = rng.standard_normal((64, 32, 1, 1)).astype(np.float32)
    geom = ((2, 2), (0, 0, 0, 0), (1, 1), 1)
    whole = conv_ops._conv_forward(x, w, *geom)
    assert bounds == [[(0, 32)]]
    monkeypatch.setattr(conv_ops, "_SUBSAMPLED_SPLIT_MACS", 32 * 64 * 32 * 64)
    for workers in (1, 2):
        monkeypatch.setattr(numtorch._threads, "_requested", workers)
        monkeypatch.setattr(numtorch._threads, "workers", lambda n=workers: n)
        np.testing.assert_array_equal(conv_ops._conv_forward(x, w, *geom), whole)
    assert len(bounds) == 3 and len(bounds[1]) == len(bounds[2]) > 1


# 3x3 stride 2, per axis: the input tile's transform B^T d
_S2_BT = np.array([[1, 0, -1, 0, 0], [0, 0, 1, 0, 0], [0, 0, -1, 0, 1], [0, 1, 0, 0, 0],
                   [0, 0, 0, 1, 0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stride2_input_transform_is_exact(jit_kernels, dtype):
    """The compiled ``B^T d B`` of every 5x5 input tile (4 apart, zero-padded at the top left
    and with zeros beyond the input) against NumPy's, on integer-valued inputs (exact)."""
    if jit_kernels == "numpy":
        pytest.skip("a compiled kernel")
    from numtorch.ops import _conv_jit
    rng = np.random.default_rng(6)
    for n, c, h, w, top, left in [(2, 32, 16, 16, 1, 1), (3, 5, 11, 13, 1, 1),
                                  (2, 17, 9, 14, 0, 0), (2, 16, 5, 7, 3, 2), (1, 3, 3, 3, 0, 0)]:
        x = rng.integers(-50, 50, (n, c, h, w)).astype(dtype)
        ho, wo = (h + 2 * top - 3) // 2 + 1, (w + 2 * left - 3) // 2 + 1
        th, tw = -(-ho // 2), -(-wo // 2)
        v = np.full((25, n * th * tw, c), np.nan, dtype)
        _conv_jit.kernels(x).winograd_s2_input(x, v, th, tw, top, left)
        xp = np.zeros((n, c, 4 * th + 1 + h, 4 * tw + 1 + w), dtype)
        xp[:, :, top:top + h, left:left + w] = x
        tiles = np.stack([xp[:, :, 4 * ty:4 * ty + 5, 4 * tx:4 * tx + 5]
                          for ty in range(th) for tx in range(tw)], axis=1)  # (N, T, C, 5, 5)
        expected = np.einsum("ai,ntcij,bj->abntc", _S2_BT, tiles, _S2_BT)
        np.testing.assert_array_equal(v, expected.reshape(25, n * th * tw, c))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("shape,o,padding", [
    ((2, 32, 16, 16), 64, 1),  # ResNet-8's layer3.conv1, a smaller batch
    ((2, 16, 32, 32), 32, 1),  # layer2.conv1
    ((3, 17, 9, 14), 16, 0),
    ((2, 16, 5, 7), 20, (3, 2)),
])
def test_stride2_winograd_forward_matches_torch(monkeypatch, jit_kernels, shape, o, padding,
                                               bias, dtype):
    calls = _spy(monkeypatch, "_conv_forward_winograd_s2")
    monkeypatch.setattr(conv_ops, "_WHOLE_BATCH", False)  # (the first shape's path otherwise)
    got, expected = _against_torch(7, shape, o, 3, bias, dtype, 2, padding)
    assert calls == (["_conv_forward_winograd_s2"] if jit_kernels == "numba" else [])
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got.numpy(), expected, rtol=tol, atol=tol)
