"""pixel_shuffle, pixel_unshuffle and channel_shuffle: pure rearrangements, composed of
reshape and permute so their gradients (of any order) come from those ops."""

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle"]


def _check_factor(name, factor, what):
    if factor <= 0:
        raise RuntimeError(f"{name} expects a positive {what}, but got {factor}")


def _check_3d(name, input):
    if input.dim() < 3:
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got input "
                           f"with {input.dim()} dimension(s)")


def pixel_shuffle(input, upscale_factor):
    r"""Rearrange :math:`(*, C r^2, H, W)` into :math:`(*, C, H r, W r)` (sub-pixel convolution's
    upsampling step), ``r`` = ``upscale_factor``."""
    _check_3d("pixel_shuffle", input)
    r = int(upscale_factor)
    _check_factor("pixel_shuffle", r, "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    r"""Reverse :func:`pixel_shuffle`: :math:`(*, C, H r, W r)` into :math:`(*, C r^2, H, W)`."""
    _check_3d("pixel_unshuffle", input)
    r = int(downscale_factor)
    _check_factor("pixel_unshuffle", r, "downscale_factor")
    *lead, c, h, w = input.shape
    for size, dim, what in ((h, -2, "height"), (w, -1, "width")):
        if size % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {what} to be divisible by downscale_factor, but "
                f"input.size({dim})={size} is not divisible by {r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    r"""Split the channels of :math:`(N, C, *)` into ``groups`` groups and interleave them
    (ShuffleNet): channel ``g * (C / groups) + k`` moves to ``k * groups + g``."""
    if input.dim() <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    x = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return x.reshape(n, c, *rest)


native_channel_shuffle = channel_shuffle
