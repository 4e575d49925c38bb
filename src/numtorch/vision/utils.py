"""Image grids and image files (``torchvision.utils``)."""

import math
import pathlib

import numpy as np

from .._tensor import Tensor

__all__ = ["make_grid", "save_image", "draw_bounding_boxes"]


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):
    """Make a grid of images.

    Args:
        tensor (Tensor or list): 4D mini-batch Tensor of shape (B x C x H x W)
            or a list of images all of the same size.
        nrow (int, optional): Number of images displayed in each row of the grid.
            The final grid size is ``(B / nrow, nrow)``. Default: ``8``.
        padding (int, optional): amount of padding. Default: ``2``.
        normalize (bool, optional): If True, shift the image to the range (0, 1),
            by the min and max values specified by ``value_range``. Default: ``False``.
        value_range (tuple, optional): tuple (min, max) where min and max are numbers,
            then these numbers are used to normalize the image. By default, min and max
            are computed from the tensor.
        scale_each (bool, optional): If ``True``, scale each image in the batch of
            images separately rather than the (min, max) over all images. Default: ``False``.
        pad_value (float, optional): Value for the padded pixels. Default: ``0``.

    Returns:
        grid (Tensor): the tensor containing grid of images.

    The grid is built from the pixel values: it does not record a gradient.
    """
    if isinstance(tensor, list):
        for t in tensor:
            if not isinstance(t, Tensor):
                raise TypeError(f"tensor or list of tensors expected, got a list containing "
                                f"{type(t)}")
        if not tensor:
            raise RuntimeError("stack expects a non-empty TensorList")
        shapes = {tuple(t.shape) for t in tensor}
        if len(shapes) > 1:
            raise RuntimeError("stack expects each tensor to be equal size")
        arr = np.stack([t._data for t in tensor])
    elif isinstance(tensor, Tensor):
        arr = tensor._data
    else:
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")

    if arr.ndim == 2:  # one H x W image
        arr = arr[None]
    if arr.ndim == 3:  # one C x H x W image; a single channel is shown as grey RGB
        if arr.shape[0] == 1:
            arr = np.concatenate([arr] * 3, 0)
        arr = arr[None]
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = np.concatenate([arr] * 3, 1)

    if normalize is True:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max "
                            "are numbers")
        arr = np.array(arr)  # the caller's tensor stays as it is
        parts = list(arr) if scale_each is True else [arr]
        for part in parts:
            if value_range is not None:
                low, high = value_range
            else:
                low, high = float(part.min()), float(part.max())
            _normalize_into(part, low, high)

    if arr.shape[0] == 1:
        return Tensor._wrap(np.array(arr[0]))

    nmaps = arr.shape[0]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(arr.shape[2] + padding), int(arr.shape[3] + padding)
    grid = np.full((arr.shape[1], height * ymaps + padding, width * xmaps + padding), pad_value,
                   dtype=arr.dtype)
    for k in range(nmaps):
        y, x = divmod(k, xmaps)
        top, left = y * height + padding, x * width + padding
        grid[:, top:top + height - padding, left:left + width - padding] = arr[k]
    return Tensor._wrap(grid)


def _normalize_into(arr, low, high):
    """Clamp ``arr`` to ``[low, high]`` and map that range to ``[0, 1]``, in place, in its dtype."""
    np.clip(arr, low, high, out=arr, casting="unsafe")
    scale = max(high - low, 1e-5)
    if arr.dtype.kind == "f":
        arr -= arr.dtype.type(low)
        arr /= arr.dtype.type(scale)
    else:  # integer images: torch's in-place ops keep the integer dtype
        np.subtract(arr, low, out=arr, casting="unsafe")
        np.floor_divide(arr, scale, out=arr, casting="unsafe")


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("save_image needs Pillow to write image files: pip install pillow") \
            from None
    return Image


def save_image(tensor, fp, format=None, **kwargs):
    """Save a given Tensor into an image file.

    Args:
        tensor (Tensor or list): Image to be saved. If given a mini-batch tensor,
            saves the tensor as a grid of images by calling ``make_grid``.
        fp (string or file object): A filename or a file object
        format(Optional):  If omitted, the format to use is determined from the filename
            extension. If a file object was used instead of a filename, this parameter should
            always be used.
        **kwargs: Other arguments are documented in ``make_grid``.

    Needs Pillow. Values in ``[0, 1]`` map to ``0..255`` (rounded half up, clamped).
    """
    image_module = _pil()
    grid = make_grid(tensor, **kwargs)._data
    scaled = grid * grid.dtype.type(255) if grid.dtype.kind == "f" else grid * 255
    scaled = scaled + (scaled.dtype.type(0.5) if scaled.dtype.kind == "f" else 0)
    pixels = np.clip(scaled, 0, 255).transpose(1, 2, 0).astype(np.uint8)
    if pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    image = image_module.fromarray(np.ascontiguousarray(pixels))
    if isinstance(fp, pathlib.PurePath):
        fp = str(fp)
    image.save(fp, format=format)


def draw_bounding_boxes(*args, **kwargs):
    """Not provided by numtorch: draws text and boxes with PIL fonts (torchvision's)."""
    raise NotImplementedError("torchvision.utils.draw_bounding_boxes is not provided by numtorch")
