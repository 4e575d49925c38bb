"""Smoke test of the benchmark suite (``python -m benchmarks``): it runs and prints a table.

No timing assertions: the numbers depend on the machine and its load.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_quick_numtorch_only_case_prints_and_writes_a_table(tmp_path):
    out_file = tmp_path / "bench.md"
    proc = _run("--quick", "--no-torch", "--only", "train-lenet-b1", "--markdown", str(out_file),
                tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = out_file.read_text(encoding="utf-8")
    assert table in proc.stdout + "\n"
    assert "Machine: " in table and "NumPy " in table
    header = "| case | numtorch | torch | torch/numtorch | best ratio | spread | other load |"
    assert header in table
    rows = [line for line in table.splitlines() if line.startswith("| LeNet-5, batch 1 |")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[1].endswith(("ms", "µs", " s")) and cells[2] == "–" and cells[3] == "–"


def test_unknown_case_is_an_error(tmp_path):
    proc = _run("--quick", "--no-torch", "--only", "no-such-case", tmp_path=tmp_path)
    assert proc.returncode != 0
    assert "no benchmark matches" in proc.stderr


def test_list_names_every_section(tmp_path):
    proc = _run("--list", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ids = [line.split()[0] for line in proc.stdout.splitlines()]
    for prefix in ("train-lenet-b", "train-mlp-b", "infer-", "micro-conv1", "micro-pool1",
                   "micro-fc1", "micro-cross_entropy", "optim-adam", "optim-sgd", "overhead-",
                   "memory-", "import"):
        assert any(i.startswith(prefix) for i in ids), prefix
