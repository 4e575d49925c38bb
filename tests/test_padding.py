"""F.pad (constant, reflect, replicate, circular), F.interpolate, padding and upsampling layers."""

import numpy as np
import pytest
from oracle import check_grad_fd, check_op

import numtorch
import numtorch.nn as nn
import numtorch.nn.functional as F


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _strict_gradgrad(monkeypatch):
    """This family is differentiable to any order: check_op's second-derivative check must
    run, never be skipped as "not yet converted"."""
    monkeypatch.setenv("NUMTORCH_GRADGRAD_STRICT", "1")


# ---------------------------------------------------------------------------- F.pad
@pytest.mark.parametrize("shape,pad,kw", [
    ((2, 3, 5, 4), (1, 2), {}),
    ((2, 3, 5, 4), (1, 2, 0, 3), {}),
    ((2, 3, 5, 4), (1, -2, -1, 3), dict(value=2.5)),  # negative sizes crop
    ((2, 3, 5, 4), (1, 2, 0, 3, 1, 1, 1, 0), {}),
    ((5,), (2, 0), dict(value=-1.0)),
])
def test_constant_pad_matches_torch(torch, shape, pad, kw):
    check_op(lambda lib, x: lib.nn.functional.pad(x, pad, **kw), shapes=[shape])


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [((2, 3, 5, 4), (1, 2, 0, 3)), ((3, 5, 4), (3, 2, 1, 1)),
                                       ((2, 3, 6), (3, 2)), ((4, 6), (0, 5)),
                                       ((1, 2, 3, 5, 4), (3, 2, 1, 1, 2, 0))])
def test_pad_modes_match_torch(torch, mode, shape, pad):
    if mode == "reflect" and max(pad) >= min(shape[-len(pad) // 2:]):
        pytest.skip("reflect padding must be smaller than the dimension")
    check_op(lambda lib, x: lib.nn.functional.pad(x, pad, mode=mode), shapes=[shape])


def test_pad_graph_names():
    x = numtorch.randn(1, 2, 4, 4, requires_grad=True)
    names = {m: type(F.pad(x, (1, 1, 1, 1), mode=m).grad_fn).__name__
             for m in ("constant", "reflect", "replicate", "circular")}
    assert names == {"constant": "ConstantPadNdBackward0", "reflect": "ReflectionPad2DBackward0",
                     "replicate": "ReplicationPad2DBackward0", "circular": "CopySlices"}


def test_pad_finite_differences():
    rng = np.random.default_rng(0)
    for mode in ("constant", "reflect", "replicate", "circular"):
        check_grad_fd(lambda x, m=mode: F.pad(x, (2, 1, 1, 3), mode=m),
                      [rng.standard_normal((1, 2, 4, 5))])


def _raises(exc, text, fn):
    with pytest.raises(exc) as info:
        fn()
    assert text in str(info.value), str(info.value)


def test_pad_errors():
    x = numtorch.randn(1, 3, 4, 4)
    _raises(RuntimeError, "Padding length must be divisible by 2", lambda: F.pad(x, (1, 1, 1)))
    _raises(RuntimeError, "Padding length should be less than or equal to two times the input "
            "dimension", lambda: F.pad(x, (1,) * 10))
    _raises(RuntimeError, "Padding size should be less than the corresponding input dimension, "
            "but got: padding (9, 9) at dimension 3 of input [1, 3, 4, 4]",
            lambda: F.pad(x, (9, 9, 0, 0), mode="reflect"))
    _raises(RuntimeError, "Padding value causes wrapping around more than once.",
            lambda: F.pad(x, (9, 9, 0, 0), mode="circular"))
    _raises(RuntimeError, "Padding mode \"reflect\" doesn't take in value argument",
            lambda: F.pad(x, (1, 1, 1, 1), mode="reflect", value=1.0))
    _raises(NotImplementedError, "Padding size 2 is not supported for 4D input tensor",
            lambda: F.pad(x, (1, 1), mode="reflect"))


# ---------------------------------------------------------------------------- F.interpolate
INTERP_CASES = [
    dict(size=(7, 9)), dict(scale_factor=2), dict(scale_factor=(1.5, 0.7)), dict(size=(3, 2)),
    dict(scale_factor=2.3),
]


@pytest.mark.parametrize("kw", INTERP_CASES)
@pytest.mark.parametrize("mode,align", [("nearest", None), ("nearest-exact", None),
                                        ("bilinear", False), ("bilinear", True), ("area", None)])
def test_interpolate_2d_matches_torch(torch, kw, mode, align):
    check_op(lambda lib, x: lib.nn.functional.interpolate(x, mode=mode, align_corners=align,
                                                          **kw), shapes=[(2, 3, 5, 4)])


def test_interpolate_recompute_scale_factor_matches_torch(torch):
    check_op(lambda lib, x: lib.nn.functional.interpolate(
        x, scale_factor=1.7, mode="bilinear", recompute_scale_factor=True), shapes=[(1, 2, 5, 4)])


@pytest.mark.parametrize("kw", [dict(size=8, mode="nearest"), dict(scale_factor=2.5,
                                                                   mode="linear"),
                                dict(size=4, mode="linear", align_corners=True)])
def test_interpolate_1d_matches_torch(torch, kw):
    check_op(lambda lib, x: lib.nn.functional.interpolate(x, **kw), shapes=[(2, 3, 5)])


def test_interpolate_graph_names():
    x = numtorch.randn(1, 2, 4, 4, requires_grad=True)
    assert type(F.interpolate(x, scale_factor=2).grad_fn).__name__ == "UpsampleNearest2DBackward0"
    assert type(F.interpolate(x, scale_factor=2, mode="bilinear").grad_fn).__name__ == \
        "UpsampleBilinear2DBackward0"


def test_interpolate_finite_differences():
    rng = np.random.default_rng(1)
    check_grad_fd(lambda x: F.interpolate(x, size=(7, 3), mode="bilinear"),
                  [rng.standard_normal((1, 2, 4, 5))])
    check_grad_fd(lambda x: F.interpolate(x, scale_factor=1.5), [rng.standard_normal((1, 2, 4, 5))])


def test_interpolate_keeps_float32_and_copies_inf():
    x = numtorch.tensor([[[[1.0, float("inf")], [2.0, 3.0]]]])
    out = F.interpolate(x, scale_factor=2)
    assert out.dtype == numtorch.float32
    assert out[0, 0, 0, 2].item() == float("inf") and out[0, 0, 0, 0].item() == 1.0


def test_interpolate_errors():
    x = numtorch.randn(1, 3, 4, 4)
    _raises(ValueError, "either size or scale_factor should be defined",
            lambda: F.interpolate(x))
    _raises(ValueError, "only one of size or scale_factor should be defined",
            lambda: F.interpolate(x, size=2, scale_factor=2))
    _raises(ValueError, "align_corners option can only be set with the interpolating modes",
            lambda: F.interpolate(x, scale_factor=2, align_corners=True))
    _raises(NotImplementedError, "Got 3D input, but bilinear mode needs 4D input",
            lambda: F.interpolate(numtorch.randn(1, 3, 4), scale_factor=2, mode="bilinear"))


# ---------------------------------------------------------------------------- layers
REPR_CASES = [
    ("ZeroPad2d", (2,), {}), ("ConstantPad2d", ((1, 2, 3, 4), 3.5), {}),
    ("ConstantPad1d", ((1, 2), 1), {}), ("ReflectionPad2d", (1,), {}),
    ("ReflectionPad1d", (2,), {}), ("ReplicationPad2d", ((1, 0, 2, 1),), {}),
    ("ReplicationPad1d", ((1, 2),), {}), ("CircularPad2d", (1,), {}),
    ("Upsample", (), dict(scale_factor=2)),
    ("Upsample", (), dict(size=(3, 4), mode="bilinear", align_corners=True)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3)),
    ("UpsamplingBilinear2d", (), dict(size=5)),
]


@pytest.mark.parametrize("name,args,kw", REPR_CASES)
def test_layer_repr_matches_torch(torch, name, args, kw):
    assert repr(getattr(nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


@pytest.mark.parametrize("name,args,kw", REPR_CASES)
def test_layer_forward_matches_torch(torch, name, args, kw):
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 6)).astype(np.float32)
    if name.endswith("1d"):
        x = x[:, :, 0]
    ours = getattr(nn, name)(*args, **kw)(numtorch.tensor(x))
    theirs = getattr(torch.nn, name)(*args, **kw)(torch.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", [dict(scale_factor=2, mode="trilinear"),
                                dict(size=(3, 7, 5), mode="trilinear", align_corners=True),
                                dict(scale_factor=(2, 1.5, 1), mode="nearest")])
def test_interpolate_3d_matches_torch(torch, kw):
    check_op(lambda lib, x: lib.nn.functional.interpolate(x, **kw), shapes=[(1, 2, 4, 5, 3)])


# ---------------------------------------------------------------------------- higher order
@pytest.mark.parametrize("pads", [(-1, 2, 1, -2), (2, -1, -2, 1), (-1, -1, 0, 0)])
def test_circular_pad_with_crops_matches_torch(torch, pads):
    """A negative size crops first and the wrap reads the cropped tensor, as in PyTorch."""
    check_op(lambda lib, x: lib.nn.functional.pad(x, pads, mode="circular"), [(2, 3, 5, 6)])


@pytest.mark.parametrize("fn", [
    lambda lib, x: lib.nn.functional.pad(x, (1, 2, -1, 1), value=0.5),
    lambda lib, x: lib.nn.functional.pad(x, (1, 2, 2, 1), mode="reflect"),
    lambda lib, x: lib.nn.functional.pad(x, (1, 2, 2, 1), mode="replicate"),
    lambda lib, x: lib.nn.functional.pad(x, (1, 2, 2, 1), mode="circular"),
    lambda lib, x: lib.nn.functional.interpolate(x, size=(7, 9)),
    lambda lib, x: lib.nn.functional.interpolate(x, size=(7, 9), mode="nearest-exact"),
    lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2, mode="bilinear"),
    lambda lib, x: lib.nn.functional.interpolate(x, size=(3, 2), mode="area"),
])
def test_third_derivatives_and_node_names_match_torch(torch, fn):
    def run(lib):
        x = lib.tensor(np.random.default_rng(2).standard_normal((2, 3, 4, 5)),
                       requires_grad=True)
        y = fn(lib, x)
        g1, = lib.autograd.grad((y * y * y).sum(), x, create_graph=True)
        g2, = lib.autograd.grad((g1 * g1 * g1).sum(), x, create_graph=True)
        g3, = lib.autograd.grad((g2 * g2).sum(), x)
        return type(y.grad_fn).__name__, [g.detach().numpy() for g in (g1, g2, g3)]

    ours, theirs = run(numtorch), run(torch)
    assert ours[0] == theirs[0]
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)
