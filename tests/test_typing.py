"""Type hints: the generated stubs match the code, cover every Tensor attribute, and let mypy
check a user's program (and catch its mistakes)."""

import ast
import importlib.util
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

import numtorch

ROOT = Path(__file__).resolve().parents[1]
STUB = ROOT / "src" / "numtorch" / "_tensor.pyi"
TYPING_DIR = ROOT / "tests" / "typing"


def _run(*args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def _mypy_errors(path):
    """(line, error code) of each error mypy reports in ``path`` (a file under tests/typing/).

    Errors in the package itself are CI's ``mypy`` run's business (mypy reports them here too,
    but only when its cache is cold)."""
    pytest.importorskip("mypy")
    result = _run("-m", "mypy", "--config-file", "pyproject.toml", str(path))
    assert result.returncode in (0, 1) and not result.stderr, result.stdout + result.stderr
    rel = re.escape(path.relative_to(ROOT).as_posix())
    return {(int(line), code) for line, code in re.findall(
        rf"^{rel}:(\d+): error: .*\[([\w-]+)\]$", result.stdout, re.M)}, result.stdout


def _generator():
    spec = importlib.util.spec_from_file_location("gen_stubs", ROOT / "tools" / "gen_stubs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_are_what_the_generator_writes():
    gen = _generator()
    # compared line by line so that a failure shows the first stale lines
    assert STUB.read_text(encoding="utf-8").splitlines() == gen.tensor_stub().splitlines()
    init = ROOT / "src" / "numtorch" / "__init__.pyi"
    assert init.read_text(encoding="utf-8").splitlines() == gen.init_stub().splitlines()
    assert gen.MISSING == []


def test_generator_check_mode_reports_a_stale_stub(tmp_path, monkeypatch, capsys):
    gen = _generator()
    stale = tmp_path / "_tensor.pyi"
    stale.write_text(STUB.read_text(encoding="utf-8").replace("def zero_(", "def zer0_("))
    monkeypatch.setattr(gen, "TENSOR_STUB", stale)
    assert gen.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "-    def zer0_(self) -> Tensor: ..." in out and "stubs are stale" in out
    monkeypatch.setattr(gen, "TENSOR_STUB", STUB)
    assert gen.main(["--check"]) == 0


def _stub_tensor_names():
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor")
    names = set()
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_stub_declares_every_public_tensor_attribute():
    stub = _stub_tensor_names()
    public = {n for n in dir(numtorch.Tensor) if not n.startswith("_")}
    assert public - stub == set()
    assert len(public) > 300  # the op registry's methods are there, not only _tensor.py's
    # and nothing that Tensor does not have
    assert {n for n in stub if not n.startswith("__")} - set(dir(numtorch.Tensor)) == {"_data"}


def test_editor_completes_every_torch_tensor_name_numtorch_has():
    torch = pytest.importorskip("torch")
    torch_names = {n for n in dir(torch.Tensor) if not n.startswith("_")}
    implemented = torch_names & set(dir(numtorch.Tensor))
    assert implemented - _stub_tensor_names() == set()
    assert len(implemented) > 300


def test_namespace_stub_declares_every_public_name():
    tree = ast.parse((ROOT / "src" / "numtorch" / "__init__.pyi").read_text(encoding="utf-8"))
    declared = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            declared |= {a.asname for a in node.names if a.asname == a.name}
        elif isinstance(node, ast.FunctionDef):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            declared.add(node.target.id)
    # dir() of a fresh ``import numtorch`` (in this process, submodules that other tests
    # imported, numtorch.cli say, are attributes of the package as well)
    fresh = _run("-c", "import numtorch; print(' '.join(dir(numtorch)))")
    assert fresh.returncode == 0, fresh.stderr
    public = {n for n in fresh.stdout.split() if not n.startswith("_")}
    assert public - declared == set()
    assert {"add", "zeros", "float32", "no_grad", "save", "load", "manual_seed", "nn"} <= declared


def test_stub_declares_the_operators_tensor_defines():
    dunders = {n for n in vars(numtorch.Tensor) if n.startswith("__") and n.endswith("__")
               and callable(getattr(numtorch.Tensor, n))}
    missing = dunders - _stub_tensor_names()
    assert missing <= {"__dict__", "__weakref__", "__init_subclass__", "__subclasshook__",
                       "__class__"}, missing


def test_hand_written_tensor_methods_are_annotated_in_the_source():
    from numtorch import _tensor
    for name, fn in vars(_tensor.Tensor).items():
        fn = fn.fget if isinstance(fn, property) else getattr(fn, "__func__", fn)
        if callable(fn) and getattr(fn, "__module__", None) == "numtorch._tensor":
            overloads = typing.get_overloads(fn)
            assert fn.__annotations__ or overloads, name


def test_user_program_type_checks():
    errors, output = _mypy_errors(TYPING_DIR / "user_program.py")
    assert errors == set(), output


def test_mypy_reports_exactly_the_mistakes_in_user_errors():
    path = TYPING_DIR / "user_errors.py"
    expected = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = re.search(r"# E: ([\w-]+)", line)
        if m:
            expected.add((lineno, m.group(1)))
    found, output = _mypy_errors(path)
    assert found == expected, output
    assert len(expected) >= 10
