"""Let the C allocator keep freed multi-MiB arrays for reuse (glibc on Linux).

Every training step allocates and frees the same activation and gradient arrays. By default
glibc serves large blocks with fresh ``mmap`` calls and hands memory freed at the top of its heap
back to the operating system, so each step page-faults its temporaries in again: 850 page faults
per LeNet-5 step at batch 64, a fifth to a quarter of the step's time. numtorch therefore raises
glibc's ``M_MMAP_THRESHOLD`` to 32 MiB (blocks up to that size come from the heap and are reused)
and ``M_TRIM_THRESHOLD`` to 256 MiB (up to that much free memory stays with the process). Peak
memory is unchanged; memory that was used stays reserved for the next step, as PyTorch's caching
allocators do. The trim threshold must exceed what a step frees at the top of the heap between
its backward pass and the next forward: the char GPT at batch 64 frees about 90 MiB there, and
with 64 MiB it page-faulted 11,000 times (46 MB) per step, 26 ms of its 200 ms on one thread.

The setting is process-wide. It is skipped where it does not apply (not glibc), when the user
already chose (``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` in the environment), or
with ``NUMTORCH_MALLOC_TUNING=0``.
"""

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's upper limit for this setting on 64-bit systems
TRIM_THRESHOLD = 256 << 20

applied = False


def tune():
    """Apply the thresholds once; returns whether they are in effect."""
    global applied
    if applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    env = os.environ
    if env.get("NUMTORCH_MALLOC_TUNING", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if "MALLOC_MMAP_THRESHOLD_" in env or "MALLOC_TRIM_THRESHOLD_" in env:
        return False
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # musl and others: different allocator
            return False
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # pragma: no cover - no C library to talk to
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return applied
