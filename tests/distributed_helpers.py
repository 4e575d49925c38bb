"""Running a program as 2 MPI ranks for the tests of numtorch.distributed.

``mpirun(tmp_path, source)`` writes ``source`` to a file and runs it under ``mpiexec -n 2`` with
numtorch (and the tests directory, for ``tutorial_net``) importable, within a time limit. Tests
that need it skip cleanly where mpi4py or mpiexec is missing.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"


def mpiexec():
    found = shutil.which("mpiexec")
    if found is None:
        beside = Path(sys.executable).parent / "mpiexec"
        found = str(beside) if beside.exists() else None
    return found


def have_mpi():
    return importlib.util.find_spec("mpi4py") is not None and mpiexec() is not None


needs_mpi = pytest.mark.skipif(not have_mpi(), reason="needs mpi4py and mpiexec "
                                                      "(pip install 'numtorch[distributed]')")


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(SRC), str(TESTS)]
                                      + [p for p in [e.get("PYTHONPATH")] if p])
    e["OMP_NUM_THREADS"] = "1"
    e["NUMTORCH_NUM_THREADS"] = "1"
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
                 "MASTER_PORT", "TORCHELASTIC_RUN_ID"):
        e.pop(name, None)
    return e


def write(tmp_path, source, name="prog.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def mpirun(tmp_path, source, *args, n=2, timeout=120, python=(sys.executable,)):
    """Run ``source`` as ``n`` ranks; the finished process (stdout, stderr, returncode)."""
    script = write(tmp_path, source)
    return subprocess.run([mpiexec(), "-n", str(n), *python, str(script), *map(str, args)],
                          cwd=tmp_path, env=env(), capture_output=True, text=True,
                          timeout=timeout)


RESULT = ("def report(rank, value):\n"
          "    import json\n"
          "    with open(f'result_{rank}.json', 'w') as f:\n"
          "        json.dump(value, f)\n")


def results(proc, directory):
    """``{rank: value}`` from the ``report(rank, value)`` calls of the ranks (files, since the
    ranks' output lines may interleave)."""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = {}
    for path in Path(directory).glob("result_*.json"):
        found[int(path.stem.split("_")[1])] = json.loads(path.read_text())
    return found
