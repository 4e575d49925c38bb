"""unfold (im2col) and fold (col2im): sliding local blocks of a batched image and back.

Each is the other's adjoint, so each one's gradient is the other op: written as formulas on
the declared-op path, the gradient is itself differentiable (any order).
"""

import numpy as np

from ._formulas import is_array
from ._registry import formula
from .conv import _out_size, _pair, col2im, im2col, pad_zeros

__all__ = ["unfold", "fold"]


@formula("Im2ColBackward0", attrs=("x_shape", "geom", "padding", "stride", "dilation"))
def Im2ColBackward0(ctx, g):
    n, c, h, w = ctx.x_shape
    kh, kw, ho, wo = ctx.geom
    top, left = ctx.padding
    if is_array(g):
        cols = g.reshape(n, c, kh, kw, ho, wo)
        full = col2im(cols, h + 2 * top, w + 2 * left, *ctx.stride, *ctx.dilation)
        return (full[:, :, top:top + h, left:left + w],)
    return (fold(g, (h, w), (kh, kw), ctx.dilation, ctx.padding, ctx.stride),)


@formula("Col2ImBackward0", attrs=("in_shape", "geom", "padding", "stride", "dilation"))
def Col2ImBackward0(ctx, g):
    kh, kw, ho, wo = ctx.geom
    top, left = ctx.padding
    if is_array(g):
        gp = pad_zeros(g, top, top, left, left)
        cols = im2col(gp, kh, kw, *ctx.stride, *ctx.dilation, ho, wo)
        return (cols.reshape(ctx.in_shape),)
    return (unfold(g, (kh, kw), ctx.dilation, ctx.padding, ctx.stride),)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extracts sliding local blocks: ``(N, C, H, W)`` → ``(N, C * kH * kW, L)``."""
    x = input._data
    if x.ndim == 3:
        return unfold(input.unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
    if x.ndim != 4:
        raise RuntimeError("Input Error: Only 3D or 4D input Tensors are supported (got "
                           f"{x.ndim}D)")
    kh, kw = _pair(kernel_size)
    dh, dw = _pair(dilation)
    ph, pw = _pair(padding)
    sh, sw = _pair(stride)
    n, c, h, w = x.shape
    ho = _out_size(h, kh, sh, ph, ph, dh)
    wo = _out_size(w, kw, sw, pw, pw, dw)
    if ho <= 0 or wo <= 0:
        raise RuntimeError(f"Given input with spatial size ({h}, {w}), kernel_size=({kh}, {kw}), "
                           f"dilation=({dh}, {dw}), padding=({ph}, {pw}), calculated shape of the "
                           f"array of sliding blocks as ({ho}, {wo}), but its components must be "
                           "at least one.")
    cols = im2col(pad_zeros(x, ph, ph, pw, pw), kh, kw, sh, sw, dh, dw, ho, wo)
    out = cols.reshape(n, c * kh * kw, ho * wo)
    return Im2ColBackward0.record(out, (input,), (), (x.shape, (kh, kw, ho, wo), (ph, pw),
                                                      (sh, sw), (dh, dw)))


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Combines sliding local blocks into a tensor: ``(N, C * kH * kW, L)`` → ``(N, C, H, W)``,
    summing overlapping values (the adjoint of ``unfold``)."""
    x = input._data
    if x.ndim == 2:
        return fold(input.unsqueeze(0), output_size, kernel_size, dilation, padding,
                    stride).squeeze(0)
    if x.ndim != 3:
        raise RuntimeError("Input Error: Only unbatched (2D) or batched (3D) input Tensors are "
                           f"supported (got {x.ndim}D)")
    h, w = _pair(output_size)
    kh, kw = _pair(kernel_size)
    dh, dw = _pair(dilation)
    ph, pw = _pair(padding)
    sh, sw = _pair(stride)
    n, ck, length = x.shape
    ho = _out_size(h, kh, sh, ph, ph, dh)
    wo = _out_size(w, kw, sw, pw, pw, dw)
    if ck % (kh * kw):
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={ck} and kernel_size=({kh}, "
                           f"{kw}).")
    if ho * wo != length:
        raise RuntimeError(f"Given output_size=({h}, {w}), kernel_size=({kh}, {kw}), dilation=("
                           f"{dh}, {dw}), padding=({ph}, {pw}), stride=({sh}, {sw}), expected "
                           f"size of input's dimension 2 to match the calculated number of "
                           f"sliding blocks {ho} * {wo} = {ho * wo}, but got input.size(2)="
                           f"{length}.")
    c = ck // (kh * kw)
    full = col2im(x.reshape(n, c, kh, kw, ho, wo), h + 2 * ph, w + 2 * pw, sh, sw, dh, dw)
    out = np.ascontiguousarray(full[:, :, ph:ph + h, pw:pw + w])
    return Col2ImBackward0.record(out, (input,), (), (x.shape, (kh, kw, ho, wo), (ph, pw),
                                                      (sh, sw), (dh, dw)))
