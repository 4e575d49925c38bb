"""Every import inside a function says why it is deferred (docs/internals.md, "Layers").

An import belongs at the top of its module. One that runs inside a function is there on purpose
and carries a ``# deferred: <why>`` comment on its line or in the comment lines right above it
(or above the run of imports it belongs to): an optional dependency (numba, onnx, mpi4py,
matplotlib, Pillow, graphviz, ...), startup time (``import numtorch`` stays quick), or a cycle,
named (``cycle: ops builds on Tensor``). Without the rule, imports drift back into functions to
dodge cycles that the layering should break.
"""

import ast
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "numtorch"
REASON = re.compile(r"#\s*deferred:\s*(optional dependency|startup time|cycle:)")


def _function_imports(tree):
    """Line numbers of the imports that run inside a function (or a lambda)."""
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if in_function and isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child.lineno, child.end_lineno))
            visit(child, inner)

    visit(tree, False)
    return found


def deferred_imports():
    """``(path, line, reason or None)`` for every function-level import under src/numtorch."""
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        spans = _function_imports(ast.parse(text))
        starts = {start: end for start, end in spans}
        ends = {end for _, end in spans}
        for start, end in spans:
            first = start
            while first - 1 in ends:  # the run of imports this one belongs to
                first = next(s for s, e in spans if e == first - 1)
            candidates = lines[start - 1:end] + lines[first - 1:starts[first]]
            above = first - 1  # and the comment lines right above the run
            while above >= 1 and lines[above - 1].lstrip().startswith("#"):
                candidates.append(lines[above - 1])
                above -= 1
            match = next((m for m in map(REASON.search, candidates) if m), None)
            yield path.relative_to(SRC.parent), start, match and match.group(1).rstrip(":")


def test_every_function_level_import_says_why():
    missing = [f"{path}:{line}" for path, line, reason in deferred_imports() if reason is None]
    assert missing == []


def test_the_rule_sees_a_missing_comment(tmp_path, monkeypatch):
    """The check itself: an uncommented import inside a function is reported, a commented one
    (same line or the line above) is not."""
    pkg = tmp_path / "numtorch"
    pkg.mkdir()
    (pkg / "m.py").write_text(
        "def f():\n    import json\n"
        "def g():\n    import json  # deferred: startup time\n"
        "def h():\n    # deferred: cycle: m <-> n (a comment\n    # of two lines)\n"
        "    import json\n    import csv\n"
        "def k():\n    x = 1  # deferred: startup time\n    import json\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", pkg)
    assert [(line, reason) for _, line, reason in deferred_imports()] == [
        (2, None), (4, "startup time"), (8, "cycle"), (9, "cycle"), (12, None)]
