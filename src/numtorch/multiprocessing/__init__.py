"""``torch.multiprocessing``: Python's :mod:`multiprocessing`, with tensors in shared memory.

Everything :mod:`multiprocessing` offers is here (``Process``, ``Queue``, ``get_context``,
``set_start_method``, …), plus :func:`spawn`. Importing the module registers the tensor
reducers: a tensor moved to shared memory with ``share_memory_()`` (or a model with
``share_memory()``) reaches other processes as a handle on the same memory, which is what
Hogwild-style training (several processes updating one model) relies on.
"""

import multiprocessing
from multiprocessing import *  # noqa: F401,F403

from .reductions import init_reductions
from .spawn import (
    ProcessContext,
    ProcessExitedException,
    ProcessRaisedException,
    spawn,
    start_processes,
)

__all__ = ["ProcessContext", "ProcessExitedException", "ProcessRaisedException",
           "get_all_sharing_strategies", "get_sharing_strategy", "set_sharing_strategy", "spawn",
           "start_processes"] + list(multiprocessing.__all__)

init_reductions()

_STRATEGIES = {"file_system"}
_strategy = "file_system"


def set_sharing_strategy(new_strategy):
    """Only ``"file_system"`` (a named file in ``/dev/shm``) is available."""
    global _strategy
    if new_strategy not in _STRATEGIES:
        raise ValueError(f"numtorch shares tensors through named files only: sharing strategy "
                         f"{new_strategy!r} is not available (use 'file_system')")
    _strategy = new_strategy


def get_sharing_strategy():
    return _strategy


def get_all_sharing_strategies():
    return set(_STRATEGIES)
