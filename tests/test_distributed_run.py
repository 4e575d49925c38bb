"""The launcher: ``numtorch run --nproc-per-node N`` and ``mpiexec -n N numtorch run`` give each
rank torchrun's environment and numtorch's ``torch.distributed``; output is prefixed per rank,
rank 0's first."""

import subprocess
import sys

import pytest
from distributed_helpers import env, mpiexec, needs_mpi, write

from numtorch.distributed import run as launcher

PROGRAM = """
import os, sys
import torch
import torch.distributed as dist
dist.init_process_group("gloo")
t = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(t)
keys = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "ROLE_RANK",
        "MASTER_ADDR")
line = "env " + " ".join(f"{k}={os.environ.get(k)}" for k in keys)
print(line)
with open(f"env_{dist.get_rank()}.txt", "w") as f:
    f.write(line)
print("dist", dist.__name__, type(t).__module__, t.item(), sys.argv[1:],
      dist.is_torchelastic_launched())
print("to stderr", dist.get_rank(), file=sys.stderr)
"""


@needs_mpi
def test_nproc_per_node_sets_torchruns_environment_and_prefixes_lines(tmp_path):
    script = write(tmp_path, PROGRAM)
    proc = subprocess.run([sys.executable, "-m", "numtorch.run", "--nproc-per-node", "2",
                           str(script), "--flag", "x"], cwd=tmp_path, env=env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == [
        "[default0]:env RANK=0 LOCAL_RANK=0 WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 GROUP_RANK=0 "
        "ROLE_RANK=0 MASTER_ADDR=localhost",
        "[default0]:dist torch.distributed numtorch._tensor 3.0 ['--flag', 'x'] True",
        "[default1]:env RANK=1 LOCAL_RANK=1 WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 GROUP_RANK=0 "
        "ROLE_RANK=1 MASTER_ADDR=localhost",
        "[default1]:dist torch.distributed numtorch._tensor 3.0 ['--flag', 'x'] True",
    ]
    assert proc.stderr.splitlines() == ["[default0]:to stderr 0", "[default1]:to stderr 1"]


@needs_mpi
def test_mpiexec_starts_numtorch_run_directly(tmp_path):
    script = write(tmp_path, PROGRAM.replace('print("to stderr"', 'pass  # ('))
    proc = subprocess.run([mpiexec(), "-n", "2", sys.executable, "-m", "numtorch.run",
                           str(script)], cwd=tmp_path, env=env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    envs = [(tmp_path / f"env_{r}.txt").read_text() for r in range(2)]
    assert [line.split()[1:3] for line in envs] == [["RANK=0", "LOCAL_RANK=0"],
                                                    ["RANK=1", "LOCAL_RANK=1"]]


@needs_mpi
@pytest.mark.slow
def test_a_failing_rank_fails_the_launch(tmp_path):
    script = write(tmp_path, """
        import sys
        import torch.distributed as dist
        dist.init_process_group("gloo")
        if dist.get_rank() == 1:
            raise SystemExit("rank 1 stops with an error")
        dist.barrier()
        print("rank 0 passed the barrier")
    """)
    proc = subprocess.run([sys.executable, "-m", "numtorch.run", "--nproc-per-node", "2",
                           str(script)], cwd=tmp_path, env=env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert "[default1]:rank 1 stops with an error" in proc.stderr
    assert "passed the barrier" not in proc.stdout


def test_launcher_option_errors(tmp_path, capsys):
    script = write(tmp_path, "print('hi')\n")
    assert launcher.main(["--nnodes", "2", str(script)]) == 2
    assert "mpiexec -n N -hosts" in capsys.readouterr().err
    assert launcher.main(["--nproc-per-node", "zero", str(script)]) == 2
    assert "--nproc-per-node must be a positive integer" in capsys.readouterr().err
    assert launcher.main(["--nproc-per-node", "2", str(tmp_path / "missing.py")]) == 2
    assert "can't open file" in capsys.readouterr().err


def test_without_mpiexec_the_launcher_names_the_extra(tmp_path, capsys, monkeypatch):
    script = write(tmp_path, "print('hi')\n")
    monkeypatch.setattr(launcher, "_find_mpiexec", lambda: None)
    assert launcher.main(["--nproc-per-node", "2", str(script)]) == 2
    assert "pip install 'numtorch[distributed]'" in capsys.readouterr().err


def test_become_rank_reads_the_mpi_launchers_variables():
    environ = {"PMI_RANK": "3", "PMI_SIZE": "4", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "2"}
    launcher.become_rank(environ)
    assert (environ["RANK"], environ["WORLD_SIZE"], environ["LOCAL_RANK"],
            environ["LOCAL_WORLD_SIZE"], environ["GROUP_RANK"]) == ("3", "4", "1", "2", "1")
    untouched = {"PATH": "/bin"}
    launcher.become_rank(untouched)
    assert untouched == {"PATH": "/bin"}


def _ddp_benchmark():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "ddp_lenet.py"
    spec = importlib.util.spec_from_file_location("bench_ddp_lenet", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ddp_benchmark_table_shows_images_per_second_and_speedup():
    ddp_lenet = _ddp_benchmark()
    text = ddp_lenet.table({("numtorch", 1): 1000.0, ("numtorch", 2): 1800.0,
                            ("torch", 1): 900.0, ("torch", 2): None}, [1, 2],
                           ["numtorch", "torch"])
    assert "| 1 | 1,000 | 900 | 1.11 |" in text
    assert "| 2 | 1,800 | n/a | n/a |" in text
    assert "numtorch 1.80x, torch n/a" in text


@needs_mpi
@pytest.mark.slow
def test_ddp_benchmark_runs_numtorch_with_two_ranks():
    ddp_lenet = _ddp_benchmark()
    value, why = ddp_lenet.measure("numtorch", 2, steps=2, warmup=1)
    assert value is not None and value > 0, why
