"""How many threads numtorch uses, and for what.

* **Matrix products (NumPy's BLAS): one thread by default.** numtorch's matrices are small
  (LeNet's largest product is a few MFLOP), where a second BLAS thread gains little, and when
  another process shares the cores a spinning BLAS thread pool collapses (a 64×400 @ 400×120
  product measured 70× slower with 2 OpenBLAS threads on 2 busy cores).
* **Convolutions: a batch split among numtorch's own worker threads**, up to
  :func:`get_num_threads`, but only as many as there are cores that other processes leave idle,
  measured over about the last second (``/proc/stat``; the load average where that is missing).
  These threads wait on a lock instead of spinning, so a busy machine costs them little.

``set_num_threads(n)`` (or the environment variable ``NUMTORCH_NUM_THREADS``) caps both: BLAS
gets ``n`` threads and the convolutions at most ``n`` workers; ``set_num_threads(1)`` makes
numtorch single-threaded. The BLAS limit needs ``threadpoolctl``; without it BLAS is left alone.
"""

import math
import os
import time

_requested = None  # set_num_threads(n) or NUMTORCH_NUM_THREADS; None: the default
_limiter = None


def _controller():
    try:
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
    global _limiter
    controller = _controller()
    if controller is None:
        return False
    _limiter = controller.limit(limits=n, user_api="blas")
    return True


def set_num_threads(n):
    """Sets the number of threads numtorch uses for intra-op parallelism (like
    ``torch.set_num_threads``): BLAS threads for matrix products and worker threads for
    convolutions."""
    global _requested
    n = int(n)
    if n < 1:
        raise ValueError("set_num_threads expects a positive integer")
    if not _limit_blas(n):
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
    """numtorch's import-time setting: BLAS on one thread unless NUMTORCH_NUM_THREADS says."""
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
_sample = {}  # the last /proc/stat reading and the worker count chosen from it


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
