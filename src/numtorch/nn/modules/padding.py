"""Padding layers (``ZeroPad2d``, ``ConstantPad2d``, ``ReflectionPad2d``, ``ReplicationPad2d``,
``CircularPad2d`` and their 1-D/3-D forms) and the resampling layers (``Upsample``,
``UpsamplingNearest2d``, ``UpsamplingBilinear2d``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...ops.padding import interpolate, pad
from .module import Module

if TYPE_CHECKING:
    from ..._tensor import Tensor
    from ..common_types import _ratio_2_t, _ratio_any_t, _size_2_t, _size_any_t

__all__ = ["ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d",
           "ZeroPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d", "Upsample", "UpsamplingNearest2d",
           "UpsamplingBilinear2d"]


def _expand(padding, n):
    """An int padding as ``2 * n`` equal sizes; a tuple is kept as given."""
    if isinstance(padding, (list, tuple)):
        if len(padding) != 2 * n:
            raise ValueError(f"Padding must be an int or a {2 * n}-element tuple, got "
                             f"{len(padding)} elements")
        return tuple(padding)
    return (padding,) * (2 * n)


class _PadNd(Module):
    """Pads the last ``_n`` dimensions with F.pad's ``_mode``; ``padding`` reads
    (left, right[, top, bottom[, front, back]])."""

    __constants__ = ["padding"]
    _n = 2
    _mode = "reflect"

    def __init__(self, padding: _size_any_t) -> None:
        super().__init__()
        self.padding = _expand(padding, self._n)

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    __constants__ = ["padding", "value"]
    _mode = "constant"

    def __init__(self, padding: _size_any_t, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    r"""Pads the last dimension with a constant ``value``."""
    _n = 1


class ConstantPad2d(_ConstantPadNd):
    r"""Pads the last two dimensions with a constant ``value``:
    ``padding = (left, right, top, bottom)`` or one int for all four."""
    _n = 2


class ConstantPad3d(_ConstantPadNd):
    r"""Pads the last three dimensions with a constant ``value``."""
    _n = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: _size_any_t) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    r"""Pads the last dimension with zeros."""
    _n = 1


class ZeroPad2d(_ZeroPadNd):
    r"""Pads the last two dimensions with zeros: ``padding = (left, right, top, bottom)``."""
    _n = 2


class ZeroPad3d(_ZeroPadNd):
    r"""Pads the last three dimensions with zeros."""
    _n = 3


class ReflectionPad1d(_PadNd):
    r"""Pads the last dimension with the reflection of the input (edge not repeated)."""
    _n, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    r"""Pads the last two dimensions with the reflection of the input boundary."""
    _n, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    r"""Pads the last three dimensions with the reflection of the input boundary."""
    _n, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    r"""Pads the last dimension by repeating the edge value."""
    _n, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    r"""Pads the last two dimensions by repeating the edge values."""
    _n, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    r"""Pads the last three dimensions by repeating the edge values."""
    _n, _mode = 3, "replicate"


class CircularPad1d(_PadNd):
    r"""Pads the last dimension by wrapping the input around."""
    _n, _mode = 1, "circular"


class CircularPad2d(_PadNd):
    r"""Pads the last two dimensions by wrapping the input around."""
    _n, _mode = 2, "circular"


class CircularPad3d(_PadNd):
    r"""Pads the last three dimensions by wrapping the input around."""
    _n, _mode = 3, "circular"


class Upsample(Module):
    r"""Upsamples multi-channel 1D, 2D or 3D data to ``size`` or by ``scale_factor``.

    Modes: ``'nearest'`` (default), ``'nearest-exact'``, ``'linear'``, ``'bilinear'``,
    ``'trilinear'``; ``align_corners`` for the linear ones. See ``F.interpolate``.
    """

    __constants__ = ["size", "scale_factor", "mode", "align_corners", "name",
                     "recompute_scale_factor"]

    def __init__(self, size: _size_any_t | None = None, scale_factor: _ratio_any_t | None = None,
                 mode: str = "nearest", align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        self.scale_factor: float | tuple[float, ...] | None
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    r"""2D nearest-neighbour upsampling (``Upsample(mode='nearest')``)."""

    def __init__(self, size: _size_2_t | None = None,
                 scale_factor: _ratio_2_t | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    r"""2D bilinear upsampling with ``align_corners=True``."""

    def __init__(self, size: _size_2_t | None = None,
                 scale_factor: _ratio_2_t | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
