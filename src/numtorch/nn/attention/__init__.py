"""``torch.nn.attention``: choosing the scaled-dot-product-attention backend."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from typing import Any

from ... import backends as _backends

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    """The kernels ``scaled_dot_product_attention`` can use.

    numtorch computes all of them with the math path; as on PyTorch's CPU build, only ``MATH``
    and ``FLASH_ATTENTION`` are viable, so enabling only the others makes attention raise.
    """

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_FLAG = {SDPBackend.MATH: "math", SDPBackend.FLASH_ATTENTION: "flash",
         SDPBackend.EFFICIENT_ATTENTION: "mem_efficient", SDPBackend.CUDNN_ATTENTION: "cudnn"}


@contextlib.contextmanager
def sdpa_kernel(backends: list[SDPBackend] | SDPBackend,
                set_priority: bool = False) -> Iterator[dict[str, Any]]:
    """Context manager that enables only the given backend(s) for scaled dot product attention.

    Args:
        backends (SDPBackend or list of SDPBackend): the backends to allow inside the block.
        set_priority (bool): accepted for compatibility; the order never matters here.
    """
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of SDPBackend "
                             f"instances, got {type(backends).__name__}")
    chosen = {backends} if isinstance(backends, SDPBackend) else set(backends)
    previous = dict(_backends._sdp)
    for backend, flag in _FLAG.items():
        _backends._sdp[flag] = backend in chosen
    try:
        yield {}
    finally:
        _backends._sdp.update(previous)
