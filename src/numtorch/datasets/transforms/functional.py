"""Functional image transforms (``torchvision.transforms.functional``).

Each function takes a numtorch tensor ``(..., C, H, W)`` (or ``(H, W)``), a NumPy array laid
out ``H×W`` or ``H×W×C``, or a PIL image, and returns the same kind of image. PIL images go
through Pillow's own operations wherever torchvision uses them (resize, rotate, the colour
adjustments), so results match torchvision's PIL path; tensors and arrays go through NumPy
kernels written after torchvision's tensor path.
"""

import enum
import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from ... import _dtype as dt
from ..._tensor import Tensor

__all__ = [
    "InterpolationMode", "adjust_brightness", "adjust_contrast", "adjust_hue",
    "adjust_saturation", "center_crop", "convert_image_dtype", "crop", "erase",
    "gaussian_blur", "get_dimensions", "get_image_num_channels", "get_image_size", "hflip",
    "normalize", "pad", "pil_to_tensor", "resize", "resized_crop", "rgb_to_grayscale", "rotate",
    "to_grayscale", "to_pil_image", "to_tensor", "vflip",
]


class InterpolationMode(enum.Enum):
    """How pixel values between grid points are computed."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_FILTERS = {InterpolationMode.NEAREST: 0, InterpolationMode.LANCZOS: 1,
                InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3,
                InterpolationMode.BOX: 4, InterpolationMode.HAMMING: 5}


def _interpolation(mode):
    if isinstance(mode, int):  # Pillow's integer filter codes, as torchvision accepts
        for key, code in _PIL_FILTERS.items():
            if code == mode:
                return key
    return InterpolationMode(mode)


# ---------------------------------------------------------------------------- image plumbing
def _is_pil(img):
    return type(img).__module__.startswith("PIL.")


def _as_chw(img):
    """``(array laid out (..., H, W), rebuild)`` where ``rebuild(array)`` gives back img's kind."""
    if isinstance(img, Tensor):
        if img._data.ndim < 2:
            raise ValueError(f"Expected an image tensor with at least 2 dimensions, got "
                             f"{img._data.ndim}")
        return img._data, Tensor._wrap
    if _is_pil(img):
        from PIL import Image  # deferred: optional dependency (Pillow)

        arr = np.asarray(img)
        if arr.ndim == 2:
            return arr, lambda a: Image.fromarray(np.ascontiguousarray(a), mode=img.mode)
        return np.moveaxis(arr, -1, 0), lambda a: Image.fromarray(np.moveaxis(a, 0, -1))
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            return img, np.asarray
        if img.ndim == 3:
            return np.moveaxis(img, -1, 0), lambda a: np.ascontiguousarray(np.moveaxis(a, 0, -1))
        raise ValueError(f"pic should be 2/3 dimensional. Got {img.ndim} dimensions.")
    raise TypeError(f"img should be a Tensor, a NumPy array or a PIL Image. Got {type(img)}")


def _size_pair(size, name="size"):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"Please provide only two dimensions (h, w) for {name}.")


def _max_value(dtype):
    return float(np.iinfo(dtype).max) if dtype.kind in "iu" else 1.0


def get_dimensions(img):
    """``[channels, height, width]`` of an image."""
    if _is_pil(img):
        return [len(img.getbands()), img.height, img.width]
    arr, _ = _as_chw(img)
    if isinstance(img, Tensor):
        channels = 1 if arr.ndim == 2 else arr.shape[-3]
    else:
        channels = 1 if arr.ndim == 2 else arr.shape[0]
    return [channels, arr.shape[-2], arr.shape[-1]]


def get_image_size(img):
    """``[width, height]`` of an image."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img):
    """The number of channels of an image."""
    return get_dimensions(img)[0]


# ---------------------------------------------------------------------------- conversion
def to_tensor(pic):
    """A PIL image or ``H×W×C`` array as a ``C×H×W`` tensor; uint8 pixels are scaled to
    ``[0, 1]`` (other dtypes keep their values)."""
    if isinstance(pic, Tensor):  # numtorch's MNIST yields tensors; accepted as torchvision's
        arr = pic._data         # ToTensor accepts arrays
        if arr.ndim == 2:
            arr = arr[None]
        elif arr.ndim != 3:
            raise ValueError(f"pic should be 2/3 dimensional. Got {arr.ndim} dimensions.")
    else:
        if _is_pil(pic):
            arr = np.array(pic)
            if pic.mode == "1":
                arr = arr.astype(np.uint8) * 255
        elif isinstance(pic, np.ndarray):
            arr = pic
        else:
            raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
        if arr.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {arr.ndim} dimensions.")
        arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    if arr.dtype == np.uint8:
        out = arr.astype(dt.get_default_dtype()._np, order="C")
        out /= out.dtype.type(255)
        return Tensor._wrap(out)
    dt.from_numpy_dtype(arr.dtype)
    return Tensor._wrap(np.array(arr, order="C"))


def pil_to_tensor(pic):
    """A PIL image as a ``C×H×W`` tensor of its own pixel dtype (no scaling)."""
    if not _is_pil(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    if pic.mode == "1":
        arr = arr.astype(np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return Tensor._wrap(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def to_pil_image(pic, mode=None):
    """A ``C×H×W`` tensor or ``H×W×C`` array as a PIL image (needs Pillow); float values are
    taken to be in ``[0, 1]`` and scaled by 255 (then truncated to uint8)."""
    from PIL import Image  # deferred: optional dependency (Pillow)

    if isinstance(pic, Tensor):
        arr = pic._data
        if arr.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {arr.ndim} dimensions.")
        if arr.ndim == 2:
            arr = arr[None]
        arr = arr.transpose(1, 2, 0)
        if arr.dtype.kind == "f" and mode != "F":  # x * 255 truncated, wrapped as torch's byte()
            arr = ((arr * arr.dtype.type(255)).astype(np.int64) & 0xFF).astype(np.uint8)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if arr.shape[2] == 1:
        arr = arr[:, :, 0]
    image = Image.fromarray(np.ascontiguousarray(arr))
    return image if mode is None or image.mode == mode else image.convert(mode)


def convert_image_dtype(image, dtype=None):
    """Convert a tensor image to ``dtype`` (default float32), rescaling the values: floats live
    in ``[0, 1]``, integers in ``[0, max of the dtype]``."""
    if not isinstance(image, Tensor):
        raise TypeError("Input img should be Tensor Image")
    target = dt.float32 if dtype is None else dtype
    x = image._data
    out_np = np.dtype(target._np).type
    if x.dtype == out_np:
        return image
    if x.dtype.kind == "f":
        if np.dtype(out_np).kind == "f":
            return Tensor._wrap(x.astype(out_np))
        eps = 1e-3
        max_val = float(np.iinfo(out_np).max)
        return Tensor._wrap((x * x.dtype.type(max_val + 1.0 - eps)).astype(out_np))
    input_max = float(np.iinfo(x.dtype).max)
    if np.dtype(out_np).kind == "f":
        return Tensor._wrap((x.astype(out_np) / out_np(input_max)).astype(out_np))
    output_max = float(np.iinfo(out_np).max)
    if input_max > output_max:
        factor = int((input_max + 1) // (output_max + 1))
        return Tensor._wrap((x // factor).astype(out_np))
    factor = int((output_max + 1) // (input_max + 1))
    return Tensor._wrap(x.astype(out_np) * out_np(factor))


def normalize(tensor, mean, std, inplace=False):
    """Normalize each channel: ``output[c] = (input[c] - mean[c]) / std[c]``.

    The input is a float tensor ``(..., C, H, W)``; ``mean`` and ``std`` are converted to its
    dtype first, so float32 stays float32.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if tensor._data.dtype.kind != "f":
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor._data.ndim < 3:
        raise ValueError(
            "Expected tensor to be a tensor image of size (..., C, H, W). Got "
            f"tensor.size() = {tensor.size()}")
    x = tensor._data
    mean = np.asarray(mean, dtype=x.dtype)
    std = np.asarray(std, dtype=x.dtype)
    if (std == 0).any():
        raise ValueError(
            f"std evaluated to zero after conversion to {tensor.dtype}, leading to division "
            "by zero.")
    if mean.ndim == 1:
        mean = mean.reshape(-1, 1, 1)
    if std.ndim == 1:
        std = std.reshape(-1, 1, 1)
    if tensor._requires_grad:  # keep the graph: use tensor arithmetic
        return (tensor - Tensor._wrap(mean)) / Tensor._wrap(std)
    if not inplace:
        return Tensor._wrap((x - mean) / std)
    np.subtract(x, mean, out=x)
    np.divide(x, std, out=x)
    tensor._bump_version()
    return tensor


# ---------------------------------------------------------------------------- padding, cropping
_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _parse_padding(padding):
    """``(left, top, right, bottom)`` from an int or a 1-, 2- or 4-sequence."""
    if isinstance(padding, numbers.Number):
        p = int(padding)
        return p, p, p, p
    if len(padding) == 1:
        return (int(padding[0]),) * 4
    if len(padding) == 2:
        return int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])
    return tuple(int(p) for p in padding)


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad the last two (spatial) dimensions of ``img``; negative padding crops instead.

    ``padding_mode`` is ``'constant'`` (value ``fill``), ``'edge'`` (repeat the border pixel),
    ``'reflect'`` (mirror without repeating the border: ``[1,2,3] → [3,2,1,2,3]``) or
    ``'symmetric'`` (mirror repeating it: ``[1,2,3] → [2,1,1,2,3]``).
    """
    if padding_mode not in _PAD_MODES:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    arr, rebuild = _as_chw(img)
    left, top, right, bottom = _parse_padding(padding)
    h, w = arr.shape[-2:]
    arr = arr[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
    widths = [(0, 0)] * (arr.ndim - 2) + [(max(top, 0), max(bottom, 0)),
                                          (max(left, 0), max(right, 0))]
    if padding_mode == "constant":
        out = _pad_constant(arr, widths, fill)
    else:
        out = np.pad(arr, widths, mode=padding_mode)
    return rebuild(out)


def _pad_constant(arr, widths, fill):
    if isinstance(fill, (tuple, list)) and arr.ndim >= 3:  # one fill value per channel
        fill = np.asarray(fill, dtype=arr.dtype).reshape(-1, 1, 1)
        out = np.empty([s + a + b for s, (a, b) in zip(arr.shape, widths)], dtype=arr.dtype)
        out[...] = fill
        inner = tuple(slice(a, a + s) for s, (a, _) in zip(arr.shape, widths))
        out[inner] = arr
        return out
    if isinstance(fill, (tuple, list)):
        fill = fill[0]
    return np.pad(arr, widths, mode="constant", constant_values=np.asarray(fill, arr.dtype))


def crop(img, top, left, height, width):
    """The ``height×width`` window of ``img`` whose top-left corner is ``(top, left)``.

    Parts of the window outside the image are filled with zeros, as torchvision does.
    """
    arr, rebuild = _as_chw(img)
    h, w = arr.shape[-2:]
    bottom, right = top + height, left + width
    if top < 0 or left < 0 or bottom > h or right > w:
        widths = [(0, 0)] * (arr.ndim - 2) + [(max(-top, 0), max(bottom - h, 0)),
                                              (max(-left, 0), max(right - w, 0))]
        arr = np.pad(arr, widths)
        top, left = max(top, 0), max(left, 0)
    return rebuild(np.array(arr[..., top:top + height, left:left + width]))


def center_crop(img, output_size):
    """The centre ``output_size`` window (zero-padded where the image is smaller)."""
    th, tw = _size_pair(output_size)
    _, h, w = get_dimensions(img)
    if tw > w or th > h:
        padding = [(tw - w) // 2 if tw > w else 0, (th - h) // 2 if th > h else 0,
                   (tw - w + 1) // 2 if tw > w else 0, (th - h + 1) // 2 if th > h else 0]
        img = pad(img, padding, fill=0)
        _, h, w = get_dimensions(img)
        if tw == w and th == h:
            return img
    top = int(round((h - th) / 2.0))
    left = int(round((w - tw) / 2.0))
    return crop(img, top, left, th, tw)


def hflip(img):
    """Mirror the image left-right."""
    arr, rebuild = _as_chw(img)
    return rebuild(np.ascontiguousarray(arr[..., ::-1]))


def vflip(img):
    """Mirror the image top-bottom."""
    arr, rebuild = _as_chw(img)
    return rebuild(np.ascontiguousarray(arr[..., ::-1, :]))


# ---------------------------------------------------------------------------- resizing
def _output_size(h, w, size, max_size):
    """torchvision's rule: ``(h, w)`` as given, or the smaller edge matched to ``size``."""
    if size is None:
        if max_size is None:
            raise ValueError("max_size must be an integer when size is None")
        scale = max_size / max(h, w)
        return int(h * scale), int(w * scale)
    if isinstance(size, numbers.Number):
        size = [int(size)]
    if len(size) == 2:
        if max_size is not None:
            raise ValueError("max_size should only be passed if size specifies the length of "
                             "the smaller edge, i.e. size should be an int or a sequence of "
                             "length 1 in torchscript mode.")
        return int(size[0]), int(size[1])
    if len(size) != 1:
        raise ValueError("If size is a sequence, it should have 1 or 2 values")
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = int(size[0]), int(int(size[0]) * long / short)
    if max_size is not None:
        if max_size <= int(size[0]):
            raise ValueError(f"max_size = {max_size} must be strictly greater than the "
                             f"requested size for the smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


def _triangle(x):
    return np.clip(1.0 - np.abs(x), 0.0, None)


def _cubic(x, a):
    x = np.abs(x)
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))


def _resample_matrix(n_in, n_out, mode, antialias):
    """The ``n_out × n_in`` matrix of a 1-D resampling (half-pixel centres).

    With antialiasing when downscaling, the filter is widened by the scale (Pillow's and
    torch's ``antialias=True`` kernels: triangle for bilinear, Keys a=-0.5 for bicubic); without,
    plain interpolation (Keys a=-0.75 for bicubic, as ``interpolate``).
    """
    scale = n_in / n_out
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    if antialias:
        support = (1.0 if mode == InterpolationMode.BILINEAR else 2.0) * max(scale, 1.0)
        inv = 1.0 / scale if scale >= 1.0 else 1.0
        centers = scale * (rows + 0.5)
        for i, center in enumerate(centers):
            lo = max(int(center - support + 0.5), 0)
            hi = min(int(center + support + 0.5), n_in)
            x = (np.arange(lo, hi) - center + 0.5) * inv
            wts = _triangle(x) if mode == InterpolationMode.BILINEAR else _cubic(x, -0.5)
            total = wts.sum()
            m[i, lo:hi] = wts / total if total != 0 else wts
        return m
    src = (rows + 0.5) * scale - 0.5
    if mode == InterpolationMode.BILINEAR:
        src = np.maximum(src, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        frac = src - i0
        np.add.at(m, (rows, i0), 1.0 - frac)
        np.add.at(m, (rows, i1), frac)
        return m
    i0 = np.floor(src).astype(np.int64)
    t = src - i0
    for k in range(-1, 3):
        idx = np.clip(i0 + k, 0, n_in - 1)
        np.add.at(m, (rows, idx), _cubic(t - k, -0.75))
    return m


def _resize_array(arr, oh, ow, mode, antialias):
    h, w = arr.shape[-2:]
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        if mode == InterpolationMode.NEAREST:
            r = np.floor(np.arange(oh, dtype=np.float32) * np.float32(h / oh))
            c = np.floor(np.arange(ow, dtype=np.float32) * np.float32(w / ow))
        else:
            r = np.floor((np.arange(oh) + 0.5) * (h / oh))
            c = np.floor((np.arange(ow) + 0.5) * (w / ow))
        r = np.minimum(r.astype(np.int64), h - 1)
        c = np.minimum(c.astype(np.int64), w - 1)
        return np.array(arr[..., r[:, None], c[None, :]])
    if mode not in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
        raise ValueError(f"Input Tensor interpolation mode should be one of nearest, "
                         f"nearest-exact, bilinear, bicubic; got {mode.value} (only PIL images "
                         "support it)")
    work = np.float32 if arr.dtype.kind != "f" else arr.dtype
    my = _resample_matrix(h, oh, mode, antialias).astype(work)
    mx = _resample_matrix(w, ow, mode, antialias).astype(work)
    out = np.matmul(np.matmul(my, arr.astype(work, copy=False)), mx.T)
    if arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(arr.dtype)
    return out


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size``: ``(h, w)``, or an int (or 1-sequence) to which the smaller edge is
    matched, the longer edge capped at ``max_size``.

    PIL images are resized by Pillow (always antialiased). Tensors and arrays are resampled
    separably with half-pixel centres; ``antialias=True`` widens the filter when downscaling
    as torchvision does (bilinear and bicubic), uint8 results are rounded.
    """
    mode = _interpolation(interpolation)
    _, h, w = get_dimensions(img)
    oh, ow = _output_size(h, w, size, max_size)
    if (oh, ow) == (h, w):
        return img
    if _is_pil(img):
        if antialias is False:
            warnings.warn("Anti-alias option is always applied for PIL Image input. Argument "
                          "antialias is ignored.", stacklevel=2)
        if mode == InterpolationMode.NEAREST_EXACT:
            raise ValueError("NEAREST_EXACT is not supported for PIL images")
        return img.resize((ow, oh), _PIL_FILTERS[mode])
    arr, rebuild = _as_chw(img)
    return rebuild(_resize_array(arr, oh, ow, mode, antialias))


def resized_crop(img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR,
                 antialias=True):
    """Crop the window ``(top, left, height, width)`` and resize it to ``size``."""
    img = crop(img, top, left, height, width)
    return resize(img, size, interpolation, antialias=antialias)


# ---------------------------------------------------------------------------- colour
def _pil_enhance(img, name, factor):
    from PIL import ImageEnhance  # deferred: optional dependency (Pillow)

    return getattr(ImageEnhance, name)(img).enhance(factor)


def _blend(a, b, ratio):
    """``ratio * a + (1 - ratio) * b`` clamped to the range of ``a``'s dtype, in its dtype."""
    ratio = float(ratio)
    if a.dtype.kind == "f":
        out = a * a.dtype.type(ratio) + b * a.dtype.type(1.0 - ratio)
        return np.clip(out, 0.0, 1.0).astype(a.dtype, copy=False)
    out = np.float32(ratio) * a.astype(np.float32) + np.float32(1.0 - ratio) * b
    return np.clip(out, 0.0, _max_value(a.dtype)).astype(a.dtype)


def _check_tensor_channels(arr, allowed):
    c = 1 if arr.ndim == 2 else arr.shape[-3]
    if c not in allowed:
        raise TypeError(f"Input image tensor permitted channel values are {list(allowed)}, but "
                        f"found {c}")
    return c


def adjust_brightness(img, brightness_factor):
    """Scale the brightness: 0 gives black, 1 the original, 2 twice as bright."""
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    if _is_pil(img):
        return _pil_enhance(img, "Brightness", brightness_factor)
    arr, rebuild = _as_chw(img)
    _check_tensor_channels(arr, (1, 3))
    return rebuild(_blend(arr, np.zeros((), np.float32), brightness_factor))


def _gray(arr):
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` of ``(..., 3, H, W)``, kept as ``(..., 1, H, W)``
    in the input dtype (truncated for integers, as torchvision)."""
    work = arr.astype(np.float32) if arr.dtype.kind != "f" else arr
    r, g, b = work[..., 0:1, :, :], work[..., 1:2, :, :], work[..., 2:3, :, :]
    t = work.dtype.type
    return (t(0.2989) * r + t(0.587) * g + t(0.114) * b).astype(arr.dtype)


def adjust_contrast(img, contrast_factor):
    """Scale the contrast around the mean grey level: 0 gives a flat grey image."""
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    if _is_pil(img):
        return _pil_enhance(img, "Contrast", contrast_factor)
    arr, rebuild = _as_chw(img)
    c = _check_tensor_channels(arr, (1, 3))
    work = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)
    gray = _gray(arr) if c == 3 else arr
    mean = gray.astype(work).mean(axis=(-3, -2, -1), keepdims=True, dtype=work)
    return rebuild(_blend(arr, mean, contrast_factor))


def adjust_saturation(img, saturation_factor):
    """Scale the colour saturation: 0 gives a grey image, 1 the original."""
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    if _is_pil(img):
        return _pil_enhance(img, "Color", saturation_factor)
    arr, rebuild = _as_chw(img)
    c = _check_tensor_channels(arr, (1, 3))
    if c == 1:
        return img
    return rebuild(_blend(arr, _gray(arr), saturation_factor))


def _rgb_to_hsv(img):
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc, minc = img.max(axis=-3), img.min(axis=-3)
    same = maxc == minc
    cr = maxc - minc
    one = np.ones_like(maxc)
    s = cr / np.where(same, one, maxc)
    cr_div = np.where(same, one, cr)
    rc, gc, bc = (maxc - r) / cr_div, (maxc - g) / cr_div, (maxc - b) / cr_div
    t = img.dtype.type
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (t(2.0) + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (t(4.0) + gc - rc)
    h = np.fmod((hr + hg + hb) / t(6.0) + t(1.0), t(1.0))
    return np.stack((h, s, maxc), axis=-3)


def _hsv_to_rgb(img):
    h, s, v = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    t = img.dtype.type
    i = np.floor(h * t(6.0))
    f = h * t(6.0) - i
    i = i.astype(np.int32) % 6
    p = np.clip(v * (t(1.0) - s), 0.0, 1.0)
    q = np.clip(v * (t(1.0) - s * f), 0.0, 1.0)
    u = np.clip(v * (t(1.0) - s * (t(1.0) - f)), 0.0, 1.0)
    choices = [(v, u, p), (q, v, p), (p, v, u), (p, q, v), (u, p, v), (v, p, q)]
    out = np.empty(img.shape, img.dtype)
    for k in range(3):
        out[..., k, :, :] = np.choose(i, [c[k] for c in choices])
    return out


def adjust_hue(img, hue_factor):
    """Shift the hue by ``hue_factor`` turns of the colour wheel (in ``[-0.5, 0.5]``)."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if _is_pil(img):
        from PIL import Image  # deferred: optional dependency (Pillow)

        mode = img.mode
        if mode in {"L", "1", "I", "F"}:
            return img
        h, s, v = img.convert("HSV").split()
        np_h = np.array(h, dtype=np.uint8)
        with np.errstate(over="ignore"):  # the hue wraps around, as a uint8 does
            np_h += np.array(hue_factor * 255).astype(np.uint8)
        h = Image.fromarray(np_h, "L")
        return Image.merge("HSV", (h, s, v)).convert(mode)
    arr, rebuild = _as_chw(img)
    c = _check_tensor_channels(arr, (1, 3))
    if c == 1:
        return img
    work = arr if arr.dtype.kind == "f" else convert_image_dtype(Tensor._wrap(arr))._data
    hsv = _rgb_to_hsv(work)
    hsv[..., 0, :, :] = np.mod(hsv[..., 0, :, :] + work.dtype.type(hue_factor),
                               work.dtype.type(1.0))
    rgb = _hsv_to_rgb(hsv)
    if arr.dtype.kind != "f":
        rgb = convert_image_dtype(Tensor._wrap(rgb), dt.from_numpy_dtype(arr.dtype))._data
    return rebuild(rgb)


def rgb_to_grayscale(img, num_output_channels=1):
    """The grey version of an RGB image, with 1 or 3 (equal) channels."""
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if _is_pil(img):
        from PIL import Image  # deferred: optional dependency (Pillow)

        gray = img.convert("L")
        return gray if num_output_channels == 1 else Image.merge("RGB", [gray] * 3)
    arr, rebuild = _as_chw(img)
    c = _check_tensor_channels(arr, (1, 3))
    gray = _gray(arr) if c == 3 else np.array(arr if arr.ndim > 2 else arr[None])
    if num_output_channels == 3:
        gray = np.repeat(gray, 3, axis=-3)
    if not isinstance(img, Tensor) and gray.ndim == 3 and gray.shape[0] == 1:
        return rebuild(gray[0])  # an H×W array stays two-dimensional
    return rebuild(gray)


def to_grayscale(img, num_output_channels=1):
    """The grey version of a PIL image (see :func:`rgb_to_grayscale`)."""
    if not _is_pil(img):
        raise TypeError(f"Input should be PIL Image. Got {type(img)}")
    return rgb_to_grayscale(img, num_output_channels)


# ---------------------------------------------------------------------------- blur, erase
def _gaussian_kernel1d(size, sigma, dtype):
    half = (size - 1) * 0.5
    x = np.linspace(-half, half, size, dtype=dtype)
    pdf = np.exp(dtype.type(-0.5) * (x / dtype.type(sigma)) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a ``kernel_size`` Gaussian (odd, positive sizes; ``sigma`` defaults to
    ``0.3 * ((k - 1) * 0.5 - 1) + 0.8``); borders are reflected."""
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(f"kernel_size should be int or a sequence of integers. Got "
                        f"{type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got "
                         f"{len(kernel_size)}")
    for ksize in kernel_size:
        if ksize % 2 == 0 or ksize < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got "
                             f"{kernel_size}")
    if sigma is None:
        sigma = [ksize * 0.15 + 0.35 for ksize in kernel_size]
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got "
                        f"{type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if isinstance(sigma, (list, tuple)) and len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    if _is_pil(img):
        return to_pil_image(gaussian_blur(pil_to_tensor(img), kernel_size, sigma),
                            mode=img.mode)
    arr, rebuild = _as_chw(img)
    work = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)
    kx = _gaussian_kernel1d(kernel_size[0], sigma[0], work)
    ky = _gaussian_kernel1d(kernel_size[1], sigma[1], work)
    px, py = kernel_size[0] // 2, kernel_size[1] // 2
    h, w = arr.shape[-2:]
    if px >= w or py >= h:
        raise RuntimeError(f"Padding size should be less than the corresponding input "
                           f"dimension, but got: padding ({px}, {px}) at dimension "
                           f"{arr.ndim - 1} of input {list(arr.shape)}")
    x = arr.astype(work, copy=False)
    x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(py, py), (px, px)], mode="reflect")
    kernel = np.outer(ky, kx)
    win = np.lib.stride_tricks.sliding_window_view(x, kernel.shape, axis=(-2, -1))
    out = np.tensordot(win, kernel, axes=([-2, -1], [0, 1])).astype(work, copy=False)
    if arr.dtype.kind != "f":
        info = np.iinfo(arr.dtype)
        out = np.clip(np.rint(out), info.min, info.max).astype(arr.dtype)
    return rebuild(out)


def erase(img, i, j, h, w, v, inplace=False):
    """Set the ``h×w`` window at ``(i, j)`` of a tensor image to ``v``."""
    if not isinstance(img, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    value = v._data if isinstance(v, Tensor) else np.asarray(v)
    if inplace:
        img._data[..., i:i + h, j:j + w] = value
        img._bump_version()
        return img
    out = np.array(img._data)
    out[..., i:i + h, j:j + w] = value
    return Tensor._wrap(out)


# ---------------------------------------------------------------------------- geometry
# ---------------------------------------------------------------------------- geometry
def _sample(arr, rows, cols, mode, fill):
    """Sample ``arr`` (..., H, W) at fractional pixel coordinates ``rows``/``cols`` (oh×ow).

    Points outside the image get ``fill`` (None: 0). Bilinear sampling blends towards ``fill``
    with the interpolated in-image weight, as torchvision's ``grid_sample`` + mask does.
    """
    h, w = arr.shape[-2:]
    work = arr.astype(np.float32) if arr.dtype.kind != "f" else arr
    if mode == InterpolationMode.NEAREST:
        r, c = np.rint(rows).astype(np.int64), np.rint(cols).astype(np.int64)
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        out = work[..., np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)]
        mask = inside.astype(work.dtype)
        out = out * mask
    else:
        r0, c0 = np.floor(rows), np.floor(cols)
        fr, fc = (rows - r0).astype(work.dtype), (cols - c0).astype(work.dtype)
        r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
        out = np.zeros(arr.shape[:-2] + rows.shape, dtype=work.dtype)
        mask = np.zeros(rows.shape, dtype=work.dtype)
        for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1)):
            rr, cc = r0 + dr, c0 + dc
            wgt = (fr if dr else 1 - fr) * (fc if dc else 1 - fc)
            ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            wgt = wgt * ok
            out += work[..., np.clip(rr, 0, h - 1), np.clip(cc, 0, w - 1)] * wgt
            mask += wgt
    if fill is not None:
        fill_arr = np.asarray(fill, dtype=work.dtype)
        if fill_arr.ndim == 1 and out.ndim >= 3:
            fill_arr = fill_arr.reshape(-1, 1, 1)
        if mode == InterpolationMode.NEAREST:
            out = np.where(mask < 0.5, fill_arr, out)
        else:
            out = out * mask + (1 - mask) * fill_arr
    if arr.dtype.kind != "f":
        out = np.rint(out) if arr.dtype != np.bool_ else out
        return out.astype(arr.dtype)
    return out.astype(arr.dtype, copy=False)


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
           fill=None):
    """Rotate ``img`` by ``angle`` degrees counter-clockwise about ``center`` (default: middle).

    Output pixel centres are mapped back into the input (pixel centres at integer coordinates)
    and sampled there; pixels from outside the input get ``fill`` (None: 0). With ``expand``
    the output grows to hold the whole rotated image.
    """
    mode = _interpolation(interpolation)
    if _is_pil(img):
        return img.rotate(angle, resample=_PIL_FILTERS[mode], expand=expand, center=center,
                          fillcolor=_pil_fill(img, fill))
    if mode not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise ValueError(f"Interpolation mode '{mode.value}' is unsupported with Tensor input")
    arr, rebuild = _as_chw(img)
    h, w = arr.shape[-2:]
    cx, cy = (0.0, 0.0) if center is None else (center[0] - w * 0.5, center[1] - h * 0.5)
    theta = math.radians(angle)
    cos, sin = math.cos(theta), math.sin(theta)
    # Inverse map (output → input), in coordinates relative to the image centre.
    m = [cos, -sin, 0.0, sin, cos, 0.0]
    m[2] = m[0] * -cx + m[1] * -cy + cx
    m[5] = m[3] * -cx + m[4] * -cy + cy
    oh, ow = (h, w) if not expand else _expanded_size(m, w, h)
    xs = np.arange(ow, dtype=np.float64) + 0.5 - ow * 0.5
    ys = np.arange(oh, dtype=np.float64) + 0.5 - oh * 0.5
    x, y = np.meshgrid(xs, ys)
    cols = m[0] * x + m[1] * y + m[2] + (w - 1) * 0.5
    rows = m[3] * x + m[4] * y + m[5] + (h - 1) * 0.5
    return rebuild(_sample(arr, rows, cols, mode, fill))


def _expanded_size(m, w, h):
    """(oh, ow) of the box holding the image's corners under ``m`` (torchvision's recipe)."""
    corners = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                        [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]])
    pts = corners @ np.array(m, dtype=np.float64).reshape(2, 3).T + [0.5 * w, 0.5 * h]
    tol = 1e-4
    hi = np.ceil(np.trunc(pts.max(0) / tol) * tol)
    lo = np.floor(np.trunc(pts.min(0) / tol) * tol)
    size = hi - lo
    return int(size[1]), int(size[0])



def _pil_fill(img, fill):
    """``fill`` as Pillow's ``fillcolor`` for ``img``: one value a band, ints for int modes."""
    if fill is None:
        return None
    bands = len(img.getbands())
    values = list(fill) if isinstance(fill, (list, tuple)) else [fill] * bands
    if len(values) == 1:
        values = values * bands
    if len(values) != bands:
        raise ValueError(f"The number of elements in 'fill' does not match the number of bands "
                         f"of the image ({len(values)} != {bands})")
    cast = float if img.mode == "F" else int
    values = tuple(cast(v) for v in values)
    return values[0] if bands == 1 else values
