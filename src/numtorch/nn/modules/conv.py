"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from ... import _creation
from ...ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ...ops.conv3d import conv3d
from ...ops.padding import pad
from .. import init
from ..parameter import Parameter
from .module import Module, _factory

if TYPE_CHECKING:
    from ..._tensor import Tensor
    from ..common_types import _size_1_t, _size_2_t, _size_3_t, _size_any_t

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(x: _size_any_t | list[int], n: int) -> tuple[int, ...]:
    if isinstance(x, (list, tuple)):
        return tuple(x) if len(x) != 1 or n == 1 else tuple(x) * n
    return (x,) * n


class _ConvNd(Module):
    """Shared state of the convolution layers: hyper-parameters, weight, bias, initialisation."""

    __constants__ = ["stride", "padding", "dilation", "groups", "padding_mode", "output_padding",
                     "in_channels", "out_channels", "kernel_size"]
    _nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_any_t,
                 stride: _size_any_t, padding: str | _size_any_t, dilation: _size_any_t,
                 transposed: bool, output_padding: _size_any_t, groups: int, bias: bool,
                 padding_mode: str, device=None, dtype=None) -> None:
        super().__init__()
        kw = _factory(device, dtype)
        nd = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        kernel_size, stride, dilation = (_ntuple(kernel_size, nd), _ntuple(stride, nd),
                                         _ntuple(dilation, nd))
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _ntuple(padding, nd)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {set(_PADDING_MODES)!r}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = self._reversed_padding()
        if transposed:
            shape = (in_channels, out_channels // groups) + kernel_size
        else:
            shape = (out_channels, in_channels // groups) + kernel_size
        self.weight = Parameter(_creation.empty(shape, **kw))
        if bias:
            self.bias = Parameter(_creation.empty(out_channels, **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _reversed_padding(self):
        """The F.pad argument (last dimension first) equivalent to ``self.padding``."""
        if isinstance(self.padding, str):
            out = [0, 0] * len(self.kernel_size)
            if self.padding == "same":
                for d, k, i in zip(self.dilation, self.kernel_size,
                                   range(len(self.kernel_size) - 1, -1, -1)):
                    total = d * (k - 1)
                    left = total // 2
                    out[2 * i], out[2 * i + 1] = left, total - left
            return out
        return [p for p in reversed(self.padding) for _ in range(2)]

    def reset_parameters(self) -> None:
        """Re-draw weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's default)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    r"""Applies a 1D convolution over an input signal composed of several input planes.

    Args:
        in_channels, out_channels: channels of the input and of the output
        kernel_size: size of the convolving kernel
        stride: stride of the convolution. Default: 1
        padding: int, tuple, ``'valid'`` or ``'same'``. Default: 0
        dilation: spacing between kernel elements. Default: 1
        groups: number of blocked connections from input to output channels. Default: 1
        bias: adds a learnable bias to the output. Default: ``True``
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``

    Shape: input :math:`(N, C_{in}, L_{in})` or :math:`(C_{in}, L_{in})`, output
    :math:`(N, C_{out}, L_{out})` with
    :math:`L_{out} = \lfloor (L_{in} + 2p - d(k - 1) - 1) / s + 1 \rfloor`.
    """

    _nd = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_1_t,
                 stride: _size_1_t = 1, padding: _size_1_t | str = 0, dilation: _size_1_t = 1,
                 groups: int = 1, bias: bool = True,
                 padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, (0,), groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode != "zeros":
            return conv1d(pad(input, self._reversed_padding_repeated_twice,
                              mode=self.padding_mode),
                          weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv1d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv2d(_ConvNd):
    r"""Applies a 2D convolution over an input signal composed of several input planes.

    Args:
        in_channels, out_channels: channels of the input and of the output
        kernel_size: int or (kH, kW)
        stride: int or pair. Default: 1
        padding: int, pair, ``'valid'`` or ``'same'``. Default: 0
        dilation: int or pair. Default: 1
        groups: number of blocked connections from input to output channels. Default: 1
        bias: adds a learnable bias to the output. Default: ``True``
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``

    Shape: input :math:`(N, C_{in}, H, W)` or :math:`(C_{in}, H, W)`, output
    :math:`(N, C_{out}, H_{out}, W_{out})`.

    Attributes:
        weight: :math:`(C_{out}, C_{in}/groups, kH, kW)` and bias :math:`(C_{out})`, both drawn
            from :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})` with
            :math:`k = groups / (C_{in} \cdot kH \cdot kW)`.
    """

    _nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_2_t,
                 stride: _size_2_t = 1, padding: _size_2_t | str = 0, dilation: _size_2_t = 1,
                 groups: int = 1, bias: bool = True,
                 padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, (0, 0), groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode != "zeros":
            return conv2d(pad(input, self._reversed_padding_repeated_twice,
                              mode=self.padding_mode),
                          weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv2d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv3d(_ConvNd):
    r"""Applies a 3D convolution over an input signal composed of several input planes.

    Args: as :class:`Conv2d`, with triples for ``kernel_size``, ``stride``, ``padding`` and
    ``dilation``. Shape: input :math:`(N, C_{in}, D, H, W)` or :math:`(C_{in}, D, H, W)`,
    weight :math:`(C_{out}, C_{in}/groups, kD, kH, kW)`.
    """

    _nd = 3

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_3_t,
                 stride: _size_3_t = 1, padding: _size_3_t | str = 0, dilation: _size_3_t = 1,
                 groups: int = 1, bias: bool = True,
                 padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, (0, 0, 0), groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode != "zeros":
            return conv3d(pad(input, self._reversed_padding_repeated_twice,
                              mode=self.padding_mode),
                          weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv3d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class _ConvTransposeNd(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_any_t,
                 stride: _size_any_t, padding: _size_any_t, output_padding: _size_any_t,
                 groups: int, bias: bool, dilation: _size_any_t, padding_mode: str, device=None,
                 dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{type(self).__name__}")
        nd = self._nd
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, True,
                         _ntuple(output_padding, nd), groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        """The output_padding that makes the output ``output_size`` (None: ``self``'s)."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        output_size = list(output_size)
        if len(output_size) == nd + 2:
            output_size = output_size[2:]
        elif len(output_size) == nd + 1:
            output_size = output_size[1:]
        if len(output_size) != nd:
            raise ValueError(f"ConvTranspose{nd}D: for {input.dim()}D input, output_size must "
                             f"have {nd} or {nd + 2} elements (got {len(output_size)})")
        spatial = input.shape[-nd:]
        result = []
        for i in range(nd):
            lo = ((spatial[i] - 1) * self.stride[i] - 2 * self.padding[i] +
                  self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            hi = lo + self.stride[i] - 1
            if not lo <= output_size[i] <= hi:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {[lo]} to {[hi]} (for an input of "
                                 f"{list(spatial)})")
            result.append(output_size[i] - lo)
        return tuple(result)


class ConvTranspose1d(_ConvTransposeNd):
    r"""Applies a 1D transposed convolution operator over an input image composed of several
    input planes (the gradient of ``Conv1d`` with respect to its input)."""

    _nd = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_1_t,
                 stride: _size_1_t = 1, padding: _size_1_t = 0, output_padding: _size_1_t = 0,
                 groups: int = 1, bias: bool = True, dilation: _size_1_t = 1,
                 padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding,
                         groups, bias, dilation, padding_mode, device, dtype)

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        op = self._output_padding(input, output_size)
        return conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding, op,
                                self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    r"""Applies a 2D transposed convolution operator over an input image composed of several
    input planes (the gradient of ``Conv2d`` with respect to its input).

    Output size: :math:`(H_{in} - 1) s - 2p + d(k - 1) + \text{output\_padding} + 1`;
    ``forward(input, output_size)`` chooses ``output_padding`` to reach ``output_size``.
    """

    _nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _size_2_t,
                 stride: _size_2_t = 1, padding: _size_2_t = 0, output_padding: _size_2_t = 0,
                 groups: int = 1, bias: bool = True, dilation: _size_2_t = 1,
                 padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding,
                         groups, bias, dilation, padding_mode, device, dtype)

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        op = self._output_padding(input, output_size)
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, op,
                                self.groups, self.dilation)
