"""conv3d: a 3-D convolution composed of 2-D ones.

Each of the ``kD`` depth taps is one ``conv2d`` over all output depths at once (the depth
slices go into the batch), and the taps are summed, so the gradients (of every order conv2d
has) come from ``conv2d``, slicing and addition.
"""

from ._lowp import lower_precision_op
from .conv import _check_dtypes, conv2d
from .padding import pad

__all__ = ["conv3d"]


def _triple(x, name):
    if isinstance(x, (list, tuple)):
        if len(x) == 1:
            return (int(x[0]),) * 3
        if len(x) != 3:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of 3 "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(x)}")
        return tuple(int(v) for v in x)
    return (int(x),) * 3


def _pads(padding, kernel, dilation, stride):
    """(left, right) per spatial dim for an int/tuple or 'valid'/'same' padding."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * 3
        if padding != "same":
            raise ValueError(f"Invalid padding string '{padding}'")
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        out = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            out.append((total // 2, total - total // 2))
        return out
    return [(p, p) for p in _triple(padding, "padding")]


@lower_precision_op
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""Applies a 3D convolution over an input :math:`(N, C_{in}, D, H, W)` (or unbatched
    :math:`(C_{in}, D, H, W)`) with ``weight`` :math:`(C_{out}, C_{in}/groups, kD, kH, kW)`."""
    if input.dim() == 4:
        return conv3d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    if input.dim() != 5:
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to conv3d, but got "
                           f"input of size: {list(input.shape)}")
    if weight.dim() != 5:
        raise RuntimeError(f"Expected 5D weight for conv3d, but got weight of size "
                           f"{list(weight.shape)}")
    # (the bias is added after the 2-d convolutions, which would promote the result)
    _check_dtypes(input._data, weight._data, None if bias is None else bias._data)
    stride = _triple(stride, "stride")
    dilation = _triple(dilation, "dilation")
    n, c, _, _, _ = input.shape
    o, cg, kd, kh, kw = weight.shape
    if cg * groups != c:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
            f"input{list(input.shape)} to have {cg * groups} channels, but got {c} channels "
            "instead")
    pads = _pads(padding, (kd, kh, kw), dilation, stride)
    x = input
    if any(p for pair in pads for p in pair):
        x = pad(input, [p for pair in reversed(pads) for p in pair])
    d, h, w = x.shape[2:]
    sizes = [(size - dl * (k - 1) - 1) // s + 1
             for size, k, s, dl in zip((d, h, w), (kd, kh, kw), stride, dilation)]
    if any(v < 1 for v in sizes):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({d} x {h} x {w}). Kernel size: "
            f"({kd} x {kh} x {kw}). Kernel size can't be greater than actual input size")
    do = sizes[0]
    sd, dd = stride[0], dilation[0]
    out = None
    for k in range(kd):
        start = k * dd
        xs = x[:, :, start:start + (do - 1) * sd + 1:sd]  # (N, C, Do, H, W)
        xs = xs.transpose(1, 2).reshape(n * do, c, h, w)
        y = conv2d(xs, weight[:, :, k], None, stride[1:], 0, dilation[1:], groups)
        out = y if out is None else out + y
    out = out.reshape(n, do, o, out.shape[-2], out.shape[-1]).transpose(1, 2).contiguous()
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out
