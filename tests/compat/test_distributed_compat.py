"""A DDP program written for PyTorch prints the same numbers under ``torchrun --nproc-per-node 2``
(real PyTorch, gloo) and under ``numtorch run --nproc-per-node 2`` (numtorch on MPI)."""

import importlib.util
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "distributed" / "ddp_lenet.py"
SRC = HERE.parent.parent / "src"
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w])")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or shutil.which("mpiexec")
                       is None, reason="needs mpi4py and mpiexec"),
]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC)] + [p for p in [env.get("PYTHONPATH")] if p])
    env["OMP_NUM_THREADS"] = "1"
    return env


def _by_rank(stdout):
    """``{prefix: [line, ...]}`` of torchrun-style ``[defaultN]:line`` output."""
    lines = {}
    for line in stdout.splitlines():
        match = re.match(r"(\[default\d+\]):(.*)", line)
        if match:
            lines.setdefault(match.group(1), []).append(match.group(2))
    return lines


def _same(a, b):
    if _NUMBER.sub("#", a) != _NUMBER.sub("#", b):
        return False
    return all(math.isclose(float(x), float(y), rel_tol=1e-4, abs_tol=1e-4)
               for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)))


def test_ddp_program_prints_the_same_numbers_as_under_torchrun():
    ours = subprocess.run([sys.executable, "-m", "numtorch.run", "--nproc-per-node", "2",
                           SCRIPT.name], cwd=SCRIPT.parent, env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    mine = _by_rank(ours.stdout)
    assert sorted(mine) == ["[default0]", "[default1]"]
    assert ours.stdout.splitlines()[0].startswith("[default0]:")  # rank 0 first
    torchrun = shutil.which("torchrun")
    if importlib.util.find_spec("torch") is None or torchrun is None:
        pytest.skip("PyTorch's torchrun is not installed: numtorch side only")
    env = _env()
    del env["PYTHONPATH"]
    theirs = subprocess.run([torchrun, "--nproc-per-node", "2", "--tee", "3", SCRIPT.name],
                            cwd=SCRIPT.parent, env=env, capture_output=True, text=True,
                            timeout=300)
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    reference = _by_rank(theirs.stdout)
    assert sorted(reference) == sorted(mine)
    for rank, lines in reference.items():
        assert len(lines) == len(mine[rank])
        for expected, got in zip(lines, mine[rank]):
            assert _same(expected, got), (rank, expected, got)
