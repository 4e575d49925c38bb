"""numtorch.datasets.transforms: values derived by hand from torchvision's documented formulas."""

import numpy as np
import pytest

import numtorch
from numtorch._tensor import Tensor
from numtorch.datasets import transforms as T
from numtorch.datasets.transforms import functional as TF


def tensor(arr):
    return Tensor._wrap(np.asarray(arr))


@pytest.fixture
def img_u8():
    return np.arange(5 * 6, dtype=np.uint8).reshape(5, 6) * 7  # H=5, W=6


# ---------------------------------------------------------------------------- ToTensor
def test_to_tensor_scales_uint8_and_adds_channel(img_u8):
    out = T.ToTensor()(img_u8)
    assert isinstance(out, Tensor) and tuple(out.shape) == (1, 5, 6)
    assert str(out.dtype) == "torch.float32"
    np.testing.assert_array_equal(out.numpy()[0], img_u8.astype(np.float32) / np.float32(255))
    assert out.numpy().min() == 0.0 and out.numpy().max() <= 1.0
    same = T.ToTensor()(tensor(img_u8))  # numtorch's MNIST hands out uint8 tensors
    np.testing.assert_array_equal(same.numpy(), out.numpy())


def test_to_tensor_layout_hwc_to_chw():
    arr = np.random.default_rng(0).integers(0, 256, (4, 3, 2), dtype=np.uint8)  # H, W, C
    out = T.ToTensor()(arr).numpy()
    assert out.shape == (2, 4, 3)
    for c in range(2):
        np.testing.assert_array_equal(out[c], arr[:, :, c] / np.float32(255))
    assert out.flags.c_contiguous


def test_to_tensor_keeps_other_dtypes_unscaled():
    arr = np.array([[0.5, 2.0]], dtype=np.float64)
    out = T.ToTensor()(arr)
    assert str(out.dtype) == "torch.float64" and out.numpy().tolist() == [[[0.5, 2.0]]]
    ints = T.ToTensor()(np.array([[300, 7]], dtype=np.int32))
    assert str(ints.dtype) == "torch.int32" and ints.numpy().tolist() == [[[300, 7]]]


def test_to_tensor_errors():
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()([[1, 2]])
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional"):
        T.ToTensor()(np.zeros((1, 1, 1, 1), np.uint8))


def test_to_tensor_and_to_pil_image_with_pillow(img_u8):
    Image = pytest.importorskip("PIL.Image")
    pic = Image.fromarray(img_u8)
    out = T.ToTensor()(pic)
    np.testing.assert_array_equal(out.numpy()[0], img_u8 / np.float32(255))
    back = T.ToPILImage()(out)
    assert back.mode == "L" and back.size == (6, 5)
    np.testing.assert_array_equal(np.asarray(back), img_u8)


# ---------------------------------------------------------------------------- Normalize
def test_normalize_formula_per_channel():
    x = np.random.default_rng(1).random((3, 4, 5), dtype=np.float32)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    out = T.Normalize(mean, std)(tensor(x))
    m = np.array(mean, np.float32)[:, None, None]
    s = np.array(std, np.float32)[:, None, None]
    assert str(out.dtype) == "torch.float32"
    np.testing.assert_array_equal(out.numpy(), (x - m) / s)


def test_normalize_batch_and_single_value_broadcast():
    x = np.full((2, 1, 2, 2), 0.5, np.float32)
    out = T.Normalize((0.1307,), (0.3081,))(tensor(x)).numpy()
    expected = (np.float32(0.5) - np.float32(0.1307)) / np.float32(0.3081)
    assert out.shape == (2, 1, 2, 2) and np.all(out == expected)


def test_normalize_inplace_and_not():
    x = tensor(np.ones((1, 2, 2), np.float32))
    out = T.Normalize([0.5], [0.25])(x)
    assert out is not x and np.all(x.numpy() == 1.0) and np.all(out.numpy() == 2.0)
    version = x._version
    out = T.Normalize([0.5], [0.25], inplace=True)(x)
    assert out is x and np.all(x.numpy() == 2.0) and x._version == version + 1


def test_normalize_errors_and_repr():
    with pytest.raises(TypeError, match="Input tensor should be a float tensor"):
        T.Normalize([0.5], [0.5])(tensor(np.zeros((1, 2, 2), np.uint8)))
    with pytest.raises(ValueError, match=r"size \(..., C, H, W\)"):
        T.Normalize([0.5], [0.5])(tensor(np.zeros((2, 2), np.float32)))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize([0.5], [0.0])(tensor(np.zeros((1, 2, 2), np.float32)))
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.Normalize([0.5], [0.5])(np.zeros((1, 2, 2), np.float32))
    assert repr(T.Normalize((0.1307,), (0.3081,))) == "Normalize(mean=(0.1307,), std=(0.3081,))"


# ---------------------------------------------------------------------------- Pad
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding, widths", [
    (2, ((2, 2), (2, 2))),
    ((1, 3), ((3, 3), (1, 1))),  # (left/right, top/bottom)
    ([1, 2, 3, 4], ((2, 4), (1, 3))),  # (left, top, right, bottom)
    ((2,), ((2, 2), (2, 2))),
])
def test_pad_modes_match_numpy_pad(img_u8, mode, padding, widths):
    chw = np.stack([img_u8, img_u8[::-1]])
    out = T.Pad(padding, padding_mode=mode)(tensor(chw)).numpy()
    np.testing.assert_array_equal(out, np.pad(chw, ((0, 0),) + widths, mode=mode))
    hw = T.Pad(padding, padding_mode=mode)(img_u8)
    assert isinstance(hw, np.ndarray)
    np.testing.assert_array_equal(hw, np.pad(img_u8, widths, mode=mode))
    hwc = T.Pad(padding, padding_mode=mode)(chw.transpose(1, 2, 0))  # H×W×C array
    np.testing.assert_array_equal(hwc, np.pad(chw.transpose(1, 2, 0), widths + ((0, 0),),
                                              mode=mode))


def test_pad_reflect_and_symmetric_by_hand():
    row = tensor(np.array([[[1, 2, 3]]]))
    assert T.Pad((2, 0), padding_mode="reflect")(row).numpy().tolist() == [[[3, 2, 1, 2, 3, 2,
                                                                              1]]]
    assert T.Pad((2, 0), padding_mode="symmetric")(row).numpy().tolist() == [[[2, 1, 1, 2, 3, 3,
                                                                                2]]]
    assert T.Pad((1, 0), padding_mode="edge")(row).numpy().tolist() == [[[1, 1, 2, 3, 3]]]
    assert T.Pad((1, 0), fill=9)(row).numpy().tolist() == [[[9, 1, 2, 3, 9]]]


def test_pad_fill_per_channel_and_negative_padding(img_u8):
    chw = np.stack([img_u8, img_u8])
    out = T.Pad(1, fill=(5, 6))(tensor(chw)).numpy()
    assert out[0, 0, 0] == 5 and out[1, 0, 0] == 6
    np.testing.assert_array_equal(out[:, 1:-1, 1:-1], chw)
    cropped = T.Pad(-1)(tensor(chw)).numpy()
    np.testing.assert_array_equal(cropped, chw[:, 1:-1, 1:-1])


def test_pad_errors_and_repr():
    with pytest.raises(ValueError, match="Padding mode should be either"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(ValueError, match="not a 3 element tuple"):
        T.Pad((1, 2, 3))
    with pytest.raises(TypeError, match="Got inappropriate padding arg"):
        T.Pad("1")
    assert repr(T.Pad(2)) == "Pad(padding=2, fill=0, padding_mode=constant)"


# ---------------------------------------------------------------------------- Compose, Lambda
def test_compose_applies_in_order_and_repr():
    pipeline = T.Compose([T.Lambda(lambda x: x + 1), T.Lambda(lambda x: x * 2)])
    assert pipeline(3) == 8  # (3 + 1) * 2, not 3 * 2 + 1
    assert repr(T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])) == (
        "Compose(\n    ToTensor()\n    Normalize(mean=(0.5,), std=(0.5,))\n)")
    with pytest.raises(TypeError, match="Argument lambd should be callable"):
        T.Lambda(3)
    assert repr(T.Lambda(abs)) == "Lambda()"


# ---------------------------------------------------------------------------- crops and flips
def _find_window(big, small):
    h, w = small.shape[-2:]
    for i in range(big.shape[-2] - h + 1):
        for j in range(big.shape[-1] - w + 1):
            if np.array_equal(big[..., i:i + h, j:j + w], small):
                return i, j
    return None


def test_random_crop_windows_and_seed():
    img = np.arange(1, 1 + 8 * 8, dtype=np.float32).reshape(1, 8, 8)  # no zeros inside
    crop = T.RandomCrop(8, padding=2)
    padded = np.pad(img, ((0, 0), (2, 2), (2, 2)))
    offsets = set()
    numtorch.manual_seed(0)
    first = [crop(tensor(img)).numpy() for _ in range(40)]
    for out in first:
        assert out.shape == (1, 8, 8)
        offsets.add(_find_window(padded, out))
    assert None not in offsets and len(offsets) > 5
    numtorch.manual_seed(0)
    again = [crop(tensor(img)).numpy() for _ in range(40)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert T.RandomCrop((3, 5))(img[0]).shape == (3, 5)
    assert repr(crop) == "RandomCrop(size=(8, 8), padding=2)"


def test_random_crop_errors_and_pad_if_needed():
    with pytest.raises(ValueError, match=r"Required crop size \(10, 10\) is larger than input "
                                         r"image size \(8, 8\)"):
        T.RandomCrop(10)(np.zeros((8, 8), np.uint8))
    out = T.RandomCrop(10, pad_if_needed=True)(np.ones((8, 8), np.uint8))
    assert out.shape == (10, 10) and out.sum() == 64


def test_center_crop_and_flips(img_u8):
    np.testing.assert_array_equal(T.CenterCrop(3)(img_u8), img_u8[1:4, 2:5])
    np.testing.assert_array_equal(T.CenterCrop((5, 4))(tensor(img_u8)).numpy(), img_u8[:, 1:5])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(img_u8), img_u8[:, ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(img_u8), img_u8[::-1])
    assert T.RandomHorizontalFlip(p=0.0)(img_u8) is img_u8


# ---------------------------------------------------------------------------- rotation
@pytest.mark.parametrize("angle, k", [(90, 1), (-90, -1), (180, 2), (0, 0), (270, 3)])
def test_rotation_by_right_angles_is_rot90(angle, k):
    img = np.arange(36, dtype=np.uint8).reshape(1, 6, 6)
    out = T.RandomRotation((angle, angle))(tensor(img)).numpy()  # counter-clockwise
    np.testing.assert_array_equal(out, np.rot90(img, k, axes=(1, 2)))


def test_rotation_fill_expand_and_seed():
    ones = np.ones((1, 9, 9), np.float32)
    out = T.RandomRotation((45, 45), fill=0.5)(tensor(ones)).numpy()
    assert out[0, 0, 0] == 0.5 and out[0, 4, 4] == 1.0  # corners come from outside
    wide = np.arange(24, dtype=np.float32).reshape(4, 6)
    turned = T.RandomRotation((90, 90), expand=True)(wide)
    np.testing.assert_array_equal(turned, np.rot90(wide))
    ramp = np.arange(81, dtype=np.float32).reshape(1, 9, 9)
    numtorch.manual_seed(3)
    a = [T.RandomRotation(30)(tensor(ramp)).numpy() for _ in range(3)]
    numtorch.manual_seed(3)
    b = [T.RandomRotation(30)(tensor(ramp)).numpy() for _ in range(3)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], a[1])


def test_rotation_bilinear_small_angle_keeps_the_middle():
    img = np.ones((1, 5, 5), np.float32)
    out = T.RandomRotation((10, 10), interpolation=T.InterpolationMode.BILINEAR)(tensor(img))
    assert out.numpy()[0, 2, 2] == pytest.approx(1.0)
    assert str(out.dtype) == "torch.float32"


def test_rotation_errors_and_repr():
    with pytest.raises(ValueError, match="must be positive"):
        T.RandomRotation(-5)
    assert repr(T.RandomRotation(10)) == (
        "RandomRotation(degrees=[-10.0, 10.0], interpolation=nearest, expand=False, fill=0)")


# ---------------------------------------------------------------------------- resize
def test_resize_nearest_and_bilinear():
    img = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    up = T.Resize((4, 6), interpolation=T.InterpolationMode.NEAREST)(tensor(img)).numpy()
    np.testing.assert_array_equal(up, img.repeat(2, axis=1).repeat(2, axis=2))
    row = np.array([[[0.0, 4.0]]], np.float32)
    lin = T.Resize((1, 4))(tensor(row)).numpy()  # half-pixel centres: 0, 1, 3, 4
    np.testing.assert_allclose(lin, [[[0.0, 1.0, 3.0, 4.0]]])
    assert T.Resize(4, interpolation=T.InterpolationMode.NEAREST)(
        np.zeros((8, 16), np.uint8)).shape == (4, 8)
    # downscaling averages (antialias=True), plain bilinear samples between the two pixels
    np.testing.assert_allclose(T.Resize((1, 1))(tensor(row)).numpy(), [[[2.0]]])
    np.testing.assert_allclose(T.Resize((1, 1), antialias=False)(tensor(row)).numpy(), [[[2.0]]])


# ------------------------------------------------------------------ against torch's kernels
def _torchvision_rotate(torch, img, angle, mode, fill):
    """torchvision's tensor rotate, re-derived: inverse affine matrix → pixel grid → grid_sample."""
    _, h, w = img.shape
    rot = np.radians(-angle)
    theta = torch.tensor([[np.cos(rot), np.sin(rot), 0.0], [-np.sin(rot), np.cos(rot), 0.0]],
                         dtype=torch.float32).view(1, 2, 3)
    base = torch.ones(1, h, w, 3)
    base[..., 0] = torch.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, steps=w)
    base[..., 1] = torch.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, steps=h).unsqueeze(-1)
    grid = base.view(1, h * w, 3).bmm(theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h]))
    x = torch.cat([torch.from_numpy(img)[None], torch.ones(1, 1, h, w)], 1)
    out = torch.nn.functional.grid_sample(x, grid.view(1, h, w, 2), mode=mode,
                                          padding_mode="zeros", align_corners=False)
    out, mask = out[:, :-1], out[:, -1:]
    if mode == "nearest":
        return torch.where(mask < 0.5, torch.tensor(fill), out)[0].numpy()
    return (out * mask + (1 - mask) * fill)[0].numpy()


@pytest.mark.parametrize("shape", [(9, 9), (7, 12), (28, 28)])
@pytest.mark.parametrize("angle", [37.3, -12.0, 133.7])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_rotate_matches_torch_grid_sample(shape, angle, mode):
    torch = pytest.importorskip("torch")
    img = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    want = _torchvision_rotate(torch, img, angle, mode, 0.25)
    got = TF.rotate(tensor(img), angle, T.InterpolationMode(mode), fill=0.25).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("size", [(10, 15), (3, 4), (5, 7)])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_resize_matches_torch_interpolate(size, mode):
    torch = pytest.importorskip("torch")
    img = np.random.default_rng(1).random((2, 5, 6), dtype=np.float32)
    want = torch.nn.functional.interpolate(
        torch.from_numpy(img)[None], size=size, mode=mode,
        **({"align_corners": False} if mode == "bilinear" else {}))[0].numpy()
    got = T.Resize(size, interpolation=T.InterpolationMode(mode), antialias=False)(tensor(img))
    np.testing.assert_allclose(got.numpy(), want, atol=1e-6, rtol=0)
