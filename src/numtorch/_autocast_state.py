"""The autocast switch the op layer reads (set by ``numtorch.autocast``; one attribute lookup on
the hot path, like the grad mode)."""


class _AutocastState:
    enabled = False
    dtype = None  # the lower-precision dtype (a numtorch dtype) while enabled
