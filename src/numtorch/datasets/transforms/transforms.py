"""Image transform classes (``torchvision.transforms.transforms``).

Images are tensors of shape ``(..., C, H, W)`` (or ``(H, W)``), NumPy arrays laid out as
``H×W`` or ``H×W×C`` (like the pixels of a PIL image), or PIL images when Pillow is installed.
A transform returns the same kind of image it was given; the work is done by
:mod:`.functional`.

As in torchvision, the transforms that work on tensors are :class:`numtorch.nn.Module` objects
(they can sit in an ``nn.Sequential``). Random transforms draw from numtorch's global
generator, so ``numtorch.manual_seed`` makes them repeatable. They draw their parameters in
torchvision's order, but numtorch's random stream is not PyTorch's: with the same seed the
crops, angles and factors differ from torchvision's (the distributions are the same).
"""

import math
import numbers
import random as pyrandom
from collections.abc import Sequence

import numpy as np

from ... import _dtype as dt
from ... import nn, random
from ..._tensor import Tensor
from ...utils.data import _random
from . import functional as F
from .functional import InterpolationMode, _size_pair

__all__ = [
    "CenterCrop", "ColorJitter", "Compose", "ConvertImageDtype", "GaussianBlur", "Grayscale",
    "InterpolationMode", "Lambda", "Normalize", "PILToTensor", "Pad", "RandomApply",
    "RandomChoice", "RandomCrop", "RandomErasing", "RandomGrayscale", "RandomHorizontalFlip",
    "RandomOrder", "RandomResizedCrop", "RandomRotation", "RandomVerticalFlip", "Resize",
    "ToPILImage", "ToTensor",
]


def _default_float():
    return dt.get_default_dtype()._np


def _uniform(low, high):
    """One draw of ``torch.empty(1).uniform_(low, high).item()`` from numtorch's generator."""
    return float(random.uniform(None, (1,), _default_float(), low, high)[0])


def _randint(low, high):
    """One draw of ``torch.randint(low, high, size=(1,)).item()``."""
    return int(random.random(None, (1,), np.int64, low, high)[0])


def _rand():
    """One draw of ``torch.rand(1)``."""
    return float(random.uniform(None, (1,), _default_float())[0])


def _log_ratio(ratio):
    """``torch.log(torch.tensor(ratio))``: the bounds of the log aspect ratio, in float32."""
    return np.log(np.asarray(ratio, dtype=_default_float()))


def _exp_uniform(log_ratio):
    """``torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()``."""
    low, high = float(log_ratio[0]), float(log_ratio[1])
    return float(np.exp(np.asarray(_uniform(low, high), _default_float())))


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


class RandomApply(nn.Module):
    """Apply the list of ``transforms`` together with probability ``p``."""

    def __init__(self, transforms, p=0.5):
        super().__init__()
        self.transforms = transforms
        self.p = p

    def forward(self, img):
        if self.p < _rand():
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        lines = [f"{self.__class__.__name__}(", f"    p={self.p}"]
        lines += [f"    {t}" for t in self.transforms]
        return "\n".join(lines) + "\n)"


class RandomChoice:
    """Apply one transform picked at random from ``transforms`` (weighted by ``p``)."""

    def __init__(self, transforms, p=None):
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence")
        if p is not None and not isinstance(p, Sequence):
            raise TypeError("Argument p should be a sequence")
        if p is not None and len(p) != len(transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: {len(p)} != "
                             f"{len(transforms)}")
        self.transforms = transforms
        self.p = p

    def __call__(self, *args):
        # torchvision draws from Python's random module here, not from torch's generator
        return pyrandom.choices(self.transforms, weights=self.p)[0](*args)

    def __repr__(self):
        lines = [f"{self.__class__.__name__}("] + [f"    {t}" for t in self.transforms]
        return "\n".join(lines) + f"\n)(p={self.p})"


class RandomOrder:
    """Apply ``transforms`` in a random order."""

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        order = list(range(len(self.transforms)))
        pyrandom.shuffle(order)  # (Python's random module, as torchvision's)
        for i in order:
            img = self.transforms[i](img)
        return img

    def __repr__(self):
        lines = [f"{self.__class__.__name__}("] + [f"    {t}" for t in self.transforms]
        return "\n".join(lines) + "\n)"


# ---------------------------------------------------------------------------- conversion
class ToTensor:
    """Convert an image to a tensor of shape ``C×H×W``; uint8 pixels are scaled to ``[0, 1]``.

    Accepts a NumPy array ``H×W`` or ``H×W×C``, a PIL image, or (unlike torchvision, since
    numtorch's MNIST yields tensors) a tensor ``H×W`` or ``C×H×W``. uint8 input becomes a
    tensor of the default float dtype divided by 255; other dtypes keep their values and dtype.
    """

    def __call__(self, pic):
        return F.to_tensor(pic)

    def __repr__(self):
        return f"{self.__class__.__name__}()"


class PILToTensor:
    """Convert a PIL image to a ``C×H×W`` tensor of its pixel dtype, without scaling."""

    def __call__(self, pic):
        return F.pil_to_tensor(pic)

    def __repr__(self):
        return f"{self.__class__.__name__}()"


class ConvertImageDtype(nn.Module):
    """Convert a tensor image to ``dtype``, rescaling its values (see
    :func:`functional.convert_image_dtype`)."""

    def __init__(self, dtype):
        super().__init__()
        self.dtype = dtype

    def forward(self, image):
        return F.convert_image_dtype(image, self.dtype)

    def __repr__(self):
        return f"{self.__class__.__name__}()"


class ToPILImage:
    """Convert a tensor ``C×H×W`` or an array ``H×W×C`` to a PIL image (needs Pillow).

    Float values are taken to be in ``[0, 1]`` and scaled by 255 (then truncated to uint8).
    """

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        return F.to_pil_image(pic, self.mode)

    def __repr__(self):
        mode = "" if self.mode is None else f"mode={self.mode}"
        return f"{self.__class__.__name__}({mode})"


class Normalize(nn.Module):
    """Normalize each channel: ``output[c] = (input[c] - mean[c]) / std[c]``.

    Args:
        mean (sequence): per-channel means.
        std (sequence): per-channel standard deviations.
        inplace (bool): write the result into the input tensor. Default: ``False``.

    The input is a float tensor ``(..., C, H, W)``; ``mean`` and ``std`` are converted to its
    dtype first, so float32 stays float32.
    """

    def __init__(self, mean, std, inplace=False):
        super().__init__()
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def forward(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self):
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


class Grayscale(nn.Module):
    """Convert an RGB image to grey, with ``num_output_channels`` (1 or 3) channels."""

    def __init__(self, num_output_channels=1):
        super().__init__()
        self.num_output_channels = num_output_channels

    def forward(self, img):
        return F.rgb_to_grayscale(img, num_output_channels=self.num_output_channels)

    def __repr__(self):
        return f"{self.__class__.__name__}(num_output_channels={self.num_output_channels})"


class RandomGrayscale(nn.Module):
    """Convert to grey with probability ``p``, keeping the number of channels."""

    def __init__(self, p=0.1):
        super().__init__()
        self.p = p

    def forward(self, img):
        num_output_channels = F.get_dimensions(img)[0]
        if _rand() < self.p:
            return F.rgb_to_grayscale(img, num_output_channels=num_output_channels)
        return img

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


# ---------------------------------------------------------------------------- padding, cropping
class Pad(nn.Module):
    """Pad an image on all sides.

    Args:
        padding (int or sequence): one value for all borders; ``(left/right, top/bottom)``; or
            ``(left, top, right, bottom)``.
        fill (number or tuple): pixel value for ``padding_mode='constant'``. Default: ``0``.
        padding_mode (str): ``'constant'``, ``'edge'``, ``'reflect'`` or ``'symmetric'``.
    """

    def __init__(self, padding, fill=0, padding_mode="constant"):
        super().__init__()
        if not isinstance(padding, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate padding arg")
        if not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate fill arg")
        if padding_mode not in F._PAD_MODES:
            raise ValueError(
                "Padding mode should be either constant, edge, reflect or symmetric")
        if isinstance(padding, Sequence) and len(padding) not in (1, 2, 4):
            raise ValueError(
                "Padding must be an int or a 1, 2, or 4 element tuple, not a "
                f"{len(padding)} element tuple")
        self.padding = padding
        self.fill = fill
        self.padding_mode = padding_mode

    def forward(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self):
        return (f"{self.__class__.__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


class CenterCrop(nn.Module):
    """Crop the centre ``size`` window (zero-padded if the image is smaller)."""

    def __init__(self, size):
        super().__init__()
        self.size = _size_pair(size)

    def forward(self, img):
        return F.center_crop(img, self.size)

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size})"


class RandomCrop(nn.Module):
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
        super().__init__()
        self.size = _size_pair(size)
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img, output_size):
        """``(top, left, height, width)`` of a random crop of ``output_size``."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(
                f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        i = _randint(0, h - th + 1)
        j = _randint(0, w - tw + 1)
        return i, j, th, tw

    def forward(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        if self.pad_if_needed and w < self.size[1]:
            img = F.pad(img, [self.size[1] - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < self.size[0]:
            img = F.pad(img, [0, self.size[0] - h], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"


class RandomResizedCrop(nn.Module):
    """Crop a random window of random area (``scale`` of the image) and aspect ratio
    (``ratio``), then resize it to ``size``.

    Args:
        size (int or sequence): ``(h, w)`` of the output (an int means a square).
        scale (tuple): range of the window's area as a fraction of the image's.
            Default: ``(0.08, 1.0)``.
        ratio (tuple): range of the window's aspect ratio (width / height), drawn uniformly in
            log space. Default: ``(3/4, 4/3)``.
        interpolation (InterpolationMode): Default: ``BILINEAR``.
        antialias (bool): antialias when downscaling tensors. Default: ``True``.
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        super().__init__()
        self.size = _size_pair(size)
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        self.interpolation = F._interpolation(interpolation)
        self.antialias = antialias
        self.scale = scale
        self.ratio = ratio

    @staticmethod
    def get_params(img, scale, ratio):
        """``(top, left, height, width)`` of a random window (10 tries, then a centre crop of
        the largest window with a ratio in range)."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = _log_ratio(ratio)
        for _ in range(10):
            target_area = area * _uniform(scale[0], scale[1])
            aspect_ratio = _exp_uniform(log_ratio)
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < w <= width and 0 < h <= height:
                i = _randint(0, height - h + 1)
                j = _randint(0, width - w + 1)
                return i, j, h, w
        in_ratio = float(width) / float(height)
        if in_ratio < min(ratio):
            w = width
            h = int(round(w / min(ratio)))
        elif in_ratio > max(ratio):
            h = height
            w = int(round(h * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def forward(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation,
                              antialias=self.antialias)

    def __repr__(self):
        return (f"{self.__class__.__name__}(size={self.size}, "
                f"scale={tuple(round(s, 4) for s in self.scale)}, "
                f"ratio={tuple(round(r, 4) for r in self.ratio)}, "
                f"interpolation={self.interpolation.value}, antialias={self.antialias})")


class RandomHorizontalFlip(nn.Module):
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, img):
        if _rand() < self.p:
            return F.hflip(img)
        return img

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror the image top-bottom with probability ``p``."""

    def forward(self, img):
        if _rand() < self.p:
            return F.vflip(img)
        return img


# ---------------------------------------------------------------------------- colour, blur
def _check_jitter(value, name, center=1, bound=(0, float("inf")), clip_first_on_zero=True):
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"If {name} is a single number, it must be non negative.")
        value = [center - float(value), center + float(value)]
        if clip_first_on_zero:
            value[0] = max(value[0], 0.0)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        value = [float(value[0]), float(value[1])]
    else:
        raise TypeError(f"{name} should be a single number or a list/tuple with length 2.")
    if not bound[0] <= value[0] <= value[1] <= bound[1]:
        raise ValueError(f"{name} values should be between {bound}, but got {value}.")
    if value[0] == value[1] == center:
        return None
    return tuple(value)


class ColorJitter(nn.Module):
    """Randomly change brightness, contrast, saturation and hue, in a random order.

    Args:
        brightness (float or (min, max)): a factor drawn from ``[max(0, 1 - b), 1 + b]`` or the
            given range.
        contrast (float or (min, max)): likewise.
        saturation (float or (min, max)): likewise.
        hue (float or (min, max)): a shift drawn from ``[-h, h]`` (``0 <= h <= 0.5``).
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        super().__init__()
        self.brightness = _check_jitter(brightness, "brightness")
        self.contrast = _check_jitter(contrast, "contrast")
        self.saturation = _check_jitter(saturation, "saturation")
        self.hue = _check_jitter(hue, "hue", center=0, bound=(-0.5, 0.5),
                                 clip_first_on_zero=False)

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        """The order of the four adjustments and their factors (``None`` where not used)."""
        fn_idx = Tensor._wrap(_random.randperm(4))
        b = None if brightness is None else _uniform(brightness[0], brightness[1])
        c = None if contrast is None else _uniform(contrast[0], contrast[1])
        s = None if saturation is None else _uniform(saturation[0], saturation[1])
        h = None if hue is None else _uniform(hue[0], hue[1])
        return fn_idx, b, c, s, h

    def forward(self, img):
        fn_idx, b, c, s, h = self.get_params(self.brightness, self.contrast, self.saturation,
                                             self.hue)
        for fn_id in fn_idx._data.tolist():
            if fn_id == 0 and b is not None:
                img = F.adjust_brightness(img, b)
            elif fn_id == 1 and c is not None:
                img = F.adjust_contrast(img, c)
            elif fn_id == 2 and s is not None:
                img = F.adjust_saturation(img, s)
            elif fn_id == 3 and h is not None:
                img = F.adjust_hue(img, h)
        return img

    def __repr__(self):
        return (f"{self.__class__.__name__}(brightness={self.brightness}, "
                f"contrast={self.contrast}, saturation={self.saturation}, hue={self.hue})")


class GaussianBlur(nn.Module):
    """Blur with a Gaussian of ``kernel_size`` whose sigma is drawn from ``sigma``
    (``(min, max)``, or one fixed value)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        super().__init__()
        self.kernel_size = _size_pair(kernel_size, "Kernel size should be a tuple/list of two "
                                                   "integers")
        for ks in self.kernel_size:
            if ks <= 0 or ks % 2 == 0:
                raise ValueError("Kernel size value should be an odd and positive number.")
        if isinstance(sigma, numbers.Number):
            if sigma <= 0:
                raise ValueError("If sigma is a single number, it must be positive.")
            sigma = (sigma, sigma)
        elif isinstance(sigma, Sequence) and len(sigma) == 2:
            if not 0.0 < sigma[0] <= sigma[1]:
                raise ValueError("sigma values should be positive and of the form (min, max).")
        else:
            raise ValueError("sigma should be a single number or a list/tuple with length 2.")
        self.sigma = sigma

    @staticmethod
    def get_params(sigma_min, sigma_max):
        """A sigma drawn uniformly from ``[sigma_min, sigma_max]``."""
        return _uniform(sigma_min, sigma_max)

    def forward(self, img):
        sigma = self.get_params(self.sigma[0], self.sigma[1])
        return F.gaussian_blur(img, self.kernel_size, [sigma, sigma])

    def __repr__(self):
        return f"{self.__class__.__name__}(kernel_size={self.kernel_size}, sigma={self.sigma})"


class RandomErasing(nn.Module):
    """With probability ``p``, erase a random rectangle of a tensor image (Zhong et al.).

    Args:
        p (float): probability of erasing. Default: ``0.5``.
        scale (tuple): range of the rectangle's area as a fraction of the image's.
        ratio (tuple): range of the rectangle's aspect ratio (drawn in log space).
        value (number, sequence or "random"): the fill; ``"random"`` fills with normal noise.
        inplace (bool): erase in the input tensor. Default: ``False``.
    """

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        super().__init__()
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError("Scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        if p < 0 or p > 1:
            raise ValueError("Random erasing probability should be between 0 and 1")
        self.p = p
        self.scale = scale
        self.ratio = ratio
        self.value = value
        self.inplace = inplace

    @staticmethod
    def get_params(img, scale, ratio, value=None):
        """``(i, j, h, w, v)``: the rectangle and its fill (the image itself when no rectangle
        fits in 10 tries)."""
        img_c, img_h, img_w = img.shape[-3], img.shape[-2], img.shape[-1]
        area = img_h * img_w
        log_ratio = _log_ratio(ratio)
        for _ in range(10):
            erase_area = area * _uniform(scale[0], scale[1])
            aspect_ratio = _exp_uniform(log_ratio)
            h = int(round(math.sqrt(erase_area * aspect_ratio)))
            w = int(round(math.sqrt(erase_area / aspect_ratio)))
            if not (h < img_h and w < img_w):
                continue
            if value is None:
                # torchvision: torch.empty([c, h, w], dtype=torch.float32).normal_()
                v = random.normal(None, (img_c, h, w), np.float32).astype(img._data.dtype)
            else:
                v = np.asarray(value, dtype=img._data.dtype)[:, None, None]
            i = _randint(0, img_h - h + 1)
            j = _randint(0, img_w - w + 1)
            return i, j, h, w, Tensor._wrap(v)
        return 0, 0, img_h, img_w, img

    def forward(self, img):
        if _rand() < self.p:
            if isinstance(self.value, (int, float)):
                value = [float(self.value)]
            elif isinstance(self.value, str):
                value = None
            elif isinstance(self.value, tuple):
                value = list(self.value)
            else:
                value = self.value
            if value is not None and len(value) not in (1, img.shape[-3]):
                raise ValueError(
                    "If value is a sequence, it should have either a single value or "
                    f"{img.shape[-3]} (number of input channels)")
            x, y, h, w, v = self.get_params(img, scale=self.scale, ratio=self.ratio,
                                            value=value)
            return F.erase(img, x, y, h, w, v, self.inplace)
        return img

    def __repr__(self):
        return (f"{self.__class__.__name__}(p={self.p}, scale={self.scale}, "
                f"ratio={self.ratio}, value={self.value}, inplace={self.inplace})")


# ---------------------------------------------------------------------------- geometry
class RandomRotation(nn.Module):
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
        super().__init__()
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError("If degrees is a single number, it must be positive.")
            degrees = [-degrees, degrees]
        elif not (isinstance(degrees, Sequence) and len(degrees) == 2):
            raise ValueError("If degrees is a sequence, it must be of len 2.")
        self.degrees = [float(d) for d in degrees]
        self.interpolation = F._interpolation(interpolation)
        self.expand = expand
        self.center = center
        self.fill = fill

    @staticmethod
    def get_params(degrees):
        """A random angle in ``[degrees[0], degrees[1]]``."""
        return _uniform(float(degrees[0]), float(degrees[1]))

    def forward(self, img):
        angle = self.get_params(self.degrees)
        fill = self.fill
        if isinstance(img, Tensor) and isinstance(fill, (int, float)):
            fill = [float(fill)] * F.get_dimensions(img)[0]
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, fill)

    def __repr__(self):
        s = (f"{self.__class__.__name__}(degrees={self.degrees}, "
             f"interpolation={self.interpolation.value}, expand={self.expand}")
        if self.center is not None:
            s += f", center={self.center}"
        if self.fill is not None:
            s += f", fill={self.fill}"
        return s + ")"


class Resize(nn.Module):
    """Resize to ``size``: ``(h, w)``, or an int to which the smaller edge is matched.

    See :func:`functional.resize`: PIL images are resized by Pillow, tensors resampled with
    half-pixel centres, antialiased when downscaling with ``antialias=True`` (the default).
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        super().__init__()
        if not isinstance(size, (int, Sequence)) and size is not None:
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size = size
        self.interpolation = F._interpolation(interpolation)
        self.max_size = max_size
        self.antialias = antialias

    def forward(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self):
        return (f"{self.__class__.__name__}(size={self.size}, "
                f"interpolation={self.interpolation.value}, max_size={self.max_size}, "
                f"antialias={self.antialias})")

