"""Convolution + normalization + activation blocks (``torchvision.ops.misc``)."""

from __future__ import annotations

from collections.abc import Callable

from ... import nn

__all__ = ["Conv2dNormActivation"]


class Conv2dNormActivation(nn.Sequential):
    """``Conv2d`` followed by a normalization layer and an activation, as one ``Sequential``
    (children ``0``, ``1``, ``2``).

    Args:
        in_channels (int): channels of the input.
        out_channels (int): channels made by the convolution.
        kernel_size (int or tuple): size of the convolving kernel. Default: ``3``.
        stride (int or tuple): stride of the convolution. Default: ``1``.
        padding (int, tuple or str, optional): ``None`` means ``(kernel_size - 1) // 2 *
            dilation`` (same size output at stride 1).
        groups (int): blocked connections from input to output channels. Default: ``1``.
        norm_layer (callable, optional): made with ``out_channels``; ``None`` leaves it out.
            Default: ``BatchNorm2d``.
        activation_layer (callable, optional): ``None`` leaves it out. Default: ``ReLU``.
        dilation (int or tuple): spacing of kernel elements. Default: ``1``.
        inplace (bool, optional): passed to the activation. Default: ``True``.
        bias (bool, optional): bias of the convolution; ``None`` means "when there is no
            normalization layer".
    """

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: int | tuple[int, int] = 3, stride: int | tuple[int, int] = 1,
                 padding: int | tuple[int, int] | str | None = None, groups: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
                 dilation: int | tuple[int, int] = 1, inplace: bool | None = True,
                 bias: bool | None = None) -> None:
        if padding is None:
            if isinstance(kernel_size, int) and isinstance(dilation, int):
                padding = (kernel_size - 1) // 2 * dilation
            else:
                n = len(kernel_size) if not isinstance(kernel_size, int) else len(dilation)  # type: ignore[arg-type]
                ks = (kernel_size,) * n if isinstance(kernel_size, int) else kernel_size
                dl = (dilation,) * n if isinstance(dilation, int) else dilation
                padding = tuple((k - 1) // 2 * d for k, d in zip(ks, dl))  # type: ignore[assignment]
        if bias is None:
            bias = norm_layer is None
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                                             padding,  # type: ignore[arg-type]
                                             dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            params = {} if inplace is None else {"inplace": inplace}
            layers.append(activation_layer(**params))
        super().__init__(*layers)
        self.out_channels = out_channels
