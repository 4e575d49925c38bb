"""Run an unmodified PyTorch program on numtorch.

Usage::

    numtorch run SCRIPT [ARGS...]
    python -m numtorch.run SCRIPT [ARGS...]    (numtorch/run.py forwards to this module)
    numtorch run --nproc-per-node N SCRIPT [ARGS...]     (as torchrun)
    mpiexec -n N numtorch run SCRIPT [ARGS...]

The script runs as ``python SCRIPT [ARGS...]`` would run it (``sys.argv``, ``__name__ ==
"__main__"``, ``__file__``, the script's directory first on ``sys.path``, its exit status), with
``import torch`` and ``import torchvision`` served by numtorch through the hook of
:mod:`numtorch.apps.compat` (also importable as ``numtorch.compat``), installed for this run only.

Exit status: what the script passes to :func:`sys.exit` (0 when it ends normally), 1 after an
uncaught exception (its traceback is printed to stderr, without numtorch's own launcher frames),
130 after Ctrl-C, 2 when the script cannot be opened.
"""

import builtins
import contextlib
import io
import os
import runpy
import sys
import traceback
import types
import warnings
from multiprocessing import util

from ..distributed import _mpi
from ..distributed import run as launcher
from . import compat

__all__ = ["main"]

USAGE = "usage: numtorch run [--nproc-per-node N] SCRIPT [ARGS...]"
HELP = (USAGE + "\n\nRun a PyTorch program unchanged: 'import torch' (and torchvision's datasets "
        "and transforms)\nare served by numtorch for the duration of the run.\n\n"
        "With --nproc-per-node N the program runs as N ranks started through mpiexec, with\n"
        "torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, ...); see\n"
        "'numtorch run --nproc-per-node 1 --help' for the launcher's options. Started by\n"
        "mpiexec (mpiexec -n N numtorch run SCRIPT), each rank gets the same environment.\n")


def main(argv=None):
    """Run ``argv[0]`` as a PyTorch program with ``argv[1:]`` as its arguments.

    Args:
        argv (list of str, optional): ``[SCRIPT, ARGS...]``; ``sys.argv[1:]`` when omitted.

    Returns:
        int: the exit status the program would have under ``python SCRIPT``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help"):
        print(HELP, end="")
        return 0
    if argv[0].startswith("-"):
        return launcher.main(argv)
    launcher.become_rank()
    script = argv[0]
    if not os.path.exists(script):
        print(f"numtorch run: can't open file {os.path.abspath(script)!r}: "
              f"[Errno 2] No such file or directory", file=sys.stderr)
        return 2
    saved_argv, saved_path = sys.argv, sys.path[:]
    sys.argv = argv
    sys.path[:] = _script_path(script, sys.path)
    hooked_before = compat.is_installed()
    with warnings.catch_warnings():  # a PyTorch imported earlier is set aside for the run
        warnings.simplefilter("ignore", RuntimeWarning)
        compat.install()
    try:
        with _hook_in_spawned_children():
            status = _run(os.path.abspath(script))
        _end_job_on_failure(status)
        return status
    finally:
        _flush()
        if not hooked_before:
            compat.uninstall()
        sys.argv = saved_argv
        sys.path[:] = saved_path


def _end_job_on_failure(status):
    """A rank of a distributed job that fails takes the whole job down at once (MPI_Abort),
    rather than leaving the other ranks to wait for it until their timeout.

    A rank that fails before ``init_process_group`` starts MPI for that purpose (the other ranks
    wait in MPI's start-up for it), within a minute."""
    if not status:
        return
    launched = _mpi.launcher_env()
    if launched is None or launched[1] < 2 or not _mpi.is_available():
        return
    _flush()
    _mpi.mpi(timeout=60).COMM_WORLD.Abort(status)


def _script_path(script, path):
    """``sys.path`` as ``python SCRIPT`` sets it: the script's directory first.

    The first entry, which the launcher put there (the working directory under ``python -m``,
    the ``bin`` directory of the ``numtorch`` command), is replaced, unless numtorch itself was
    found there.
    """
    script_dir = os.path.dirname(os.path.realpath(script))
    rest = list(path)
    numtorch_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if rest and os.path.abspath(rest[0] or os.curdir) != numtorch_root:
        rest = rest[1:]
    return [script_dir] + rest


@contextlib.contextmanager
def _hook_in_spawned_children():
    """Start 'spawn' and 'forkserver' processes with the hook installed.

    Such a process (a DataLoader worker, say) imports the script again as ``__mp_main__``; without
    the hook its ``import torch`` would not reach numtorch. Forked processes inherit the hook.
    """

    original = util.spawnv_passfds
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    prelude = (f"import sys; sys.path.insert(0, {root!r}); import numtorch.apps.compat; "
               f"numtorch.apps.compat.install(); ")

    def spawnv_passfds(path, args, passfds):
        args = list(args)
        if "-c" in args[:-1]:
            i = args.index("-c") + 1
            if "spawn_main" in args[i] or "forkserver" in args[i]:
                args[i] = prelude + args[i]
        return original(path, args, passfds)

    util.spawnv_passfds = spawnv_passfds
    try:
        yield
    finally:
        util.spawnv_passfds = original


def _run(script):
    try:
        if os.path.isfile(script):
            _exec_as_main(script)
        else:  # a directory or zip archive with a __main__.py
            runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        return _exit_status(exc.code)
    except KeyboardInterrupt:
        _print_exception(*sys.exc_info())
        return 130
    except BaseException:  # noqa: BLE001 - the program's own error, reported as Python would
        _print_exception(*sys.exc_info())
        return 1
    return 0


def _exec_as_main(script):
    """Execute the file ``script`` as the ``__main__`` module, as ``python SCRIPT`` does."""
    with io.open_code(script) as f:
        source = f.read()
    code = compile(source, script, "exec", dont_inherit=True)
    module = types.ModuleType("__main__")
    module.__dict__.update(__file__=script, __cached__=None, __loader__=None, __spec__=None,
                           __builtins__=builtins)
    saved_main = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        exec(code, module.__dict__)
    finally:
        sys.modules["__main__"] = saved_main


def _exit_status(code):
    """The process status for ``sys.exit(code)``, printing a non-integer ``code`` as Python does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    _flush()
    print(code, file=sys.stderr)
    return 1


_LAUNCHER_FILES = {os.path.abspath(__file__), os.path.abspath(runpy.__file__), "<frozen runpy>",
                   # numtorch/run.py, which ``python -m numtorch.run`` runs
                   os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "run.py")}
_HOOK_FILE = os.path.abspath(compat.__file__)


def _print_exception(exc_type, exc, tb):
    """Print a traceback as ``python SCRIPT`` would, without the launcher's frames."""
    _flush()
    report = traceback.TracebackException(exc_type, exc, tb)
    _drop_launcher_frames(report, exc, set())
    print("".join(report.format()), end="", file=sys.stderr)
    _flush()


def _drop_launcher_frames(report, exc, seen):
    """Leave out the frames of this module and runpy, and the hook's own frames at the end of an
    import or attribute error it raised on purpose (its message says what is missing)."""
    if report is None or id(report) in seen:
        return
    seen.add(id(report))
    kept = [frame for frame in report.stack if _where(frame) not in _LAUNCHER_FILES]
    if isinstance(exc, (ImportError, AttributeError)):
        while kept and _where(kept[-1]) == _HOOK_FILE:
            kept.pop()
    report.stack = traceback.StackSummary.from_list(kept)
    _drop_launcher_frames(report.__cause__, exc.__cause__, seen)
    _drop_launcher_frames(report.__context__, exc.__context__, seen)


def _where(frame):
    name = frame.filename
    return name if name.startswith("<") else os.path.abspath(name)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


if __name__ == "__main__":
    sys.exit(main())
