"""How many threads numtorch uses, and the one pool of worker threads they run on.

numtorch shares large work among its own helper threads (daemons sleeping on a queue between
jobs; :func:`run_chunks`) and the calling thread. Everything that runs in parallel uses this one
pool and asks :func:`threads_for` how many threads to use:

* **Matrix products.** BLAS always runs on one thread. A product routed through :func:`matmul`
  (``mm``, ``addmm``, ``bmm``, ``matmul``, ``linear`` and their gradients) with at least
  ``2 * FLOPS_PER_THREAD`` multiply-adds is cut into pieces (blocks of the result's columns or
  rows, 16-aligned, or blocks of a stack's matrices), one per :data:`FLOPS_PER_THREAD` of work
  up to :func:`get_num_threads`. Small products (LeNet's largest is 3 M multiply-adds) stay
  whole.
* **Element-wise passes** (``ops/_parallel.py``: runs of rows of GELU, softmax, layer norm,
  dropout, large adds and products, stacks of small products), **convolution and batch-norm
  blocks** (``ops/_runtime.py``) and **the optimizers' updates** (``optim/_jit.py``) cut their
  work by its shape into pieces run the same way.

Why not BLAS's own threads: OpenBLAS's threads spin while they wait, and its caller spins
waiting for them. When another process holds one of two cores, a product split in two waits
for the half whose thread is not running: the VAE's 128×784 @ 784×400 products measured 4 to
14 times slower on two OpenBLAS threads than on one while another process spun on the second
core (torch's OpenMP threads collapse the same way). numtorch's helper threads sleep on a queue
between jobs and take pieces one at a time, so a delayed helper takes fewer pieces and a busy
machine costs little.

**The API for kernels that want threads**:

* ``threads_for(work, per_thread=FLOPS_PER_THREAD)``: how many threads, the caller included,
  a job of ``work`` units should use now: ``work // per_thread`` (1 below two threads'
  worth), capped by :func:`get_num_threads` and by the cores other processes leave idle
  (:func:`workers`), and 1 off the main thread. Under a microsecond; call it per op.
* ``run_chunks(fn, chunks, threads)``: calls ``fn(i)`` for ``i`` in ``range(chunks)`` on up
  to ``threads`` threads (the caller and the pool's helpers), handing chunks to whichever
  thread is free, under the caller's NumPy error state; the first error of a chunk is raised
  to the caller. Choose ``chunks`` from the shapes (not from ``threads``) when the pieces'
  results must not depend on the machine's load. Called from a helper (a chunk that itself
  asks for threads), it runs inline on that helper, so nested use never deadlocks.
* ``workers()``: :func:`get_num_threads` capped by the idle cores, re-measured at most once a
  second from ``/proc/stat`` (the load average where that is missing).
* ``Background(fn)``: ``fn()`` handed to a helper while the caller goes on; ``result()``
  waits for it, or runs it on the caller if no helper took it yet. The autograd engine's
  background gradients (a convolution's weight gradient) use it.
* ``addmm(bias, a, b)`` and ``products(pairs, extra)``: a product plus its bias, and several
  independent products (a backward's gradients), each one job, so the helpers are woken
  once: waking a sleeping helper takes 50-150 µs here, about a twentieth of a transformer
  layer's products, so a job per product adds up.

``set_num_threads(n)`` (or the environment variable ``NUMTORCH_NUM_THREADS``) caps all of them;
``set_num_threads(1)`` makes numtorch single-threaded (everything runs on the calling thread).
A forked child (a DataLoader worker) starts with an empty pool. ``OPENBLAS_NUM_THREADS``,
``MKL_NUM_THREADS`` or ``OMP_NUM_THREADS`` cap the threads of a product. Keeping BLAS on one
thread needs ``threadpoolctl``; without it BLAS is left alone.

Determinism: how work is cut depends only on its shapes and :func:`get_num_threads`, never on
how many threads happen to be free, so a product or a pass gives the same bits on a quiet and
a busy machine, and on one thread or two. (OpenBLAS's own threads do not: a 128×784 @ 784×400
float32 product differed in the last bit between one and two OpenBLAS threads.) Cut and whole
products may differ in the last bit, so ``set_num_threads(1)`` (never cut) and the default can
differ there.
"""

import itertools
import math
import os
import queue
import threading
import time
from typing import Any

import numpy as np

from ._fperr import quiet_call

_requested = None  # set_num_threads(n) or NUMTORCH_NUM_THREADS; None: the default
_limiter = None


def _controller():
    try:
        # deferred: startup time (threadpoolctl inspects the loaded BLAS libraries)
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


_affinity = {"time": -math.inf, "cpus": 1}


def _usable_cpus():
    """The CPUs this process may run on, re-read at most once a second (the system call cost
    a microsecond or two on every op that asks how many threads to use)."""
    now = time.monotonic()
    if now - _affinity["time"] >= 1.0:
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not on Linux
            cpus = os.cpu_count() or 1
        _affinity["time"], _affinity["cpus"] = now, cpus
    return _affinity["cpus"]


def _limit_blas(n):
    global _limiter
    controller = _controller()
    if controller is None:
        return False
    _limiter = controller.limit(limits=n, user_api="blas")
    return True


def set_num_threads(n):
    """Sets the number of threads numtorch uses for intra-op parallelism (like
    ``torch.set_num_threads``): the most threads a large matrix product or a batched kernel is
    shared among. BLAS itself always runs on one thread."""
    global _requested
    n = int(n)
    if n < 1:
        raise ValueError("set_num_threads expects a positive integer")
    if not _limit_blas(1):
        raise RuntimeError(
            "set_num_threads needs the package threadpoolctl (pip install threadpoolctl), or set "
            "OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before starting Python")
    _requested = n
    _sample.clear()


def get_num_threads():
    """Returns the number of threads numtorch may use for intra-op parallelism: the value given
    to :func:`set_num_threads`, by default the number of CPUs this process may run on."""
    return _requested if _requested is not None else _usable_cpus()


def _apply_default():
    """numtorch's import-time setting: BLAS at rest on one thread, the thread cap from
    NUMTORCH_NUM_THREADS if set."""
    global _requested
    wanted = os.environ.get("NUMTORCH_NUM_THREADS")
    try:
        if wanted is None:
            _limit_blas(1)
        else:
            set_num_threads(int(wanted))
    except (RuntimeError, ValueError):
        _requested = None


# ---------------------------------------------------------------------------- idle cores
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_sample: dict[str, Any] = {}  # the last /proc/stat reading and the worker count chosen from it


def _read_proc_stat():
    """``(total ticks, idle ticks)`` since boot of the CPUs this process may run on (all CPUs
    where the per-CPU lines are missing): under ``taskset`` the other CPUs' load is no
    business of ours."""
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:  # pragma: no cover - not on Linux
        allowed = None
    total = idle = 0
    with open("/proc/stat", "rb") as f:
        first = f.readline().split()
        for line in f:
            if not line.startswith(b"cpu"):
                break
            fields = line.split()
            if allowed is None or int(fields[0][3:]) in allowed:
                ticks = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq ...
                total += sum(ticks)
                idle += ticks[3] + ticks[4]
    if not total:
        ticks = [int(v) for v in first[1:9]]
        return sum(ticks), ticks[3] + ticks[4]
    return total, idle


def _own_cpu_seconds():
    """CPU time this process (all its threads) has used."""
    t = os.times()
    return t.user + t.system


def _load_of_others():
    """The one-minute load average less this process's own running thread."""
    try:
        return max(0.0, os.getloadavg()[0] - 1.0)
    except (AttributeError, OSError):  # pragma: no cover - not on a Unix
        return 0.0


def _cores_busy_with_others():
    """Cores that other processes kept busy since the previous call (None on the first call),
    from the CPU time of the whole machine minus this process's own."""
    now = time.monotonic()
    own = _own_cpu_seconds()
    try:
        total, idle = _read_proc_stat()
    except (OSError, ValueError, IndexError):
        return _load_of_others()
    previous = _sample.get("reading")
    _sample["reading"] = (now, own, total, idle)
    if previous is None or total <= previous[2]:
        return None
    d_total, d_idle = total - previous[2], idle - previous[3]
    d_own = (own - previous[1]) * _CLOCK_TICKS
    busy = max(0.0, d_total - d_idle - d_own)
    return busy / d_total * _usable_cpus()


def workers():
    """How many threads a batched kernel may use now: :func:`get_num_threads`, capped by the
    cores other processes leave idle (re-measured at most once a second)."""
    limit = get_num_threads()
    if limit <= 1:
        return 1
    now = time.monotonic()
    if now - _sample.get("time", -math.inf) >= 1.0:
        busy = _cores_busy_with_others()
        if busy is None:  # first reading: nothing to compare with yet
            busy = _load_of_others()
        free = _usable_cpus() - busy
        _sample["time"], _sample["workers"] = now, max(1, min(limit, int(free + 0.5)))
    return _sample["workers"]


# ------------------------------------------------------------------------- threads for a job
#: Work (multiply-adds for a product; see :func:`threads_for`) below which an extra thread does
#: not pay: waking one and handing it a share costs about 50 µs here, a product of this many
#: multiply-adds about 80 µs on one core.
FLOPS_PER_THREAD = 4_000_000
FLOPS_PER_BLAS_THREAD = FLOPS_PER_THREAD  # the name of earlier versions

_MAIN_THREAD = threading.main_thread().ident


def _blas_env_cap():
    """The BLAS thread count the environment asks for (``OPENBLAS_NUM_THREADS``,
    ``MKL_NUM_THREADS``, ``OMP_NUM_THREADS``; the smallest set one), or None."""
    caps = []
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        try:
            caps.append(int(os.environ[name].split(",")[0]))
        except (KeyError, ValueError):
            continue
    return max(1, min(caps)) if caps else None


_BLAS_ENV_CAP = _blas_env_cap()


def threads_for(work, per_thread=None):
    """How many threads (the caller included) a job of ``work`` units should use now.

    ``work`` is measured in the units of ``per_thread``, the work below which an extra thread
    does not pay for waking it (default :data:`FLOPS_PER_THREAD` multiply-adds, about 80 µs on
    one core). The answer is ``work // per_thread``, capped by :func:`get_num_threads` and by
    the cores other processes leave idle (:func:`workers`, re-measured at most once a second),
    and 1 below two threads' worth of work or off the main thread (numtorch's own workers and
    rank threads are already parallel). Cheap enough to call per op (under a microsecond)."""
    per = FLOPS_PER_THREAD if per_thread is None else per_thread
    if work < 2 * per or threading.get_ident() != _MAIN_THREAD:
        return 1
    threads = min(int(work // per), get_num_threads())
    return 1 if threads <= 1 else min(threads, workers())


def run_chunks(fn, chunks, threads):
    """Call ``fn(i)`` for each ``i`` in ``range(chunks)`` on up to ``threads`` threads, the
    calling thread included, and return when all calls have returned.

    This is numtorch's one worker pool (the element-wise passes of ``ops/_parallel.py``, the
    convolution blocks of ``ops/_runtime.py``, the cut products of :func:`matmul` and the
    optimizers' updates all run on it). The chunks are handed out one at a time to whichever
    thread is free, so a helper that another process delays takes fewer of them; the helpers
    are daemon threads sleeping on a queue between jobs (they never spin). ``fn`` should
    release the GIL for most of its time (NumPy, BLAS and the compiled kernels do).

    The helpers run ``fn`` under the caller's NumPy error state (``np.errstate``). The first
    exception raised by a chunk is raised here after all chunks have run. A call made from one
    of the helpers (a chunk that itself asks for threads) runs its chunks on that helper alone,
    so nested calls never wait for a busy pool. With ``threads <= 1`` every chunk runs here, in
    order."""
    if threads <= 1 or chunks <= 1 or threading.get_ident() in _team.helpers:
        for i in range(chunks):
            fn(i)
        return
    job = _Job(fn, chunks)
    _team.start(min(threads, chunks) - 1, job)
    job.work()
    if not job.finished:
        job.lock.acquire()  # released by the helper that finishes the last chunk
    if job.error is not None:
        raise job.error


class Background:
    """``fn()`` handed to a helper thread, to run while the caller goes on; :meth:`result`
    returns its value (or raises its exception). A helper takes it when it is free (after the
    jobs queued before it); if none has by the time :meth:`result` is called, the caller runs
    it there and then. Start one only where :func:`threads_for` gives a second thread, from
    the main thread, and only on arrays nothing writes to until the result is taken."""

    __slots__ = ("job", "value")

    def __init__(self, fn):
        self.value = None

        def run(_):
            self.value = fn()

        self.job = _Job(run, 1)
        _team.start(1, self.job)

    def done(self):
        """Whether ``fn`` has returned (or raised)."""
        return self.job.finished

    def result(self):
        """``fn()``'s value, waiting for it (or computing it here) if need be; once only (this
        object lets go of the value, so the caller holds its only reference)."""
        job = self.job
        job.work()  # (runs fn here unless a helper took it)
        if not job.finished:
            job.lock.acquire()
        if job.error is not None:
            raise job.error
        value, self.value = self.value, None
        return value


class _Job:
    __slots__ = ("fn", "n", "take", "count_done", "lock", "finished", "error", "errstate")

    def __init__(self, fn, n):
        self.fn, self.n = fn, n
        self.take = itertools.count().__next__  # atomic under the GIL
        self.count_done = itertools.count(1).__next__
        self.lock = threading.Lock()
        self.lock.acquire()
        self.finished = False
        self.error = None
        self.errstate = np.geterr()  # NumPy's error state is per thread: helpers take the caller's

    def work(self):
        n = self.n
        while True:
            i = self.take()
            if i >= n:
                return
            try:
                self.fn(i)
            except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
                if self.error is None:
                    self.error = exc
            if self.count_done() == n:
                # no chunk is left to run: drop the work's arrays now, not when the last
                # helper to wake (or the queue) lets go of this job
                self.fn = None
                self.finished = True
                self.lock.release()


class _Team:
    """numtorch's helper threads: daemons waiting on a queue for jobs to share."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.helpers: set[int] = set()  # their thread ids: a call from one of them runs inline
        self.size = 0
        self.guard = threading.Lock()

    def start(self, helpers, job):
        if self.size < helpers:
            with self.guard:
                while self.size < helpers:
                    threading.Thread(target=self._serve, name=f"numtorch-{self.size}",
                                     daemon=True).start()
                    self.size += 1
        for _ in range(helpers):
            self.jobs.put(job)

    def _serve(self):
        self.helpers.add(threading.get_ident())
        get = self.jobs.get
        while True:
            job = get()
            with np.errstate(**job.errstate):
                job.work()
            del job  # waiting for the next one must not keep this one's arrays alive


_team = _Team()


def _forget_team():
    global _team
    _team = _Team()


if hasattr(os, "register_at_fork"):
    # a forked child (a DataLoader worker) has none of its parent's helper threads
    os.register_at_fork(after_in_child=_forget_team)


# ---------------------------------------------------------------------- matrix products
_ALIGN = 16  # chunk edges at multiples of 16 rows or columns (64-byte float32 runs)


def blas_threads_for(m, n, k):
    """How many threads a product of an ``m×k`` and a ``k×n`` matrix uses now
    (:func:`threads_for` of its ``m * n * k`` multiply-adds), never more than
    ``OPENBLAS_NUM_THREADS`` (or ``MKL_NUM_THREADS``, ``OMP_NUM_THREADS``) if the environment
    sets it."""
    threads = threads_for(m * n * k)
    if _BLAS_ENV_CAP is not None:
        threads = min(threads, _BLAS_ENV_CAP)
    return threads


def _chunk_count(work, extent):
    """How many pieces a product of ``work`` multiply-adds is cut into, along a dimension of
    ``extent``: fixed by the shapes and the thread settings, never by the machine's load, so a
    product gives the same bits on a quiet and on a busy machine."""
    if work < 2 * FLOPS_PER_THREAD:
        return 1
    chunks = min(int(work // FLOPS_PER_THREAD), get_num_threads(), extent // _ALIGN)
    if _BLAS_ENV_CAP is not None:
        chunks = min(chunks, _BLAS_ENV_CAP)
    return max(1, chunks)


def matmul(a, b):
    """``a @ b`` (NumPy arrays), a large product shared among threads.

    A product of at least ``2 * FLOPS_PER_THREAD`` multiply-adds is cut into pieces (blocks of
    the result's rows or columns, or of a stack's matrices), as many as it has
    ``FLOPS_PER_THREAD``, up to :func:`get_num_threads`; the pieces are computed by BLAS on one
    thread each, shared among as many threads as :func:`threads_for` gives now. A stack of
    matrices times a single matrix is computed as one product over all rows."""
    if a.dtype == np.float16 or b.dtype == np.float16:
        # float16 products overflow easily; PyTorch gives inf without a warning
        return quiet_call(_matmul, a, b)
    return _matmul(a, b)


def _matmul(a, b):
    if a.ndim < 2 or b.ndim < 2:
        return a @ b
    if a.ndim > 2 or b.ndim > 2:
        if b.ndim == 2 and a.size and a.shape[-1] == b.shape[0]:
            # a stack of matrices times one matrix (``linear`` on a batch of sequences) is one
            # product over all rows: NumPy would loop over small products, each too small to share
            return _matmul(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + b.shape[-1:])
        return _batched(a, b)
    if a.shape[0] * a.shape[1] * b.shape[1] < 2 * FLOPS_PER_THREAD:
        return a @ b  # (too small to cut: see _chunk_count)
    plan = _plan(a, b)
    if plan is None:
        return a @ b
    out, piece, chunks = plan
    run_chunks(piece, chunks, blas_threads_for(a.shape[0], b.shape[1], a.shape[1]))
    return out


def _plan(a, b, bias=None):
    """How the 2-D product ``a @ b`` (plus ``bias``, broadcast to the result, if given) is cut:
    ``(out, piece, chunks)`` where ``piece(i)`` writes block ``i`` of ``out``, or None when the
    product stays whole (too small, or not a float product BLAS takes as it is)."""
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or a.dtype != b.dtype or a.dtype.kind not in "fc":
        return None
    if n >= m:
        chunks = _chunk_count(m * n * k, n)
        if chunks == 1:
            return None
        out = np.empty((m, n), a.dtype)
        bounds = _bounds(n, chunks)

        def piece(i):
            s, e = bounds[i], bounds[i + 1]
            block = out[:, s:e]
            np.matmul(a, b[:, s:e], out=block)
            if bias is not None:
                block += bias[:, s:e]
    else:
        chunks = _chunk_count(m * n * k, m)
        if chunks == 1:
            return None
        out = np.empty((m, n), a.dtype)
        bounds = _bounds(m, chunks)

        def piece(i):
            s, e = bounds[i], bounds[i + 1]
            block = out[s:e]
            np.matmul(a[s:e], b, out=block)
            if bias is not None:
                block += bias[s:e]
    return out, piece, len(bounds) - 1


def addmm(bias, a, b):
    """``a @ b + bias`` (2-D arrays of one float dtype, ``bias`` broadcastable to the result),
    each piece of a cut product adding its block of the bias while that block is in cache, in
    the same job (the bits of ``matmul(a, b) + bias``)."""
    if (a.ndim == 2 and b.ndim == 2 and a.shape[1] == b.shape[0] and bias.dtype == a.dtype
            and a.shape[0] * a.shape[1] * b.shape[1] >= 2 * FLOPS_PER_THREAD):
        try:
            full = np.broadcast_to(bias, (a.shape[0], b.shape[1]))
        except ValueError:
            full = None
        plan = None if full is None else _plan(a, b, full)
        if plan is not None:
            out, piece, chunks = plan
            run_chunks(piece, chunks, blas_threads_for(a.shape[0], b.shape[1], a.shape[1]))
            return out
    out = matmul(a, b)
    out += bias
    return out


def products(pairs, extra=()):
    """``[a @ b for a, b in pairs]`` (2-D arrays) computed in one job, with the callables
    ``extra`` (each one more chunk, run for its side effect): the helpers are woken once for
    all of them (a backward's input and weight gradients), and whichever thread is free takes
    the next piece. Each product is cut as :func:`matmul` cuts it alone (the same bits)."""
    plan = product_jobs(pairs, extra)
    if plan is None:
        # none of them is cut: no job to share (its bookkeeping costs more than the products of
        # a small layer's backward)
        for f in extra:
            f()
        return [matmul(a, b) for a, b in pairs]
    outs, jobs, threads = plan
    run_chunks(lambda i: jobs[i](), len(jobs), threads)
    return outs


def product_jobs(pairs, extra=()):
    """The job of :func:`products` without running it: ``(outs, jobs, threads)``, where calling
    each of ``jobs`` once (in any order, on any threads, ``threads`` of them suggested) fills
    the arrays ``outs`` with the products and runs ``extra``; None where none of the products is
    large enough to cut (:func:`products` then computes them whole). Lets a caller that already
    holds awake threads hand them the products without waking the helpers again."""
    if sum(a.shape[0] * a.shape[1] * b.shape[1] for a, b in pairs
           if a.ndim == 2 and b.ndim == 2) < 2 * FLOPS_PER_THREAD:
        return None
    outs, jobs, work = [], list(extra), 0
    for a, b in pairs:
        plan = _plan(a, b) if a.ndim == 2 and b.ndim == 2 else None
        if plan is None:
            if (a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0] or a.dtype != b.dtype
                    or a.dtype.kind not in "fc" or a.dtype == np.float16):
                outs.append(None)  # computed alone by matmul below
                jobs.append(None)
                continue
            out = np.empty((a.shape[0], b.shape[1]), a.dtype)
            outs.append(out)
            jobs.append(lambda a=a, b=b, out=out: np.matmul(a, b, out=out))
        else:
            out, piece, chunks = plan
            outs.append(out)
            jobs.extend(lambda piece=piece, i=i: piece(i) for i in range(chunks))
        work += a.shape[0] * a.shape[1] * b.shape[1]
    for i, (a, b) in enumerate(pairs):
        if outs[i] is None:
            outs[i] = matmul(a, b)
    jobs = [j for j in jobs if j is not None]
    threads = threads_for(work)
    if _BLAS_ENV_CAP is not None:
        threads = min(threads, _BLAS_ENV_CAP)
    return outs, jobs, threads


def _batched(a, b):
    """A stack of products with the same leading (batch) shape, shared by blocks of matrices."""
    if (a.ndim != b.ndim or a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]
            or a.dtype != b.dtype or a.dtype.kind not in "fc"):
        return a @ b
    batch = math.prod(a.shape[:-2])
    m, k = a.shape[-2:]
    n = b.shape[-1]
    work = batch * m * n * k
    chunks = _chunk_count(work, batch * _ALIGN)
    if chunks == 1:
        return a @ b
    a3 = a.reshape((batch, m, k))
    b3 = b.reshape((batch, k, n))
    out = np.empty((batch, m, n), a.dtype)
    bounds = [batch * i // chunks for i in range(chunks + 1)]

    def piece(i):
        s, e = bounds[i], bounds[i + 1]
        np.matmul(a3[s:e], b3[s:e], out=out[s:e])

    run_chunks(piece, chunks, blas_threads_for(batch * m, n, k))
    return out.reshape(a.shape[:-1] + (n,))


def _bounds(extent, chunks):
    """The edges cutting ``range(extent)`` into at most ``chunks`` near-equal pieces, each
    starting at a multiple of ``_ALIGN``."""
    step = -(-extent // chunks)
    step = -(-step // _ALIGN) * _ALIGN
    return list(range(0, extent, step)) + [extent]
