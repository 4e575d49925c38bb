"""Image grids and image files (``torchvision.utils``)."""

from __future__ import annotations

import math
import pathlib
import warnings
from typing import IO, Any

import numpy as np

from .._tensor import Tensor

__all__ = ["make_grid", "save_image", "draw_bounding_boxes"]


def make_grid(tensor: Tensor | list[Tensor], nrow: int = 8, padding: int = 2,
              normalize: bool = False, value_range: tuple[int, int] | None = None,
              scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
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
                low, high = float(part.min()), float(part.max())  # type: ignore[assignment]
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
        from PIL import Image  # deferred: optional dependency (Pillow)
    except ImportError:
        raise ImportError("save_image needs Pillow to write image files: pip install pillow") \
            from None
    return Image


def save_image(tensor: Tensor | list[Tensor], fp: str | pathlib.Path | IO[bytes],
               format: str | None = None, **kwargs: Any) -> None:
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


def _parse_colors(colors, num_objects):
    """One ``(r, g, b)`` tuple per object from ``None`` (a fixed palette), one colour, or a list."""
    from PIL import ImageColor  # deferred: optional dependency (Pillow)

    if colors is None:
        palette = (2**25 - 1, 2**15 - 1, 2**21 - 1)
        colors = [tuple((i * p) % 255 for p in palette) for i in range(num_objects)]
    elif isinstance(colors, list):
        if len(colors) < num_objects:
            raise ValueError(f"Number of colors must be equal or larger than the number of "
                             f"objects, but got {len(colors)} < {num_objects}.")
    elif not isinstance(colors, (tuple, str)):
        raise ValueError(f"colors must be a tuple or a string, or a list thereof, but got "
                         f"{colors}.")
    elif isinstance(colors, tuple) and len(colors) != 3:
        raise ValueError(f"If passed as tuple, colors should be an RGB triplet, but got "
                         f"{colors}.")
    else:
        colors = [colors] * num_objects
    return [ImageColor.getrgb(c) if isinstance(c, str) else tuple(int(v) for v in c)
            for c in colors]


def draw_bounding_boxes(image: Tensor, boxes: Tensor, labels: list[str] | None = None,
                        colors: Any = None, fill: bool | None = False, width: int = 1,
                        font: str | None = None, font_size: int | None = None,
                        label_colors: Any = None, label_background_colors: Any = None,
                        fill_labels: bool = False) -> Tensor:
    """Draws bounding boxes on given RGB image.

    Args:
        image (Tensor): Tensor of shape (C, H, W) and dtype uint8 or float (in ``[0, 1]``).
        boxes (Tensor): Tensor of size (N, 4) containing bounding boxes in (xmin, ymin, xmax,
            ymax) format, in absolute pixel coordinates.
        labels (List[str], optional): List containing the labels of bounding boxes.
        colors (color or list of colors, optional): PIL colour names (``"red"``, ``"#FF00FF"``)
            or RGB tuples, one for all boxes or one per box. By default a fixed palette.
        fill (bool): If `True` fills the bounding box with specified color (alpha 100).
        width (int): Width of bounding box.
        font (str, optional): A TrueType font file for the labels (default: Pillow's font).
        font_size (int, optional): The requested font size in points.
        label_colors, label_background_colors (color or list of colors, optional): label text
            and (with ``fill_labels``) label box colours.
        fill_labels (bool): fill the label's background. Default: False.

    Returns:
        img (Tensor[C, H, W]): the image with the boxes, of the input's dtype. Needs Pillow.
        Oriented boxes of size (N, 8) are not provided by numtorch.
    """
    from PIL import Image, ImageDraw, ImageFont  # deferred: optional dependency (Pillow)

    if not isinstance(image, Tensor):
        raise TypeError(f"Tensor expected, got {type(image)}")
    arr = image._data
    if not (arr.dtype == np.uint8 or arr.dtype.kind == "f"):
        raise ValueError(f"The image dtype must be uint8 or float, got {image.dtype}")
    if arr.ndim != 3:
        raise ValueError("Pass individual images, not batches")
    if arr.shape[0] not in {1, 3}:
        raise ValueError("Only grayscale and RGB images are supported")
    box_arr = boxes._data if isinstance(boxes, Tensor) else np.asarray(boxes)
    if box_arr.shape[-1] == 8:
        raise NotImplementedError("draw_bounding_boxes: oriented (N, 8) boxes are not provided "
                                  "by numtorch")
    if box_arr.shape[-1] == 4 and ((box_arr[:, 0] > box_arr[:, 2]).any()
                                   or (box_arr[:, 1] > box_arr[:, 3]).any()):
        raise ValueError("Boxes need to be in (xmin, ymin, xmax, ymax) format. Use "
                         "torchvision.ops.box_convert to convert them")
    num_boxes = box_arr.shape[0]
    if num_boxes == 0:
        warnings.warn("boxes doesn't contain any box. No box was drawn", stacklevel=2)
        return image
    if labels is None:
        labels = [None] * num_boxes  # type: ignore[list-item]
    elif len(labels) != num_boxes:
        raise ValueError(f"Number of boxes ({num_boxes}) and labels ({len(labels)}) mismatch. "
                         "Please specify labels for each box.")
    colors = _parse_colors(colors, num_boxes)
    if label_colors or fill_labels:
        label_colors = _parse_colors(label_colors if label_colors else "black", num_boxes)
    else:
        label_colors = list(colors)
    if fill_labels and label_background_colors:
        label_background_colors = _parse_colors(label_background_colors, num_boxes)
    else:
        label_background_colors = list(colors)
    if font is None:
        if font_size is not None:
            warnings.warn("Argument 'font_size' will be ignored since 'font' is not set.",
                          stacklevel=2)
        txt_font = ImageFont.load_default()
    else:
        txt_font = ImageFont.truetype(font=font, size=font_size or 10)
    if arr.shape[0] == 1:
        arr = np.tile(arr, (3, 1, 1))
    floating = arr.dtype.kind == "f"
    if floating:  # to uint8 as convert_image_dtype does
        arr = (arr * arr.dtype.type(255 + 1.0 - 1e-3)).astype(np.uint8)
    img = Image.fromarray(np.ascontiguousarray(arr.transpose(1, 2, 0)))
    draw = ImageDraw.Draw(img, "RGBA") if fill else ImageDraw.Draw(img)
    for bbox, color, label, label_color, label_bg in zip(box_arr.astype(np.int64).tolist(),
                                                         colors, labels, label_colors,
                                                         label_background_colors):
        draw.rectangle(bbox, width=width, outline=color,
                       fill=color + (100,) if fill else None)
        if label is not None:
            margin = width + 1
            if fill_labels:
                left, top, right, bottom = draw.textbbox((bbox[0] + margin, bbox[1] + margin),
                                                         label, font=txt_font)
                draw.rectangle((left - 1, top - 1, right + 1, bottom + 1), fill=label_bg)
            draw.text((bbox[0] + margin, bbox[1] + margin), label, fill=label_color,
                      font=txt_font)
    out = np.asarray(img).transpose(2, 0, 1)
    if floating:
        out = (out.astype(image._data.dtype) / image._data.dtype.type(255))
    return Tensor._wrap(np.ascontiguousarray(out))
