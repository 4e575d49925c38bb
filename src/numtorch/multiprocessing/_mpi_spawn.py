"""``spawn`` through ``mpiexec``: the processes of ``mp.spawn`` as the ranks of one MPI job.

PyTorch's DDP tutorials start their ranks with ``mp.spawn(fn, args, nprocs=world_size)`` and
call ``init_process_group(rank=rank, world_size=world_size)`` in each. numtorch's process groups
are MPI jobs, and processes that MPI did not start cannot form one, so :func:`spawn` with the
``"spawn"`` start method starts its processes through ``mpiexec`` when MPI is there: each rank
prepares itself as a ``spawn`` child would (the parent's ``sys.path``, its main module imported
as ``__mp_main__``), unpickles ``fn`` and ``args`` and runs ``fn(rank, *args)``. A rank that
raises leaves its traceback in a file; the parent then ends the job and raises it.
"""

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from multiprocessing import spawn as mp_spawn
from multiprocessing.reduction import ForkingPickler

from ..distributed import _mpi
from ..distributed.run import _die_with_parent, _find_mpiexec
from .spawn import ProcessExitedException, ProcessRaisedException

__all__ = ["available", "run"]


def available():
    """Whether to start ``spawn`` processes through mpiexec: MPI is installed and this process
    is not itself a rank of an MPI job."""
    return (os.environ.get("NUMTORCH_SPAWN_WITH_MPI", "1") != "0"
            and _mpi.launcher_env() is None and _mpi.is_available()
            and _find_mpiexec() is not None)


class MPIProcessContext:
    """The ranks started by one :func:`run`; :meth:`join` waits for them (``ProcessContext``'s
    interface)."""

    def __init__(self, proc, workdir, nprocs):
        self.proc = proc
        self.workdir = workdir
        self.nprocs = nprocs

    def pids(self):
        return [self.proc.pid]

    def join(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.proc.poll() is None:
            if self._first_error() is not None:
                time.sleep(0.2)  # let it finish writing, then end the other ranks
                self.proc.terminate()
                self.proc.wait()
                break
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        failed = self._first_error()
        status = self.proc.returncode
        try:
            if failed is not None:
                index, trace = failed
                raise ProcessRaisedException(
                    f"\n\n-- Process {index} terminated with the following error:\n{trace}",
                    index, self.proc.pid)
            if status != 0:
                raise ProcessExitedException(
                    f"process 0 terminated with exit code {status}", 0, self.proc.pid, status)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return True

    def _first_error(self):
        for index in range(self.nprocs):
            path = os.path.join(self.workdir, f"error_{index}.txt")
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    return index, f.read()
        return None


def run(fn, args, nprocs, join):
    """Run ``fn(i, *args)`` as ranks ``i`` of ``mpiexec -n nprocs``."""
    # deferred: cycle: the `numtorch run` hook is an application (upward import,
    # tests/test_import_layers.py)
    from ..apps import compat
    prep = mp_spawn.get_preparation_data("SpawnProcess")
    prep["authkey"] = bytes(prep["authkey"])  # plain pickle refuses the AuthenticationString
    call = bytes(ForkingPickler.dumps((fn, args)))  # fails here, before any file, if unpicklable
    workdir = tempfile.mkdtemp(prefix="numtorch_spawn_")
    with open(os.path.join(workdir, "prep.pkl"), "wb") as f:
        pickle.dump(prep, f)
    with open(os.path.join(workdir, "call.pkl"), "wb") as f:
        f.write(call)
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    if compat.is_installed():
        env["NUMTORCH_SPAWN_COMPAT"] = "1"
    cmd = [_find_mpiexec(), "-n", str(nprocs), sys.executable, "-m",
           "numtorch.multiprocessing._mpi_spawn", workdir]
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    proc = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent)
    context = MPIProcessContext(proc, workdir, nprocs)
    if not join:
        return context
    while not context.join():
        pass
    return None


def _child(workdir):
    if os.environ.get("NUMTORCH_SPAWN_COMPAT") == "1":
        # deferred: cycle: the `numtorch run` hook is an application (upward import,
        # tests/test_import_layers.py)
        from numtorch.apps import compat
        compat.install()
    rank = _mpi.launcher_env()[0]
    with open(os.path.join(workdir, "prep.pkl"), "rb") as f:
        mp_spawn.prepare(pickle.load(f))
    try:
        with open(os.path.join(workdir, "call.pkl"), "rb") as f:
            fn, args = pickle.load(f)
        fn(rank, *args)
    except KeyboardInterrupt:
        return 1
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises it
        if isinstance(e, SystemExit) and e.code in (None, 0):
            return 0
        with open(os.path.join(workdir, f"error_{rank}.txt"), "w", encoding="utf-8") as f:
            f.write(traceback.format_exc())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
