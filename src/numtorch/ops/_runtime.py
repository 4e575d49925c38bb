"""Runtime support for the batched array kernels: worker threads and scratch buffers.

``run_blocks`` shares the blocks of a batch among up to ``numtorch.get_num_threads()`` worker
threads (NumPy and the compiled kernels release the GIL), only as many as other processes leave
cores idle. Block boundaries never depend on the worker count, so results are the same however
busy the machine is; the batch is cut into equal shares first so that two or four workers get
equal work. ``scratch`` hands out views of per-thread reusable buffers, so the
multi-MiB temporaries of the kernels are not fresh (page-faulting) allocations on every call.
Used by the convolution, pooling and batch-norm kernels.
"""

import math
import os
import threading

import numpy as np

from .. import _threads

__all__ = ["run_blocks", "scratch"]

# Worker threads for the batched kernels. None (the default): ``numtorch._threads.workers()``,
# i.e. up to ``numtorch.get_num_threads()`` threads while other processes leave cores idle. An
# int forces a count.
NUM_WORKERS = None
_executor = None


def _workers():
    if NUM_WORKERS is not None:
        return max(1, int(NUM_WORKERS))
    return _threads.workers()


def _forget_executor():
    global _executor
    _executor = None


if hasattr(os, "register_at_fork"):
    # A forked child (e.g. a DataLoader worker) must not wait on its parent's threads.
    os.register_at_fork(after_in_child=_forget_executor)


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
    """``[fn(start, stop) for each block of the batch]``, the blocks shared among worker threads
    when there are several (contiguous runs of blocks per thread)."""
    bounds = _bounds(n, block)
    workers = min(_workers(), len(bounds))
    if workers <= 1:
        return [fn(s, e) for s, e in bounds]
    global _executor
    if _executor is None or _executor._max_workers < workers - 1:
        # deferred: startup time (the pool starts with the first threaded convolution)
        from concurrent.futures import ThreadPoolExecutor
        _executor = ThreadPoolExecutor(max_workers=workers - 1, thread_name_prefix="numtorch")
    per = -(-len(bounds) // workers)
    groups = [bounds[i:i + per] for i in range(0, len(bounds), per)]

    def run(group):
        return [fn(s, e) for s, e in group]

    futures = [_executor.submit(run, grp) for grp in groups[1:]]
    results = run(groups[0])
    for f in futures:
        results.extend(f.result())
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
