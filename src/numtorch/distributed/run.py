"""The launcher of distributed jobs: ``torchrun`` on MPI.

Usage::

    numtorch run --nproc-per-node N SCRIPT [ARGS...]
    python -m numtorch.distributed.run --nproc-per-node N SCRIPT [ARGS...]
    mpiexec -n N [-hosts ...] numtorch run SCRIPT [ARGS...]

The first two start ``N`` ranks through ``mpiexec``, each running ``numtorch run SCRIPT ARGS``
(so ``import torch`` is served by numtorch) with torchrun's environment: ``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``GROUP_RANK``, ``ROLE_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``, ``TORCHELASTIC_RUN_ID``, … and ``OMP_NUM_THREADS=1`` unless
set. Each rank's output goes to a log file, and is shown as torchrun's ``--tee`` shows it, every
line prefixed with ``[default<local rank>]:``; rank 0's lines come first, as they are written,
the other ranks' once the job has ended. The exit status is the job's (``mpiexec``'s).

Started by ``mpiexec`` itself, ``numtorch run SCRIPT`` reads the rank from MPI's launcher
variables and sets the same environment, on one host or many.
"""

import argparse
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid

from . import _mpi

__all__ = ["main", "become_rank"]


def _parser():
    p = argparse.ArgumentParser(
        prog="numtorch run",
        description="Start N ranks of a PyTorch program through mpiexec, with torchrun's "
                    "environment; 'import torch' is served by numtorch in every rank.")
    p.add_argument("--nproc-per-node", "--nproc_per_node", default="1",
                   help="number of ranks to start (an integer, or 'auto' for one per core)")
    p.add_argument("--nnodes", default="1",
                   help="must be 1: for several hosts, use 'mpiexec -n N -hosts ... numtorch "
                        "run SCRIPT'")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--master-addr", "--master_addr", default="localhost",
                   help="MASTER_ADDR for the ranks (MPI connects them; the address is "
                        "informative)")
    p.add_argument("--master-port", "--master_port", type=int, default=None,
                   help="MASTER_PORT for the ranks (default: a free port)")
    p.add_argument("--standalone", action="store_true", help="accepted, as torchrun's")
    p.add_argument("--rdzv-backend", "--rdzv_backend", default="static", help=argparse.SUPPRESS)
    p.add_argument("--rdzv-endpoint", "--rdzv_endpoint", default="", help=argparse.SUPPRESS)
    p.add_argument("--rdzv-id", "--rdzv_id", default="none", help=argparse.SUPPRESS)
    p.add_argument("--max-restarts", "--max_restarts", type=int, default=0,
                   help="must be 0: numtorch does not restart failed ranks")
    p.add_argument("--role", default="default", help="role name in the log prefix")
    p.add_argument("-t", "--tee", default="3", help="accepted; every rank's output is shown")
    p.add_argument("-r", "--redirects", default="0", help=argparse.SUPPRESS)
    p.add_argument("--log-dir", "--log_dir", default=None,
                   help="keep each rank's stdout/stderr under this directory")
    p.add_argument("--mpiexec", default=None,
                   help="the mpiexec to use (default: the one on PATH or next to Python)")
    p.add_argument("script", help="the program to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    return p


def main(argv=None):
    """Parse torchrun's options and run the job; returns its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        opts = _parser().parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    nproc = (os.cpu_count() or 1) if opts.nproc_per_node == "auto" else opts.nproc_per_node
    try:
        nproc = int(nproc)
        if nproc < 1:
            raise ValueError
    except ValueError:
        print(f"numtorch run: error: --nproc-per-node must be a positive integer or 'auto', got "
              f"{opts.nproc_per_node!r}", file=sys.stderr)
        return 2
    if opts.nnodes not in ("1", "1:1"):
        print("numtorch run: error: --nnodes other than 1 is not supported: start the ranks on "
              "several hosts with 'mpiexec -n N -hosts HOST1,HOST2 numtorch run SCRIPT'",
              file=sys.stderr)
        return 2
    if opts.max_restarts:
        print("numtorch run: error: --max-restarts is not supported (a failed rank ends the job)",
              file=sys.stderr)
        return 2
    if not os.path.exists(opts.script):
        print(f"numtorch run: can't open file {os.path.abspath(opts.script)!r}: "
              f"[Errno 2] No such file or directory", file=sys.stderr)
        return 2
    mpiexec = opts.mpiexec or _find_mpiexec()
    if mpiexec is None or not _mpi.is_available():
        print(f"numtorch run: error: {_mpi.INSTALL_HINT}", file=sys.stderr)
        return 2
    return _launch(mpiexec, nproc, opts)


def _find_mpiexec():
    found = shutil.which("mpiexec")
    if found:
        return found
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.access(beside, os.X_OK) else None


def _free_port():
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _launch(mpiexec, nproc, opts):
    log_dir = opts.log_dir or tempfile.mkdtemp(prefix="numtorch_run_")
    os.makedirs(log_dir, exist_ok=True)
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    env.update({
        "MASTER_ADDR": opts.master_addr,
        "MASTER_PORT": str(opts.master_port or _free_port()),
        "WORLD_SIZE": str(nproc), "LOCAL_WORLD_SIZE": str(nproc),
        "GROUP_RANK": "0", "GROUP_WORLD_SIZE": "1",
        "ROLE_NAME": opts.role, "ROLE_WORLD_SIZE": str(nproc),
        "TORCHELASTIC_RUN_ID": opts.rdzv_id if opts.rdzv_id != "none" else str(uuid.uuid4()),
        "TORCHELASTIC_RESTART_COUNT": "0", "TORCHELASTIC_MAX_RESTARTS": "0",
        "NUMTORCH_RUN_LOG_DIR": log_dir,
    })
    if nproc > 1 and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = "1"  # torchrun's default: one thread per rank
    if nproc > 1 and "NUMTORCH_NUM_THREADS" not in env:
        env["NUMTORCH_NUM_THREADS"] = env["OMP_NUM_THREADS"]
    cmd = [mpiexec, "-n", str(nproc), sys.executable, "-m", "numtorch.run", opts.script,
           *opts.args]
    _flush()
    logs = [_RankLog(log_dir, r, f"[{opts.role}{r}]:") for r in range(nproc)]
    proc = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent)
    stop = threading.Event()
    tail = threading.Thread(target=_tail, args=(logs[0], stop), daemon=True)
    tail.start()
    try:
        while True:
            try:
                status = proc.wait()
                break
            except KeyboardInterrupt:  # mpiexec got the SIGINT too and stops the ranks
                continue
    finally:
        stop.set()
        tail.join()
        for log in logs:
            log.pump(final=True)
        _flush()
        if opts.log_dir is None:
            shutil.rmtree(log_dir, ignore_errors=True)
    return status if status >= 0 else 128 - status


def _die_with_parent():
    """mpiexec (and so every rank) ends when the launcher is killed: no orphans."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


class _RankLog:
    """The stdout and stderr files of one rank, read as they grow."""

    def __init__(self, log_dir, rank, prefix):
        self.paths = [os.path.join(log_dir, str(rank), name)
                      for name in ("stdout.log", "stderr.log")]
        self.prefix = prefix
        self.offsets = [0, 0]
        self.partial = ["", ""]

    def pump(self, final=False):
        for i, (path, stream) in enumerate(zip(self.paths, (sys.stdout, sys.stderr))):
            try:
                with open(path, "rb") as f:
                    f.seek(self.offsets[i])
                    chunk = f.read()
            except FileNotFoundError:
                continue
            self.offsets[i] += len(chunk)
            text = self.partial[i] + chunk.decode("utf-8", errors="replace")
            lines = text.split("\n")
            self.partial[i] = "" if final else lines.pop()
            if final and lines and lines[-1] == "":
                lines.pop()
            if lines:
                stream.write("".join(f"{self.prefix}{line}\n" for line in lines))
                stream.flush()


def _tail(log, stop):
    while not stop.wait(0.05):
        log.pump()


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


def become_rank(environ=None):
    """In a process started by an MPI launcher, set torchrun's environment from MPI's rank
    variables and, under ``numtorch run --nproc-per-node``, send the output to the rank's log
    files. Does nothing in a process no MPI launcher started."""
    environ = os.environ if environ is None else environ
    launched = _mpi.launcher_env(environ)
    if launched is None:
        return
    rank, size, local_rank, local_size = launched
    environ["RANK"], environ["WORLD_SIZE"] = str(rank), str(size)
    environ["LOCAL_RANK"], environ["LOCAL_WORLD_SIZE"] = str(local_rank), str(local_size)
    environ["ROLE_RANK"] = str(rank)
    environ.setdefault("ROLE_WORLD_SIZE", str(size))
    environ.setdefault("ROLE_NAME", "default")
    environ.setdefault("GROUP_RANK", str(rank // max(local_size, 1)))
    environ.setdefault("GROUP_WORLD_SIZE", str(max(size // max(local_size, 1), 1)))
    environ.setdefault("MASTER_ADDR", "localhost")
    environ.setdefault("MASTER_PORT", "29500")
    environ.setdefault("TORCHELASTIC_RESTART_COUNT", "0")
    environ.setdefault("TORCHELASTIC_MAX_RESTARTS", "0")
    log_dir = environ.get("NUMTORCH_RUN_LOG_DIR")
    if log_dir:
        _redirect_output(os.path.join(log_dir, str(local_rank)))


def _redirect_output(directory):
    os.makedirs(directory, exist_ok=True)
    _flush()
    for fd, name in ((1, "stdout.log"), (2, "stderr.log")):
        target = os.open(os.path.join(directory, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                         0o644)
        os.dup2(target, fd)
        os.close(target)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass


if __name__ == "__main__":
    sys.exit(main())
