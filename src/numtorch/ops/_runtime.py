"""Runtime support for the batched array kernels: blocks of a batch, and scratch buffers.

``run_blocks`` cuts a batch into blocks and shares them among numtorch's worker threads
(``numtorch._threads.run_chunks``; NumPy and the compiled kernels release the GIL), as many as
``numtorch._threads.threads_for`` gives now: up to ``numtorch.get_num_threads()``, only as many
as other processes leave cores idle. Block boundaries never depend on the thread count, so
results are the same however busy the machine is; the batch is cut into equal shares first so
that two or four threads get equal work. ``scratch`` hands out views of per-thread reusable
buffers, so the multi-MiB temporaries of the kernels are not fresh (page-faulting) allocations
on every call. Used by the convolution, pooling and batch-norm kernels.
"""

import math
import threading

import numpy as np

from .. import _threads

__all__ = ["run_blocks", "scratch"]


# The batch is first cut into this many equal shares (or get_num_threads(), if more), each cut
# into blocks: two or four workers then get equal work, where blocks cut from the whole batch
# (e.g. 14 + 14 + 4 images) left one thread idle most of the time. The shares depend on the
# thread setting only, never on the load, so the results do not change with it.
_MIN_SHARES = 4


def _bounds(n, block):
    """``(start, stop)`` of the blocks: one block when the batch fits in one, otherwise
    ``_MIN_SHARES`` (or more) equal shares, each cut into nearly equal blocks of at most
    ``block``."""
    if n <= block:
        return [(0, n)]
    shares = min(n, max(_MIN_SHARES, _threads.get_num_threads()))
    bounds = []
    for k in range(shares):
        start, stop = n * k // shares, n * (k + 1) // shares
        size = stop - start
        parts = -(-size // block)
        bounds.extend((start + size * i // parts, start + size * (i + 1) // parts)
                      for i in range(parts))
    return bounds


def run_blocks(n, block, fn):
    """``[fn(start, stop) for each block of the batch]``, the blocks shared among numtorch's
    worker threads when there are several (:func:`numtorch._threads.threads_for` with one
    block as the unit of work)."""
    bounds = _bounds(n, block)
    threads = _threads.threads_for(len(bounds), 1)
    if threads <= 1:
        return [fn(s, e) for s, e in bounds]
    results = [None] * len(bounds)

    def run(i):
        results[i] = fn(*bounds[i])

    _threads.run_chunks(run, len(bounds), threads)
    return results


# Each thread keeps one flat buffer per purpose and hands out views of it (large fresh arrays
# come from mmap and page-fault on first touch, costing more than the arithmetic). Requests
# above the cap get ordinary arrays, so little memory stays held.
_SCRATCH_CAP = 8 << 20
_SCRATCH_MIN = 64 << 10  # smaller arrays come from malloc's free lists anyway
_scratch_local = threading.local()


def scratch(name, shape, dtype):
    """An uninitialised C-contiguous array of ``shape``, a view of this thread's reusable
    buffer ``name``. Valid until the next request for ``name`` on this thread."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _SCRATCH_CAP or nbytes < _SCRATCH_MIN:
        return np.empty(shape, dtype)
    bufs = getattr(_scratch_local, "bufs", None)
    if bufs is None:
        bufs = _scratch_local.bufs = {}
    buf = bufs.get(name)
    if buf is None or buf.nbytes < nbytes:
        buf = bufs[name] = np.empty(nbytes, np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)
