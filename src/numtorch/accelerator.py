"""``torch.accelerator``: the device-agnostic accelerator API, answered as PyTorch's CPU build does.

numtorch runs on the CPU only, so no accelerator is ever available: ``is_available()`` is
False, ``current_accelerator()`` is None and ``device_count()`` is 0. Calls that need a device
raise PyTorch's ``RuntimeError``.
"""

import warnings

__all__ = ["current_accelerator", "current_device_idx", "current_device_index", "current_stream",
           "device_count", "device_index", "empty_cache", "empty_host_cache",
           "get_device_capability", "get_memory_info", "is_available", "max_memory_allocated",
           "max_memory_reserved", "memory_allocated", "memory_reserved", "memory_stats",
           "reset_accumulated_memory_stats", "reset_peak_memory_stats", "set_device_idx",
           "set_device_index", "set_stream", "synchronize"]

_NONE = "Cannot access accelerator device when none is available."


def _unavailable():
    raise RuntimeError(_NONE)


def device_count():
    """The number of available accelerator devices: 0 here."""
    return 0


def is_available():
    """Whether an accelerator is available: always False in numtorch."""
    return False


def current_accelerator(check_available=False):
    """The current accelerator as a ``torch.device``, or None when there is none (always here)."""
    return None


def current_device_index():
    """The index of the current accelerator device; there is none, so this raises."""
    _unavailable()


def current_device_idx():
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_index(device, /):
    """Set the current accelerator device; there is none, so this raises."""
    _unavailable()


def set_device_idx(device, /):
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    return set_device_index(device)


def current_stream(device=None, /):
    _unavailable()


def set_stream(stream):
    _unavailable()


def synchronize(device=None, /):
    """Wait for the accelerator's work; with no accelerator, this raises as PyTorch does."""
    if device is not None:
        raise RuntimeError("Accelerator expected")
    _unavailable()


def get_device_capability(device=None, /):
    _unavailable()


def empty_cache():
    _unavailable()


def empty_host_cache():
    _unavailable()


def _memory_query(name):
    def query(device_index=None, /):
        _unavailable()
    query.__name__ = name
    return query


memory_allocated = _memory_query("memory_allocated")
memory_reserved = _memory_query("memory_reserved")
max_memory_allocated = _memory_query("max_memory_allocated")
max_memory_reserved = _memory_query("max_memory_reserved")
memory_stats = _memory_query("memory_stats")
get_memory_info = _memory_query("get_memory_info")
reset_peak_memory_stats = _memory_query("reset_peak_memory_stats")
reset_accumulated_memory_stats = _memory_query("reset_accumulated_memory_stats")


class device_index:
    """Context manager that sets the current accelerator device index; ``None`` is a no-op."""

    def __init__(self, device, /):
        self.idx = device
        self.prev_idx = -1

    def __enter__(self):
        if self.idx is not None:
            _unavailable()
        return None

    def __exit__(self, *exc):
        return False
