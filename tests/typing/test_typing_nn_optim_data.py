"""The typed user program ``nn_optim_data.py``: it runs on numtorch, and mypy accepts it except
on the lines marked ``# E:`` (where it must report exactly the marked error codes) and reveals
the types marked ``# R:``."""

import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PROGRAM = HERE / "nn_optim_data.py"
SRC = HERE.parents[1] / "src"


def _load_program():
    spec = importlib.util.spec_from_file_location("nn_optim_data", PROGRAM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_program_runs_and_learns():
    program = _load_program()
    losses = program.train(epochs=3)
    assert all(math.isfinite(v) for v in losses)
    assert sum(losses[-3:]) < sum(losses[:3])
    program.checkpoint_round_trip()
    tiny = program.Tiny()  # its forward runs a convolution: construction is enough here
    assert [name for name, _ in tiny.named_children()][:3] == ["conv", "pool", "adapt"]


def _expected():
    errors, reveals = {}, {}
    for number, line in enumerate(PROGRAM.read_text().splitlines(), 1):
        if m := re.search(r"# E: ([\w\-, ]+)$", line):
            errors[number] = {c.strip() for c in m[1].split(",")}
        if "reveal_type(" in line and (m := re.search(r"# R: (.+?)(  # noqa.*)?$", line)):
            reveals[number] = m[1].strip()
    return errors, reveals


def test_mypy_accepts_the_program_and_rejects_the_mistakes(tmp_path, request):
    pytest.importorskip("mypy")
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n")  # the checker's defaults, whatever the project's config says
    # mypy's cache in pytest's makes reruns take seconds instead of a minute
    cache = (request.config.cache.mkdir("mypy_typing_program")
             if getattr(request.config, "cache", None) is not None else tmp_path / "mypy_cache")
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir", str(cache),
           "--ignore-missing-imports", "--follow-imports=silent", "--no-error-summary",
           "--show-error-codes", "--hide-error-context", "--no-pretty", str(PROGRAM)]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parents[1],
                         env={"MYPYPATH": str(SRC), "PATH": "/usr/bin:/bin"}, timeout=600)
    assert run.returncode in (0, 1), run.stderr
    found_errors, found_reveals = {}, {}
    for line in run.stdout.splitlines():
        m = re.match(r".*nn_optim_data\.py:(\d+): (error|note): (.*)$", line)
        if m is None:
            continue
        number, kind, text = int(m[1]), m[2], m[3]
        if kind == "error":
            code = re.search(r"\[([\w-]+)\]$", text)
            found_errors.setdefault(number, set()).add(code[1] if code else text)
        elif text.startswith("Revealed type is "):
            found_reveals[number] = text[len("Revealed type is "):].strip('"')
    errors, reveals = _expected()
    unexpected = {n: c for n, c in found_errors.items() if n not in errors}
    assert not unexpected, f"mypy rejects ordinary code:\n{run.stdout}"
    missed = {n: c for n, c in errors.items() if found_errors.get(n) != c}
    assert not missed, f"mistakes mypy let through (line: expected codes):\n{missed}\n{run.stdout}"
    assert found_reveals == reveals
