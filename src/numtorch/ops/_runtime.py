"""Runtime support for the batched array kernels: blocks of a batch, and scratch buffers.

``run_blocks`` cuts a batch into blocks and shares them among numtorch's worker threads
(``numtorch._threads.run_chunks``; NumPy and the compiled kernels release the GIL), as many as
``numtorch._threads.threads_for`` gives now: up to ``numtorch.get_num_threads()``, only as many
as other processes leave cores idle. Block boundaries never depend on the thread count, so
results are the same however busy the machine is; the batch is cut into equal shares first so
that two or four threads get equal work. ``scratch`` hands out views of per-thread reusable
buffers, so the multi-MiB temporaries of the kernels are not fresh (page-faulting) allocations
on every call. Used by the convolution, pooling and batch-norm kernels.

A kernel that needs the blocks' results before it can finish (a weight gradient summing its
blocks' parts) can be written as a generator that yields its :class:`Blocks` and receives their
results; :func:`run_steps` runs several such kernels with all their blocks in one job (a
convolution's input and weight gradients): the helper threads are woken once (50-150 µs each
time here), and the pieces of both keep two threads busy to the end.
"""

import itertools
import math
import threading
import time

import numpy as np

from .. import _threads

__all__ = ["Blocks", "run_blocks", "run_steps", "run_together", "scratch"]


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
    return run_together((Blocks(n, block, fn),))[0]


class Blocks:
    """The blocks of a batch of ``n`` (at most ``block`` each, see :func:`run_blocks`) and the
    ``fn(start, stop)`` that computes one, to be run with other kernels' blocks
    (:func:`run_together`, :func:`run_steps`).

    ``prepare()``, if given, runs before any of the blocks (work they all need, such as a
    transformed weight), and ``finish(results)``, if given, after the last of them, its value
    taking the place of the results' list (a sum of the blocks' parts); in a shared job both are
    units of work of their own, so the other threads go on with other blocks meanwhile."""

    __slots__ = ("bounds", "fn", "large", "prepare", "finish")

    def __init__(self, n, block, fn, large=False, prepare=None, finish=None):
        self.bounds = _bounds(n, block)
        self.fn = fn
        self.large = large  # a single block worth a thread of its own (see run_together)
        self.prepare = prepare
        self.finish = finish


def _run_serially(step):
    if step.prepare is not None:
        step.prepare()
    out = [step.fn(s, e) for s, e in step.bounds]
    return out if step.finish is None else step.finish(out)


def run_together(steps):
    """``[[fn(start, stop) for each block] for each Blocks of steps]`` (or ``finish`` of that
    list): every block of every step in one job shared among the worker threads (each block as
    one unit of work) when one of the steps has several blocks. Which thread runs a block never
    changes what it computes.

    In the job the steps' ``prepare`` calls come first (the helpers are woken before them, not
    after), then the blocks of the steps that need no preparing, those with a ``finish`` first
    (it then runs while other blocks are still being worked on); a block whose step is still
    being prepared on another thread waits for it."""
    count = most = 0
    large = True
    for step in steps:
        count += len(step.bounds)
        most = max(most, len(step.bounds))
        large = large and step.large
    # kernels of a single block each are mostly small (a block is sized to stay in cache):
    # waking a helper for them costs more than it saves, unless every one is marked large
    threads = _threads.threads_for(count, 1) if most > 1 or large else 1
    if threads <= 1:
        return [_run_serially(step) for step in steps]
    results = [[None] * len(step.bounds) for step in steps]
    tasks = []
    ready = [None] * len(steps)  # per prepared step: set once its prepare has returned
    for k, step in enumerate(steps):
        if step.prepare is not None:
            ready[k] = []
            tasks.append((k, -1, 0, 0, step.prepare))
    order = sorted(range(len(steps)),
                   key=lambda k: (steps[k].prepare is not None, steps[k].finish is None))
    for k in order:
        tasks.extend((k, i, s, e, steps[k].fn) for i, (s, e) in enumerate(steps[k].bounds))
    # per finished step: counts its blocks done; the block that brings it to their number
    # runs finish
    done = [None if step.finish is None else itertools.count(1).__next__ for step in steps]
    failed = []

    def run(t):
        k, i, s, e, fn = tasks[t]
        if i < 0:
            try:
                fn()
            except BaseException:
                failed.append(k)
                raise
            finally:
                ready[k].append(True)
            return
        if ready[k] is not None:
            # (a few tens of µs at most: an Event's wait put the thread to sleep, and waking it
            # made the stride-2 backward 40-50 µs slower)
            while not ready[k]:
                time.sleep(0)
            if k in failed:
                return
        results[k][i] = fn(s, e)
        if done[k] is not None and done[k]() == len(results[k]):
            results[k] = steps[k].finish(results[k])

    _threads.run_chunks(run, len(tasks), threads)
    return results


def run_steps(*kernels):
    """Runs kernels written as generators together and returns their return values: each
    kernel yields a :class:`Blocks` (or returns without yielding), is sent the blocks' results
    (a list in block order) and goes on until it returns; the blocks the kernels yield at the
    same point are run in one job (:func:`run_together`)."""
    if len(kernels) == 1 or _threads.threads_for(2, 1) <= 1:
        return [_run_alone(kernel) for kernel in kernels]  # (one thread: cheaper)
    results = [None] * len(kernels)
    waiting = []  # (kernel's index, the blocks it yielded)
    for i, kernel in enumerate(kernels):
        try:
            waiting.append((i, next(kernel)))
        except StopIteration as done:
            results[i] = done.value
    while waiting:
        outs = run_together([blocks for _, blocks in waiting])
        following = []
        for (i, _), out in zip(waiting, outs):
            try:
                following.append((i, kernels[i].send(out)))
            except StopIteration as done:
                results[i] = done.value
        waiting = following
    return results


def _run_alone(kernel):
    try:
        blocks = next(kernel)
        while True:
            blocks = kernel.send(run_together((blocks,))[0])
    except StopIteration as done:
        return done.value


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
