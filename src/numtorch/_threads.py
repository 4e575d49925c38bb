"""How many threads numtorch uses, and for what.

* **Matrix products (NumPy's BLAS): threads by size.** BLAS rests on one thread. A product
  routed through :func:`matmul` (``mm``, ``addmm``, ``bmm``, ``matmul`` and their gradients)
  with at least ``2 * FLOPS_PER_BLAS_THREAD`` multiply-adds runs on one BLAS thread per
  :data:`FLOPS_PER_BLAS_THREAD` of them, up to :func:`get_num_threads` and only as many as there
  are idle cores (see :func:`workers`), then BLAS goes back to one thread. Small products
  (LeNet's largest is 3 M multiply-adds) stay on one thread: waking a second one costs about as
  much as it saves, and when another process shares the cores a spinning BLAS thread pool
  collapses (a 64×400 @ 400×120 product measured 70× slower with 2 OpenBLAS threads on 2 busy
  cores). The switch is OpenBLAS's (or MKL's) own ``set_num_threads`` called through ctypes,
  about 1 µs; threadpoolctl's ``limit`` is far slower per call. Where no such switch exists
  (OpenBLAS built on OpenMP, BLIS) products stay on one thread. Only the main thread switches:
  the setting is process-wide, so products from numtorch's workers or rank threads keep one.
* **Convolutions: a batch split among numtorch's own worker threads**, up to
  :func:`get_num_threads`, but only as many as there are cores that other processes leave idle,
  measured over about the last second (``/proc/stat``; the load average where that is missing).
  These threads wait on a lock instead of spinning, so a busy machine costs them little.

``set_num_threads(n)`` (or the environment variable ``NUMTORCH_NUM_THREADS``) caps both;
``set_num_threads(1)`` makes numtorch single-threaded. Controlling BLAS needs ``threadpoolctl``;
without it BLAS is left alone.

Determinism: OpenBLAS splits a product among threads by blocks of rows and columns of the
result, never along the summed dimension, so each element is computed by the same kernel in the
same order whatever the thread count; with OpenBLAS 0.3.31 (NumPy 2.4's wheel) float32 products
of the char GPT's sizes (4096×128 @ 128×384 and others) were bitwise the same on 1 and 2
threads. Other BLAS libraries or versions may differ in the last bit between thread counts, and
so between a quiet and a busy machine.
"""

import math
import os
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


def _usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _limit_blas(n):
    global _limiter, _blas_now
    controller = _controller()
    if controller is None:
        return False
    _limiter = controller.limit(limits=n, user_api="blas")
    _blas_now = n
    return True


def set_num_threads(n):
    """Sets the number of threads numtorch uses for intra-op parallelism (like
    ``torch.set_num_threads``): the most BLAS threads a large matrix product uses and the most
    worker threads a convolution uses. BLAS itself stays on one thread between products."""
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
    """``(total ticks, idle ticks)`` of all CPUs since boot."""
    with open("/proc/stat", "rb") as f:
        fields = f.readline().split()
    ticks = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return sum(ticks), ticks[3] + ticks[4]


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
    return busy / d_total * (os.cpu_count() or 1)


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


# ---------------------------------------------------------------------- BLAS threads per product
#: A product of at least this many multiply-adds (m * n * k) per extra BLAS thread gets one: below
#: it, waking a thread (about 60 µs here) costs more than the share of the work it takes.
FLOPS_PER_BLAS_THREAD = 4_000_000

_MAIN_THREAD = threading.main_thread().ident
_blas_now = None  # the BLAS thread count numtorch last set (None: not set by numtorch)
_blas_setter = None  # None: not looked up yet; False: none found; else a fast setter


def _find_blas_setter():
    """A function that sets the BLAS thread count in about a microsecond (OpenBLAS's
    ``openblas_set_num_threads``, or MKL's, through ctypes), or False."""
    controller = _controller()
    if controller is None:
        return False
    for lib in controller.lib_controllers:
        if lib.user_api != "blas":
            continue
        get_symbol = getattr(lib, "_get_symbol", None)
        if get_symbol is None:  # pragma: no cover - an older threadpoolctl
            return False
        if lib.internal_api == "openblas" and getattr(lib, "threading_layer", "") == "pthreads":
            fn = get_symbol("openblas_set_num_threads")
        elif lib.internal_api == "mkl":
            fn = get_symbol("MKL_Set_Num_Threads")
        else:  # OpenBLAS on OpenMP, BLIS, ...: thread limits there are per thread or slow
            fn = None
        if fn is not None:
            return fn
    return False


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


def _set_blas(n):
    global _blas_now
    _blas_setter(n)
    _blas_now = n


def blas_threads_for(m, n, k):
    """How many BLAS threads a product of an ``m×k`` and a ``k×n`` matrix should use: one below
    :data:`FLOPS_PER_BLAS_THREAD` multiply-adds per thread, otherwise up to
    :func:`get_num_threads`, capped by the cores other processes leave idle (:func:`workers`).
    Always one off the main thread (numtorch's own workers, rank threads), where several threads
    share one process-wide BLAS setting, and never more than ``OPENBLAS_NUM_THREADS`` (or
    ``MKL_NUM_THREADS``, ``OMP_NUM_THREADS``) if the environment sets it."""
    size = m * n * k
    if size < 2 * FLOPS_PER_BLAS_THREAD or threading.get_ident() != _MAIN_THREAD:
        return 1
    threads = min(size // FLOPS_PER_BLAS_THREAD, get_num_threads())
    if _BLAS_ENV_CAP is not None:
        threads = min(threads, _BLAS_ENV_CAP)
    return 1 if threads <= 1 else max(1, min(threads, workers()))


def matmul(a, b):
    """``a @ b`` (NumPy arrays) on the BLAS threads :func:`blas_threads_for` picks for one of its
    matrix products; BLAS is back on one thread afterwards. A stack of matrices times a single
    matrix is computed as one product over all rows."""
    if a.dtype == np.float16 or b.dtype == np.float16:
        # float16 products overflow easily; PyTorch gives inf without a warning
        return quiet_call(_matmul, a, b)
    return _matmul(a, b)


def _matmul(a, b):
    if a.ndim < 2 or b.ndim < 2:
        return a @ b
    if a.ndim > 2 and b.ndim == 2 and a.size and a.shape[-1] == b.shape[0]:
        # a stack of matrices times one matrix (``linear`` on a batch of sequences) is one
        # product over all rows: NumPy would loop over small products, each too small to share
        return _matmul(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + b.shape[-1:])
    threads = blas_threads_for(a.shape[-2], b.shape[-1], a.shape[-1])
    if threads == 1:
        return a @ b
    global _blas_setter
    if _blas_setter is None:
        _blas_setter = _find_blas_setter()
    if _blas_setter is False or _blas_now != 1:  # no fast switch, or not at rest on one thread
        return a @ b
    _set_blas(threads)
    try:
        return a @ b
    finally:
        _set_blas(1)
