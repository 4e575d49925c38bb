"""Image transforms (``torchvision.transforms``) for numtorch tensors and NumPy arrays.

Images are tensors of shape ``(..., C, H, W)`` (or ``(H, W)``), NumPy arrays laid out as
``H×W`` or ``H×W×C`` (like the pixels of a PIL image), or PIL images when Pillow is installed.
A transform returns the same kind of image it was given. Random transforms draw from numtorch's
global generator, so ``numtorch.manual_seed`` makes them repeatable.
"""

import enum
import math
import numbers
from collections.abc import Sequence

import numpy as np

from .. import _dtype as dt
from .._tensor import Tensor
from ..utils.data import _random

__all__ = [
    "CenterCrop", "Compose", "InterpolationMode", "Lambda", "Normalize", "Pad",
    "RandomCrop", "RandomHorizontalFlip", "RandomRotation", "RandomVerticalFlip", "Resize",
    "ToPILImage", "ToTensor",
]


class InterpolationMode(enum.Enum):
    """How pixel values between grid points are computed."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"


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
        from PIL import Image

        arr = np.asarray(img)
        if arr.ndim == 2:
            return arr, Image.fromarray
        return np.moveaxis(arr, -1, 0), lambda a: Image.fromarray(np.moveaxis(a, 0, -1))
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            return img, np.asarray
        if img.ndim == 3:
            return np.moveaxis(img, -1, 0), lambda a: np.ascontiguousarray(np.moveaxis(a, 0, -1))
        raise ValueError(f"pic should be 2/3 dimensional. Got {img.ndim} dimensions.")
    raise TypeError(f"img should be a Tensor, a NumPy array or a PIL Image. Got {type(img)}")


def _rng():
    return _random.numpy_rng(None)


def _size_pair(size, name="size"):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"Please provide only two dimensions (h, w) for {name}.")


# ---------------------------------------------------------------------------- composition
class Compose:
    """Apply ``transforms`` one after the other.

    Example::

        >>> transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    """

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        lines = [f"{self.__class__.__name__}("] + [f"    {t}" for t in self.transforms]
        return "\n".join(lines) + "\n)"


class Lambda:
    """Use a user function as a transform."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{self.__class__.__name__}()"


# ---------------------------------------------------------------------------- conversion
class ToTensor:
    """Convert an image to a tensor of shape ``C×H×W``; uint8 pixels are scaled to ``[0, 1]``.

    Accepts a NumPy array ``H×W`` or ``H×W×C``, a PIL image, or (unlike torchvision, since
    numtorch's MNIST yields tensors) a tensor ``H×W`` or ``C×H×W``. uint8 input becomes a
    tensor of the default float dtype divided by 255; other dtypes keep their values and dtype.
    """

    def __call__(self, pic):
        if isinstance(pic, Tensor):
            arr = pic._data
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

    def __repr__(self):
        return f"{self.__class__.__name__}()"


class ToPILImage:
    """Convert a tensor ``C×H×W`` or an array ``H×W×C`` to a PIL image (needs Pillow).

    Float values are taken to be in ``[0, 1]`` and scaled by 255 (then truncated to uint8).
    """

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        from PIL import Image

        if isinstance(pic, Tensor):
            arr = pic._data
            if arr.ndim == 2:
                arr = arr[None]
            arr = arr.transpose(1, 2, 0)
        elif isinstance(pic, np.ndarray):
            arr = pic[:, :, None] if pic.ndim == 2 else pic
        else:
            raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
        if arr.dtype.kind == "f":
            arr = (arr * 255).astype(np.uint8)
        if arr.shape[2] == 1:
            arr = arr[:, :, 0]
        pic = Image.fromarray(np.ascontiguousarray(arr))
        return pic if self.mode is None else pic.convert(self.mode)

    def __repr__(self):
        mode = "" if self.mode is None else f"mode={self.mode}"
        return f"{self.__class__.__name__}({mode})"


class Normalize:
    """Normalize each channel: ``output[c] = (input[c] - mean[c]) / std[c]``.

    Args:
        mean (sequence): per-channel means.
        std (sequence): per-channel standard deviations.
        inplace (bool): write the result into the input tensor. Default: ``False``.

    The input is a float tensor ``(..., C, H, W)``; ``mean`` and ``std`` are converted to its
    dtype first, so float32 stays float32.
    """

    def __init__(self, mean, std, inplace=False):
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
        if tensor._data.dtype.kind != "f":
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor._data.ndim < 3:
            raise ValueError(
                "Expected tensor to be a tensor image of size (..., C, H, W). Got "
                f"tensor.size() = {tensor.size()}")
        x = tensor._data
        mean = np.asarray(self.mean, dtype=x.dtype)
        std = np.asarray(self.std, dtype=x.dtype)
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
        if not self.inplace:
            return Tensor._wrap((x - mean) / std)
        np.subtract(x, mean, out=x)
        np.divide(x, std, out=x)
        tensor._bump_version()
        return tensor

    def __repr__(self):
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


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


class Pad:
    """Pad an image on all sides.

    Args:
        padding (int or sequence): one value for all borders; ``(left/right, top/bottom)``; or
            ``(left, top, right, bottom)``.
        fill (number or tuple): pixel value for ``padding_mode='constant'``. Default: ``0``.
        padding_mode (str): ``'constant'``, ``'edge'``, ``'reflect'`` or ``'symmetric'``.
    """

    def __init__(self, padding, fill=0, padding_mode="constant"):
        if not isinstance(padding, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate padding arg")
        if not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate fill arg")
        if padding_mode not in _PAD_MODES:
            raise ValueError(
                "Padding mode should be either constant, edge, reflect or symmetric")
        if isinstance(padding, Sequence) and len(padding) not in (1, 2, 4):
            raise ValueError(
                "Padding must be an int or a 1, 2, or 4 element tuple, not a "
                f"{len(padding)} element tuple")
        self.padding = padding
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, img):
        return pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self):
        return (f"{self.__class__.__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


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


def _spatial_size(img):
    arr, _ = _as_chw(img)
    return arr.shape[-2:]


class CenterCrop:
    """Crop the centre ``size`` window (zero-padded if the image is smaller)."""

    def __init__(self, size):
        self.size = _size_pair(size)

    def __call__(self, img):
        h, w = _spatial_size(img)
        th, tw = self.size
        top = int(round((h - th) / 2.0))
        left = int(round((w - tw) / 2.0))
        return crop(img, top, left, th, tw)

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size})"


class RandomCrop:
    """Crop a random ``size`` window, after optional padding.

    Args:
        size (int or sequence): ``(h, w)`` of the crop (an int means a square).
        padding (int or sequence, optional): padding applied first (see :class:`Pad`).
        pad_if_needed (bool): pad the image when it is smaller than ``size``.
        fill (number or tuple): pixel value for constant padding.
        padding_mode (str): as for :class:`Pad`.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0,
                 padding_mode="constant"):
        self.size = _size_pair(size)
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img, output_size):
        """``(top, left, height, width)`` of a random crop of ``output_size``."""
        h, w = _spatial_size(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(
                f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        rng = _rng()
        i = int(rng.integers(0, h - th + 1))
        j = int(rng.integers(0, w - tw + 1))
        return i, j, th, tw

    def __call__(self, img):
        if self.padding is not None:
            img = pad(img, self.padding, self.fill, self.padding_mode)
        h, w = _spatial_size(img)
        if self.pad_if_needed and w < self.size[1]:
            img = pad(img, [self.size[1] - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < self.size[0]:
            img = pad(img, [0, self.size[0] - h], self.fill, self.padding_mode)
        return crop(img, *self.get_params(img, self.size))

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        if _rng().random() < self.p:
            arr, rebuild = _as_chw(img)
            return rebuild(np.ascontiguousarray(arr[..., ::-1]))
        return img

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror the image top-bottom with probability ``p``."""

    def __call__(self, img):
        if _rng().random() < self.p:
            arr, rebuild = _as_chw(img)
            return rebuild(np.ascontiguousarray(arr[..., ::-1, :]))
        return img


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
    mode = InterpolationMode(interpolation)
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


class RandomRotation:
    """Rotate by a random angle drawn uniformly from ``degrees``.

    Args:
        degrees (number or sequence): ``(min, max)`` in degrees; a number ``d`` means
            ``(-d, +d)``.
        interpolation (InterpolationMode): ``NEAREST`` (default) or ``BILINEAR``.
        expand (bool): enlarge the output to hold the whole rotated image.
        center (sequence, optional): ``(x, y)`` centre of rotation; default the image centre.
        fill (number or sequence): value of pixels from outside the image. Default: ``0``.
    """

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False,
                 center=None, fill=0):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError("If degrees is a single number, it must be positive.")
            degrees = [-degrees, degrees]
        elif not (isinstance(degrees, Sequence) and len(degrees) == 2):
            raise ValueError("If degrees is a sequence, it must be of len 2.")
        self.degrees = [float(d) for d in degrees]
        self.interpolation = InterpolationMode(interpolation)
        self.expand = expand
        self.center = center
        self.fill = fill

    @staticmethod
    def get_params(degrees):
        """A random angle in ``[degrees[0], degrees[1]]``."""
        return float(_rng().uniform(float(degrees[0]), float(degrees[1])))

    def __call__(self, img):
        angle = self.get_params(self.degrees)
        return rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)

    def __repr__(self):
        s = (f"{self.__class__.__name__}(degrees={self.degrees}, "
             f"interpolation={self.interpolation.value}, expand={self.expand}")
        if self.center is not None:
            s += f", center={self.center}"
        if self.fill is not None:
            s += f", fill={self.fill}"
        return s + ")"


class Resize:
    """Resize to ``size``: ``(h, w)``, or an int to which the smaller edge is matched.

    ``NEAREST`` picks source pixel ``floor(i * in / out)``; ``BILINEAR`` interpolates with
    half-pixel centres (``align_corners=False``). Bilinear *down*-scaling with ``antialias=True``
    (torchvision's default) is not implemented: pass ``antialias=False`` to get plain bilinear.
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        self.size = size
        self.interpolation = InterpolationMode(interpolation)
        self.max_size = max_size
        self.antialias = antialias

    def _output_size(self, h, w):
        size = self.size
        if isinstance(size, Sequence) and len(size) == 2:
            return int(size[0]), int(size[1])
        short_req = int(size if isinstance(size, numbers.Number) else size[0])
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = short_req, int(short_req * long / short)
        if self.max_size is not None and new_long > self.max_size:
            new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)

    def __call__(self, img):
        arr, rebuild = _as_chw(img)
        h, w = arr.shape[-2:]
        oh, ow = self._output_size(h, w)
        if self.interpolation == InterpolationMode.NEAREST:
            r = np.minimum(np.floor(np.arange(oh) * (h / oh)).astype(np.int64), h - 1)
            c = np.minimum(np.floor(np.arange(ow) * (w / ow)).astype(np.int64), w - 1)
            return rebuild(np.array(arr[..., r[:, None], c[None, :]]))
        if self.antialias and (oh < h or ow < w):
            raise NotImplementedError(
                "Resize: bilinear downscaling with antialias=True is not implemented; pass "
                "antialias=False")
        rows = np.maximum((np.arange(oh) + 0.5) * (h / oh) - 0.5, 0)
        cols = np.maximum((np.arange(ow) + 0.5) * (w / ow) - 0.5, 0)
        rows = np.minimum(rows, h - 1)[:, None] * np.ones((1, ow))
        cols = np.minimum(cols, w - 1)[None, :] * np.ones((oh, 1))
        return rebuild(_sample(arr, rows, cols, InterpolationMode.BILINEAR, None))

    def __repr__(self):
        return (f"{self.__class__.__name__}(size={self.size}, "
                f"interpolation={self.interpolation.value}, max_size={self.max_size}, "
                f"antialias={self.antialias})")


# ---------------------------------------------------------------------------- whole batches
def _to_tensor_batch(x):
    """ToTensor on a batch ``(B, H, W)`` of uint8 tensors: ``(B, 1, H, W)``, same values."""
    out = x._data[:, None].astype(dt.get_default_dtype()._np, order="C")
    out /= out.dtype.type(255)
    return Tensor._wrap(out)


def _batched(transform):
    """A function applying ``transform`` to a stacked batch of ``H×W`` uint8 image tensors with
    exactly the per-sample results, or None when ``transform`` is not known to allow that.

    Recognised: ``None``, ``ToTensor()``, ``Compose([ToTensor(), Normalize(...), ...])``.
    Used by datasets to hand the DataLoader a whole collated batch at once.
    """
    if transform is None:
        return lambda x: x
    if type(transform) is ToTensor:
        return _to_tensor_batch
    if type(transform) is Compose:
        steps = list(transform.transforms)
        if not steps or type(steps[0]) is not ToTensor:
            return None
        if not all(type(t) is Normalize for t in steps[1:]):
            return None

        def run(x):
            x = _to_tensor_batch(x)
            for t in steps[1:]:
                x = t(x)
            return x

        return run
    return None
