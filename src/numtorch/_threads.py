"""How many threads NumPy's BLAS may use for numtorch's matrix products.

numtorch's matrices are small (LeNet's largest product is a few MFLOP), where a second BLAS thread
gains little, and when another process shares the cores a spinning BLAS thread pool collapses
(a 64×400 @ 400×120 product measured 70× slower with 2 OpenBLAS threads on 2 busy cores).
So numtorch uses one BLAS thread by default; ``set_num_threads(n)`` or the environment variable
``NUMTORCH_NUM_THREADS`` choose otherwise. The limit applies to the whole process's NumPy BLAS.
It needs ``threadpoolctl``; without it the BLAS default is left alone.
"""

import os

_limiter = None


def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def set_num_threads(n):
    """Set the number of BLAS threads used for matrix products (like ``torch.set_num_threads``)."""
    global _limiter
    n = int(n)
    if n < 1:
        raise ValueError("set_num_threads expects a positive integer")
    controller = _controller()
    if controller is None:
        raise RuntimeError(
            "set_num_threads needs the package threadpoolctl (pip install threadpoolctl), or set "
            "OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before starting Python")
    _limiter = controller.limit(limits=n, user_api="blas")


def get_num_threads():
    """The number of BLAS threads NumPy currently uses."""
    controller = _controller()
    if controller is None:
        return int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count() or 1))
    infos = [lib.num_threads for lib in controller.lib_controllers if lib.user_api == "blas"]
    return infos[0] if infos else 1


def _apply_default():
    wanted = os.environ.get("NUMTORCH_NUM_THREADS", "1")
    try:
        set_num_threads(int(wanted))
    except (RuntimeError, ValueError):
        pass
