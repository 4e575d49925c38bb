"""torchvision.transforms(.functional) counterparts against torchvision itself (tensor and PIL
paths), and the random transforms' parameter draws."""

import math
import warnings

import numpy as np
import pytest
from vision_oracle import import_torchvision

import numtorch
from numtorch.datasets import transforms as T
from numtorch.datasets.transforms import functional as F

Image = pytest.importorskip("PIL.Image")

RNG = np.random.default_rng(0)
U8 = RNG.integers(0, 256, (3, 13, 17), dtype=np.uint8)
F32 = RNG.random((3, 13, 17), dtype=np.float32)


@pytest.fixture(scope="module")
def tv():
    return import_torchvision()


def _inputs(torch, kind):
    """The same image for torchvision and numtorch."""
    if kind == "u8":
        return torch.from_numpy(U8.copy()), numtorch.tensor(U8)
    if kind == "f32":
        return torch.from_numpy(F32.copy()), numtorch.tensor(F32)
    pil = Image.fromarray(U8.transpose(1, 2, 0))
    return pil, pil.copy()


def _assert_same(want, got, atol):
    if isinstance(want, Image.Image):
        assert isinstance(got, Image.Image) and got.mode == want.mode
        want, got = np.asarray(want), np.asarray(got)
    else:
        assert str(got.dtype) == str(want.dtype)
        want, got = want.numpy(), got.numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), atol=atol, rtol=0)


KINDS = ["u8", "f32", "pil"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [(7, 9), 5, (26, 30), 20])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("antialias", [True, False])
def test_resize_matches_torchvision(tv, kind, size, mode, antialias):
    import torch

    x, nx = _inputs(torch, kind)
    with warnings.catch_warnings(record=True) as want_warnings:
        warnings.simplefilter("always")
        want = tv.transforms.functional.resize(x, size, tv.transforms.InterpolationMode(mode),
                                               antialias=antialias)
    with warnings.catch_warnings(record=True) as got_warnings:
        warnings.simplefilter("always")
        got = F.resize(nx, size, F.InterpolationMode(mode), antialias=antialias)
    assert [str(w.message) for w in got_warnings] == [str(w.message) for w in want_warnings]
    # torch resizes uint8 bilinearly in fixed point: one grey level apart at most
    atol = 1 if (kind == "u8" and mode == "bilinear") else (1e-5 if kind == "f32" else 0)
    _assert_same(want, got, atol)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name, args", [
    ("adjust_brightness", (0.3,)), ("adjust_brightness", (1.7,)),
    ("adjust_contrast", (0.3,)), ("adjust_contrast", (1.7,)),
    ("adjust_saturation", (0.3,)), ("adjust_saturation", (1.7,)),
    ("adjust_hue", (-0.4,)), ("adjust_hue", (0.1,)), ("adjust_hue", (0.5,)),
    ("rgb_to_grayscale", (1,)), ("rgb_to_grayscale", (3,)),
    ("gaussian_blur", (3,)), ("gaussian_blur", ((5, 3), (1.5, 0.7))), ("gaussian_blur", (7, 2.0)),
    ("resized_crop", (2, 3, 8, 9, [5, 6])), ("center_crop", ([20, 8],)),
    ("center_crop", ([4, 5],)), ("crop", (-2, 3, 9, 20)), ("rotate", (33.0,)),
    ("pad", ([1, 2, 3, 4], 0, "reflect")), ("pad", (2, 9, "constant")),
    ("pad", ((1, 3), 0, "symmetric")), ("hflip", ()), ("vflip", ()),
])
def test_functional_matches_torchvision(tv, kind, name, args):
    import torch

    x, nx = _inputs(torch, kind)
    want = getattr(tv.transforms.functional, name)(x, *args)
    got = getattr(F, name)(nx, *args)
    _assert_same(want, got, 1e-5 if kind == "f32" else 0)


@pytest.mark.parametrize("kind", KINDS)
def test_rotate_bilinear_expand_fill_matches_torchvision(tv, kind):
    import torch

    x, nx = _inputs(torch, kind)
    fill = [0.5] * 3 if kind == "f32" else 7
    want = tv.transforms.functional.rotate(x, 33.0, tv.transforms.InterpolationMode.BILINEAR,
                                           expand=True, fill=fill)
    got = F.rotate(nx, 33.0, F.InterpolationMode.BILINEAR, expand=True, fill=fill)
    _assert_same(want, got, 2e-6 if kind == "f32" else 0)


def test_conversions_match_torchvision(tv):
    import torch

    TF = tv.transforms.functional
    pil = Image.fromarray(U8.transpose(1, 2, 0))
    _assert_same(TF.to_tensor(pil), F.to_tensor(pil), 0)
    _assert_same(TF.pil_to_tensor(pil), F.pil_to_tensor(pil), 0)
    signed = (F32 - 0.5) * 3  # out of [0, 1]: torch wraps the truncated bytes
    for arr in (F32, signed):
        _assert_same(TF.to_pil_image(torch.from_numpy(arr)), F.to_pil_image(numtorch.tensor(arr)),
                     0)
    _assert_same(TF.convert_image_dtype(torch.from_numpy(U8), torch.float),
                 F.convert_image_dtype(numtorch.tensor(U8), numtorch.float), 0)
    _assert_same(TF.convert_image_dtype(torch.from_numpy(F32), torch.uint8),
                 F.convert_image_dtype(numtorch.tensor(F32), numtorch.uint8), 0)
    _assert_same(TF.normalize(torch.from_numpy(F32), [0.1, 0.2, 0.3], [0.5, 0.6, 0.7]),
                 F.normalize(numtorch.tensor(F32), [0.1, 0.2, 0.3], [0.5, 0.6, 0.7]), 1e-6)
    assert F.get_dimensions(pil) == TF.get_dimensions(pil) == [3, 13, 17]
    assert F.get_image_size(numtorch.tensor(F32)) == TF.get_image_size(torch.from_numpy(F32))


def test_reprs_match_torchvision(tv):
    import torch

    TV = tv.transforms
    pairs = [
        (TV.RandomResizedCrop(32), T.RandomResizedCrop(32)),
        (TV.ColorJitter(0.4, 0.4, 0.4, 0.1), T.ColorJitter(0.4, 0.4, 0.4, 0.1)),
        (TV.ColorJitter(), T.ColorJitter()),
        (TV.GaussianBlur(3), T.GaussianBlur(3)),
        (TV.GaussianBlur((3, 5), (0.5, 1.0)), T.GaussianBlur((3, 5), (0.5, 1.0))),
        (TV.RandomGrayscale(), T.RandomGrayscale()),
        (TV.RandomApply([TV.ColorJitter(0.8)], p=0.8), T.RandomApply([T.ColorJitter(0.8)], p=0.8)),
        (TV.Grayscale(3), T.Grayscale(3)), (TV.RandomErasing(), T.RandomErasing()),
        (TV.ConvertImageDtype(torch.float), T.ConvertImageDtype(numtorch.float)),
        (TV.PILToTensor(), T.PILToTensor()), (TV.CenterCrop(5), T.CenterCrop(5)),
        (TV.Resize(8), T.Resize(8)), (TV.RandomChoice([TV.Grayscale()]),
                                      T.RandomChoice([T.Grayscale()])),
        (TV.RandomOrder([TV.Grayscale()]), T.RandomOrder([T.Grayscale()])),
        (TV.RandomRotation(10), T.RandomRotation(10)),
    ]
    for want, got in pairs:
        assert repr(got) == repr(want)


def test_jitter_and_blur_argument_errors_match_torchvision(tv):
    TV = tv.transforms
    for args in [(-1,), ((2, 1),), ("x",)]:
        with pytest.raises(Exception) as want:
            TV.ColorJitter(*args)
        with pytest.raises(type(want.value), match=str(want.value)[:20].replace("(", r"\(")):
            T.ColorJitter(*args)
    with pytest.raises(ValueError, match="hue values should be between"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="odd and positive"):
        T.GaussianBlur(4)
    with pytest.raises(ValueError, match="kernel_size should have odd and positive"):
        F.gaussian_blur(numtorch.tensor(F32), 4)
    with pytest.raises(ValueError, match="hue_factor"):
        F.adjust_hue(numtorch.tensor(F32), 0.6)


# ---------------------------------------------------------------------------- random transforms
def _window_stats(windows, height, width):
    areas = np.array([h * w for _, _, h, w in windows]) / (height * width)
    log_ratios = np.log([w / h for _, _, h, w in windows])
    tops = np.array([i / max(height - h, 1) for i, _, h, _ in windows])
    return areas.mean(), areas.std(), log_ratios.mean(), log_ratios.std(), tops.mean()


def test_random_resized_crop_draws_windows_like_torchvision(tv):
    import torch

    img = numtorch.tensor(RNG.random((3, 40, 60), dtype=np.float32))
    t = T.RandomResizedCrop((8, 10), scale=(0.2, 0.9), ratio=(0.5, 2.0))
    numtorch.manual_seed(3)
    windows = [t.get_params(img, t.scale, t.ratio) for _ in range(2000)]
    numtorch.manual_seed(3)
    assert windows[:50] == [t.get_params(img, t.scale, t.ratio) for _ in range(50)]
    for i, j, h, w in windows:
        assert 0 <= i <= 40 - h and 0 <= j <= 60 - w and h > 0 and w > 0
    # numtorch's generator is torch's: the same windows, one by one
    torch.manual_seed(3)
    tv_t = tv.transforms.RandomResizedCrop((8, 10), scale=(0.2, 0.9), ratio=(0.5, 2.0))
    timg = torch.from_numpy(img.numpy())
    want = [tv_t.get_params(timg, tv_t.scale, tv_t.ratio) for _ in range(2000)]
    assert [tuple(w) for w in windows] == [tuple(w) for w in want]
    np.testing.assert_allclose(_window_stats(windows, 40, 60), _window_stats(want, 40, 60),
                               atol=0.04)
    out = t(img)
    assert out.shape == (3, 8, 10) and out.dtype == numtorch.float32


@pytest.mark.parametrize("shape", [(10, 100), (100, 10)])
def test_random_resized_crop_falls_back_to_a_centre_crop_like_torchvision(tv, shape):
    import torch

    t = T.RandomResizedCrop(4, scale=(0.99, 1.0), ratio=(0.9, 1.1))
    want = tv.transforms.RandomResizedCrop.get_params(torch.zeros(3, *shape), t.scale, t.ratio)
    got = t.get_params(numtorch.zeros(3, *shape), t.scale, t.ratio)
    assert got == want


def test_colour_jitter_order_and_factors():
    t = T.ColorJitter(brightness=0.5, contrast=(0.9, 1.1), saturation=0, hue=0.2)
    assert t.saturation is None and t.brightness == (0.5, 1.5)
    numtorch.manual_seed(0)
    seen = set()
    for _ in range(50):
        order, b, c, s, h = t.get_params(t.brightness, t.contrast, t.saturation, t.hue)
        assert sorted(order.tolist()) == [0, 1, 2, 3]
        seen.add(tuple(order.tolist()))
        assert 0.5 <= b <= 1.5 and 0.9 <= c <= 1.1 and s is None and -0.2 <= h <= 0.2
    assert len(seen) > 10
    img = Image.fromarray(U8.transpose(1, 2, 0))
    numtorch.manual_seed(5)
    a = np.asarray(t(img))
    numtorch.manual_seed(5)
    assert np.array_equal(a, np.asarray(t(img)))


def test_colour_jitter_applies_the_drawn_adjustments_in_the_drawn_order(monkeypatch):
    t = T.ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.2)
    order = numtorch.tensor([3, 1, 0, 2])
    monkeypatch.setattr(T.ColorJitter, "get_params",
                        staticmethod(lambda *a: (order, 1.2, 0.8, 1.3, 0.1)))
    x = numtorch.tensor(F32)
    want = F.adjust_saturation(F.adjust_brightness(F.adjust_contrast(F.adjust_hue(x, 0.1), 0.8),
                                                   1.2), 1.3)
    np.testing.assert_array_equal(t(x).numpy(), want.numpy())


def test_random_apply_grayscale_and_blur_probabilities():
    x = numtorch.tensor(F32)
    numtorch.manual_seed(1)
    gray = [not np.array_equal(T.RandomGrayscale(p=0.3)(x).numpy(), F32) for _ in range(400)]
    assert 0.22 < np.mean(gray) < 0.38
    assert T.RandomGrayscale(p=1.0)(x).shape == (3, 13, 17)
    applied = [T.RandomApply([T.Lambda(lambda v: v * 0)], p=0.7)(x).numpy().sum() == 0
               for _ in range(400)]
    assert 0.62 < np.mean(applied) < 0.78
    blur = T.GaussianBlur(5, sigma=(0.1, 2.0))
    sigmas = [blur.get_params(0.1, 2.0) for _ in range(400)]
    assert 0.1 <= min(sigmas) and max(sigmas) <= 2.0 and np.mean(sigmas) == pytest.approx(
        1.05, abs=0.1)
    assert blur(x).shape == x.shape


def test_random_erasing_erases_a_window_inside_the_image():
    x = numtorch.ones(3, 20, 30)
    numtorch.manual_seed(0)
    out = T.RandomErasing(p=1.0, value=0)(x).numpy()
    zeros = np.argwhere(out[0] == 0)
    assert len(zeros) > 0 and x.numpy().min() == 1  # the input is untouched
    (top, left), (bottom, right) = zeros.min(0), zeros.max(0)
    assert (out[:, top:bottom + 1, left:right + 1] == 0).all()
    assert math.isclose((out == 0).sum() / 3, (bottom - top + 1) * (right - left + 1))
    with pytest.raises(ValueError, match="number of input channels"):
        T.RandomErasing(p=1.0, value=(1, 2))(x)


def test_tensor_transforms_are_modules_as_in_torchvision(tv):
    import torch

    for name in T.__all__:
        ours = getattr(T, name)
        theirs = getattr(tv.transforms, name)
        if isinstance(theirs, type):
            assert issubclass(ours, numtorch.nn.Module) == issubclass(theirs, torch.nn.Module), \
                name
    pipeline = numtorch.nn.Sequential(T.CenterCrop(9), T.Normalize((0.5,) * 3, (0.25,) * 3))
    out = pipeline(numtorch.tensor(F32))
    np.testing.assert_allclose(out.numpy(), (F32[:, 2:11, 4:13] - 0.5) / 0.25, rtol=1e-6)


def test_random_parameters_are_torchvisions_draws(tv):
    """After the same torch.manual_seed (and random.seed, which RandomOrder and RandomChoice
    draw from, as torchvision's do), every random transform picks torchvision's parameters."""
    import random

    import torch

    tt = tv.transforms
    timg, img = torch.zeros(3, 32, 40), numtorch.zeros(3, 32, 40)
    steps = [(lambda: tt.RandomResizedCrop.get_params(timg, (0.08, 1.0), (3 / 4, 4 / 3)),
              lambda: T.RandomResizedCrop.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3))),
             (lambda: tt.RandomCrop.get_params(timg, (20, 20)),
              lambda: T.RandomCrop.get_params(img, (20, 20))),
             (lambda: tt.RandomErasing.get_params(timg, (0.02, 0.33), (0.3, 3.3), value=[0])[:4],
              lambda: T.RandomErasing.get_params(img, (0.02, 0.33), (0.3, 3.3), value=[0])[:4]),
             (lambda: (tt.GaussianBlur.get_params(0.1, 2.0),),
              lambda: (T.GaussianBlur.get_params(0.1, 2.0),)),
             (lambda: (tt.RandomRotation.get_params([-30, 30]),),
              lambda: (T.RandomRotation.get_params([-30, 30]),))]
    jitter = ((0.5, 1.5), (0.6, 1.4), (0.7, 1.3), (-0.1, 0.1))
    appends = [lambda x, i=i: x + [i] for i in range(4)]
    for seed in range(20):
        for want, got in steps:
            torch.manual_seed(seed)
            numtorch.manual_seed(seed)
            assert tuple(got()) == tuple(want())
        torch.manual_seed(seed)
        numtorch.manual_seed(seed)
        want, got = tt.ColorJitter.get_params(*jitter), T.ColorJitter.get_params(*jitter)
        assert got[0].tolist() == want[0].tolist() and got[1:] == want[1:]
        for want, got in ((tt.RandomOrder(appends), T.RandomOrder(appends)),
                          (tt.RandomChoice(appends, p=[0.1, 0.2, 0.3, 0.4]),
                           T.RandomChoice(appends, p=[0.1, 0.2, 0.3, 0.4]))):
            random.seed(seed)
            expected = want([])
            random.seed(seed)
            assert got([]) == expected
        torch.manual_seed(seed)
        numtorch.manual_seed(seed)
        x = np.arange(4.0, dtype=np.float32).reshape(1, 1, 4)
        assert ([T.RandomHorizontalFlip(0.5)(numtorch.tensor(x)).tolist() for _ in range(5)]
                == [tt.RandomHorizontalFlip(0.5)(torch.tensor(x)).tolist() for _ in range(5)])
