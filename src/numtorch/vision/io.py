"""Reading images into tensors (``torchvision.io``), through Pillow."""

from __future__ import annotations

import enum

import numpy as np

from .._tensor import Tensor

__all__ = ["ImageReadMode", "read_image"]


class ImageReadMode(enum.Enum):
    """Which channels :func:`read_image` returns."""

    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = RGB_ALPHA


_PIL_MODES = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA",
              ImageReadMode.RGB: "RGB", ImageReadMode.RGB_ALPHA: "RGBA"}


def read_image(path: str, mode: ImageReadMode = ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> Tensor:
    """Read a JPEG, PNG, GIF or WEBP image into a 3-dimensional uint8 tensor ``C×H×W``.

    Args:
        path (str or pathlib.Path): path of the image file.
        mode (ImageReadMode or str): the channels to return; ``UNCHANGED`` keeps the file's.
        apply_exif_orientation (bool): turn the image as its EXIF orientation tag says.

    numtorch decodes with Pillow (needed); torchvision uses its own decoders, whose JPEG output
    can differ from Pillow's by a few grey levels.
    """
    try:
        from PIL import Image, ImageOps  # deferred: optional dependency (Pillow)
    except ImportError:
        raise ImportError("read_image needs Pillow to decode image files: pip install pillow") \
            from None
    if isinstance(mode, str):
        mode = ImageReadMode[mode.upper()]
    with Image.open(path) as img:
        if apply_exif_orientation:
            img = ImageOps.exif_transpose(img)  # type: ignore[assignment]
        if mode != ImageReadMode.UNCHANGED:
            img = img.convert(_PIL_MODES[mode])  # type: ignore[assignment]
        elif img.mode not in ("L", "LA", "RGB", "RGBA"):
            img = img.convert("RGBA" if "A" in img.getbands() else "RGB")  # type: ignore[assignment]
        arr = np.array(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return Tensor._wrap(np.ascontiguousarray(arr.transpose(2, 0, 1)))

