"""Access to MPI (through mpi4py), the engine under ``numtorch.distributed``.

mpi4py is an optional dependency (``pip install 'numtorch[distributed]'``); everything that needs
it goes through :func:`mpi`, which says what to install when it is missing.
"""

import os

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
    import importlib.util
    try:
        return importlib.util.find_spec("mpi4py") is not None
    except (ImportError, ValueError):
        return False


def mpi():
    """The ``mpi4py.MPI`` module (importing it initialises MPI), or a clear error."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise RuntimeError(INSTALL_HINT) from e
        _MPI = MPI
    return _MPI


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
