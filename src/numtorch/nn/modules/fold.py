"""Fold and Unfold: sliding local blocks of a batched image (col2im / im2col) as layers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...ops.fold import fold, unfold
from .module import Module

if TYPE_CHECKING:
    from ..._tensor import Tensor
    from ..common_types import _size_any_t

__all__ = ["Fold", "Unfold"]


class Fold(Module):
    r"""Combine an array of sliding local blocks :math:`(N, C \times \prod k, L)` into a
    tensor :math:`(N, C, *\text{output\_size})`, summing overlapping values."""

    __constants__ = ["output_size", "kernel_size", "dilation", "padding", "stride"]

    def __init__(self, output_size: _size_any_t, kernel_size: _size_any_t,
                 dilation: _size_any_t = 1, padding: _size_any_t = 0,
                 stride: _size_any_t = 1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                    self.stride)

    def extra_repr(self) -> str:
        return ("output_size={output_size}, kernel_size={kernel_size}, dilation={dilation}, "
                "padding={padding}, stride={stride}".format(**self.__dict__))


class Unfold(Module):
    r"""Extract sliding local blocks of a batched input: :math:`(N, C, *)` to
    :math:`(N, C \times \prod k, L)`."""

    __constants__ = ["kernel_size", "dilation", "padding", "stride"]

    def __init__(self, kernel_size: _size_any_t, dilation: _size_any_t = 1,
                 padding: _size_any_t = 0, stride: _size_any_t = 1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return ("kernel_size={kernel_size}, dilation={dilation}, padding={padding}, "
                "stride={stride}".format(**self.__dict__))
