#!/usr/bin/env bash
# Re-resolve the test environment and rewrite test-constraints.txt: a fresh virtual environment,
# `pip install -e ".[test]"` without constraints (pip takes the newest versions the ranges in
# pyproject.toml allow), then the exact version of every installed distribution. Run it on
# Linux x86-64 with Python 3.11 (what CI uses), run the suite in the result, and commit both.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
# PyPI's own torch build: the torchvision wheels there link against it (a local "+cpu" torch
# build, where a machine offers one, leaves torchvision unable to load its operators).
"$work/venv/bin/python" -m pip install -q -e ".[test]" "torch===2.13.0"
{
  echo "# The exact version of everything README's command 2 installs, so that installs on every"
  echo "# machine and day are the same:"
  echo "#     pip install -e \".[test]\" -c requirements/test-constraints.txt"
  version="$("$work/venv/bin/python" -c 'import platform; print(platform.python_version())')"
  echo "# Resolved on Linux x86-64 with Python $version; regenerate with requirements/regenerate.sh."
  echo "# torch and torchvision use '===' (exact string): PyPI's builds, which load together; a local"
  echo "# '+cpu' torch build would satisfy '==' and break torchvision's compiled operators."
  # --all: torch needs setuptools at run time, so it is pinned too (pip itself is not)
  "$work/venv/bin/python" -m pip freeze --all --exclude-editable | grep -v '^pip==' \
    | sed -E 's/^(torch|torchvision)==/\1===/'
} > requirements/test-constraints.txt
echo "wrote requirements/test-constraints.txt"
