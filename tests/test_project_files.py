"""The project's own files agree with each other: CI runs README's commands, and the test
environment in pyproject.toml is pinned by requirements/test-constraints.txt."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_command(number):
    """The one line of the bash block under README's bold heading "<number>. ..."."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"**{number}. ", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def _ci_lines():
    return [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_ci_runs_readme_command_2_verbatim():
    command = _readme_command(2)
    assert "python -m pytest" in command
    assert any(line == command or line.startswith(command + " ||") for line in _ci_lines()), \
        f".ci/run does not run README's command 2: {command}"


def test_ci_runs_readme_command_1():
    install, run = (part.strip() for part in _readme_command(1).split("&&"))
    lines = [line.replace("pip install -q ", "pip install ") for line in _ci_lines()]
    assert install in lines, f".ci/run does not install as README says: {install}"
    assert any(line.startswith(run + " ") for line in lines), \
        f".ci/run does not run {run!r}"


def _name(requirement):
    name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


def test_constraints_pin_every_test_requirement_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["test"]}
    pins = {}
    for line in (ROOT / "requirements" / "test-constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, op, version = re.match(r"([A-Za-z0-9._-]+)\s*(===|==)\s*(\S+)$", line).groups()
            pins[_name(name)] = version
    assert wanted <= set(pins), f"not pinned: {sorted(wanted - set(pins))}"
    assert pins["torch"] == "2.13.0" and pins["torchvision"] == "0.28.0"


def test_slow_table_names_existing_tests():
    from conftest import SLOW

    for path, names in SLOW.items():
        source = (ROOT / "tests" / path).read_text()
        for name in () if names == "*" else names:
            assert f"def {name}(" in source, f"tests/conftest.py SLOW: no {name} in {path}"
