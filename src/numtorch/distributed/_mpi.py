"""Access to MPI (through mpi4py), the engine under ``numtorch.distributed``.

mpi4py is an optional dependency (``pip install 'numtorch[distributed]'``); everything that needs
it goes through :func:`mpi`, which says what to install when it is missing.
"""

import importlib.util
import os
import signal
import sys
import time

import numpy as np

INSTALL_HINT = ("numtorch.distributed runs on MPI through mpi4py, which is not installed: "
                "pip install 'numtorch[distributed]' (mpi4py and an MPI library such as mpich, "
                "which brings mpiexec)")

# Environment variables through which MPI launchers tell a process its rank (hydra/mpich,
# Open MPI, Slurm's PMI, Intel MPI); (rank, size, local rank, local size).
_LAUNCHER_VARS = (
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE"),
    ("PMIX_RANK", "PMIX_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
)

_MPI = None


def is_available():
    """Whether mpi4py can be imported (without initialising MPI)."""
    try:
        return importlib.util.find_spec("mpi4py") is not None
    except (ImportError, ValueError):
        return False


def mpi(timeout=None):
    """The ``mpi4py.MPI`` module (importing it initialises MPI), or a clear error.

    MPI's initialisation waits for every rank of the job to start it, inside C code that holds
    the interpreter. With ``timeout`` (seconds) a forked watchdog ends this process after that
    long, saying why, if the initialisation has not finished.
    """
    global _MPI
    if _MPI is None:
        watchdog = _start_watchdog(timeout) if timeout is not None else None
        try:
            from mpi4py import MPI  # deferred: optional dependency (mpi4py)
        except ImportError as e:
            raise RuntimeError(INSTALL_HINT) from e
        finally:
            if watchdog is not None:
                os.kill(watchdog, signal.SIGKILL)
                os.waitpid(watchdog, 0)
        _MPI = MPI
    return _MPI


def _start_watchdog(timeout):
    if not hasattr(os, "fork"):  # pragma: no cover - not POSIX
        return None
    rank = launcher_env()
    message = (f"numtorch.distributed: rank {rank[0] if rank else '?'} timed out after "
               f"{timeout:g} s starting MPI: another rank of the job never called "
               f"init_process_group (it died or failed before it)\n").encode()
    parent = os.getpid()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid == 0:  # the watchdog: only async-signal-safe calls from here on
        try:
            time.sleep(timeout)
            os.write(2, message)
            os.kill(parent, signal.SIGTERM)
        finally:
            os._exit(0)
    return pid


def launcher_env(environ=None):
    """``(rank, size, local_rank, local_size)`` set by an MPI launcher, or ``None``."""
    environ = os.environ if environ is None else environ
    for rank, size, local_rank, local_size in _LAUNCHER_VARS:
        if rank in environ and size in environ:
            r, s = int(environ[rank]), int(environ[size])
            lr = int(environ.get(local_rank, r))
            ls = int(environ.get(local_size, s))
            return r, s, lr, ls
    return None


_TYPES = {"bool": "C_BOOL", "int8": "INT8_T", "int16": "INT16_T", "int32": "INT32_T",
          "int64": "INT64_T", "uint8": "UINT8_T", "uint16": "UINT16_T", "uint32": "UINT32_T",
          "uint64": "UINT64_T", "float32": "FLOAT", "float64": "DOUBLE",
          "complex64": "C_FLOAT_COMPLEX", "complex128": "C_DOUBLE_COMPLEX"}


def datatype(dtype):
    """The predefined MPI datatype of a NumPy dtype, or ``None`` when MPI has none (float16,
    bfloat16): such tensors travel widened."""
    name = _TYPES.get(np.dtype(dtype).name)
    return None if name is None else getattr(mpi(), name)
