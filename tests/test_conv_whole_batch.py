"""conv1d/conv2d as one product over the whole batch (``ops.conv._conv_forward_whole`` and
``_conv_backward_whole``), the path of convolutions whose weight outweighs their columns (see
``_whole_batch_path``): values and gradients against PyTorch
and, in float64, against the block paths; kernel sizes, strides, dilation, uneven padding,
1x1 kernels with and without a stride, bias, conv1d, second derivatives; on the NumPy kernels
and the compiled ones; and the shapes that keep the block paths."""

import numpy as np
import pytest

import numtorch
from numtorch.ops import conv as conv_ops

pytestmark = pytest.mark.usefixtures("jit_kernels")

CASES = [
    # (N, C, *spatial), (O, *kernel), stride, padding, dilation
    ((1, 64, 4, 4), (64, 3, 3), 1, 1, 1),
    ((2, 32, 5, 5), (128, 3, 3), 2, 1, 1),
    ((1, 64, 6, 7), (72, 3, 3), 1, (2, 1), 2),
    ((2, 256, 3, 3), (96, 1, 1), 1, 0, 1),
    ((1, 128, 7, 7), (256, 1, 1), 2, 0, 1),
    ((1, 32, 8, 8), (64, 5, 5), 1, 0, 1),
    ((1, 16, 9, 10), (160, 3, 4), (2, 3), (1, 2), 1),
    ((2, 128, 6), (128, 3), 1, 1, 1),
]


def _conv(lib, x, w, b, stride, padding, dilation):
    fn = lib.nn.functional.conv1d if x.dim() == 3 else lib.nn.functional.conv2d
    return fn(x, w, b, stride, padding, dilation)


def _run(lib, arrays, stride, padding, dilation, create_graph=False):
    """Forward, first and (with ``create_graph``) second derivatives as arrays."""
    x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
    y = _conv(lib, x, w, b, stride, padding, dilation)
    g = lib.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(
        arrays[0].dtype))
    grads = lib.autograd.grad(y, (x, w, b), g, create_graph=create_graph)
    out = [y.detach().numpy()] + [t.detach().numpy() for t in grads]
    if create_graph:
        total = sum((t * t).sum() for t in grads)
        out += [t.detach().numpy() for t in lib.autograd.grad(total, (x, w))]
    return out


def _arrays(shape, wshape, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    w = (rng.standard_normal((wshape[0], shape[1], *wshape[1:])) * 0.1).astype(dtype)
    b = rng.standard_normal(wshape[0]).astype(dtype)
    return x, w, b


def _spy(monkeypatch):
    calls = []
    for name in ("_conv_forward_whole", "_conv_backward_whole"):
        def spy(*args, _fn=getattr(conv_ops, name), _name=name, **kwargs):
            calls.append(_name)
            return _fn(*args, **kwargs)

        monkeypatch.setattr(conv_ops, name, spy)
    return calls


@pytest.mark.parametrize("shape,wshape,stride,padding,dilation", CASES)
def test_whole_batch_matches_torch(monkeypatch, shape, wshape, stride, padding, dilation):
    torch = pytest.importorskip("torch")
    arrays = _arrays(shape, wshape, np.float32)
    calls = _spy(monkeypatch)
    ours = _run(numtorch, arrays, stride, padding, dilation)
    assert calls == ["_conv_forward_whole", "_conv_backward_whole"]
    theirs = _run(torch, arrays, stride, padding, dilation)
    for got, want in zip(ours, theirs):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize("shape,wshape,stride,padding,dilation", CASES)
def test_whole_batch_matches_the_block_paths_in_float64(monkeypatch, shape, wshape, stride,
                                                         padding, dilation):
    """Values, gradients and second derivatives (the double backward runs the path again on
    its arrays) agree with the block paths to float64 rounding."""
    arrays = _arrays(shape, wshape, np.float64)
    calls = _spy(monkeypatch)
    whole = _run(numtorch, arrays, stride, padding, dilation, create_graph=True)
    assert "_conv_forward_whole" in calls and "_conv_backward_whole" in calls
    monkeypatch.setattr(conv_ops, "_WHOLE_BATCH", False)
    calls.clear()
    blocks = _run(numtorch, arrays, stride, padding, dilation, create_graph=True)
    assert calls == []
    for got, want in zip(whole, blocks):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def test_whole_batch_second_derivatives_match_torch():
    torch = pytest.importorskip("torch")
    arrays = _arrays((1, 64, 4, 4), (64, 3, 3), np.float64)
    ours = _run(numtorch, arrays, 1, 1, 1, create_graph=True)
    theirs = _run(torch, arrays, 1, 1, 1, create_graph=True)
    for got, want in zip(ours, theirs):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def test_one_gradient_at_a_time_and_a_strided_input(monkeypatch):
    """Only the input's or only the weight's gradient, of a strided view of a leaf."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    base = rng.standard_normal((2, 128, 6, 8)).astype(np.float32)
    wa = (rng.standard_normal((96, 64, 3, 3)) * 0.1).astype(np.float32)
    calls = _spy(monkeypatch)
    for needs_x, needs_w in ((True, False), (False, True)):
        grads = []
        for lib in (numtorch, torch):
            xb = lib.tensor(base, requires_grad=needs_x)
            w = lib.tensor(wa, requires_grad=needs_w)
            y = lib.nn.functional.conv2d(xb[:, ::2, :, 1:-1], w, padding=1, stride=2)
            y.square().sum().backward()
            grads.append((xb.grad, w.grad))
        for ours, theirs in zip(*grads):
            if theirs is None:
                assert ours is None
            else:
                np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4,
                                           atol=1e-4 * float(theirs.abs().max()))
    assert calls.count("_conv_backward_whole") == 2


@pytest.mark.parametrize("shape,wshape,stride,whole", [
    ((4, 64, 8, 8), (64, 3, 3), 1, False),  # the stride-1 Winograd's: 256 positions, 64 channels
    ((1, 64, 8, 8), (64, 3, 3), 1, True),  # 64 and 64
    ((4, 32, 16, 16), (128, 3, 3), 2, True),  # other paths': 256 positions, twice 128 channels
    ((5, 32, 16, 16), (128, 3, 3), 2, False),  # 320 positions
    ((1, 16, 2, 2), (64, 3, 3), 1, False),  # a weight under _WHOLE_BATCH_MIN_BYTES
])
def test_which_convolutions_take_the_whole_batch_path(monkeypatch, shape, wshape, stride, whole):
    arrays = _arrays(shape, wshape, np.float32)
    calls = _spy(monkeypatch)
    _run(numtorch, arrays, stride, 1, 1)
    assert calls == (["_conv_forward_whole", "_conv_backward_whole"] if whole else [])
