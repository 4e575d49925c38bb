"""What numtorch reads of the processor it runs on: the size of a core's L2 cache, which sizes
the blocks that batched kernels keep in cache (``ops/conv.py``).

Read once, from Linux's ``/sys/devices/system/cpu/cpu0/cache``; where that is missing or
unreadable, :data:`DEFAULT_L2_BYTES` (the machine the block sizes were first tuned on).
"""

import os

#: The L2 size assumed where it cannot be read: 1 MiB (AMD Zen 4, where the kernels' block
#: sizes were first measured).
DEFAULT_L2_BYTES = 1 << 20

_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def _read_l2_bytes(root="/sys/devices/system/cpu/cpu0/cache"):
    """The size in bytes of the first level-2 data or unified cache listed under ``root``, or
    None."""
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return None
    for entry in entries:
        path = os.path.join(root, entry)
        try:
            with open(os.path.join(path, "level")) as f:
                level = f.read().strip()
            with open(os.path.join(path, "type")) as f:
                kind = f.read().strip()
            with open(os.path.join(path, "size")) as f:
                size = f.read().strip()
        except OSError:
            continue
        if level != "2" or kind not in ("Data", "Unified"):
            continue
        try:
            if size[-1:].upper() in _UNITS:
                return int(size[:-1]) * _UNITS[size[-1:].upper()]
            return int(size)
        except ValueError:
            return None
    return None


def l2_cache_bytes():
    """The L2 cache of one core, in bytes (:data:`DEFAULT_L2_BYTES` where it cannot be read;
    clamped to 256 KiB ... 4 MiB, so that an odd reading cannot make the blocks absurd)."""
    size = _read_l2_bytes()
    if size is None:
        return DEFAULT_L2_BYTES
    return min(max(size, 256 << 10), 4 << 20)


#: :func:`l2_cache_bytes`, read at import.
L2_BYTES = l2_cache_bytes()
