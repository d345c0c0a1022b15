"""Dependencies point one way: ``solutions`` -> ``hw4``; ``autograder`` -> ``hw4``, ``solutions``; ``hw4`` -> nothing staff.

The rules are import-linter contracts in ``pyproject.toml`` (``lint-imports``, run by ``scripts/test.sh``). These
tests prove that the contracts see every kind of import by breaking a copy of the tree, and check the one thing
import-linter cannot see: a module named in a string, to be imported by hand.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hw4", "autograder", "solutions")
FORBIDDEN = {"hw4": ("autograder", "solutions"), "solutions": ("autograder",)}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` over the packages under ``root``, with the contracts of ``root/pyproject.toml``."""
    command = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", command, "--no-cache", "--no-logo"], cwd=root, text=True,
                          capture_output=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)}, timeout=300)


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages' sources and pyproject.toml, copied (no data files: the import graph needs none)."""
    root = tmp_path_factory.mktemp("tree")
    shutil.copy(ROOT / "pyproject.toml", root)
    for path in MODULES.values():
        target = root / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return root


def test_the_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


BREAKS = {
    "module level, absolute": ("hw4/sampling.py", "from autograder import grade\n"),
    "inside a function": ("hw4/sampling.py", "def _f():\n    from solutions import homework4\n"),
    "solutions up to autograder": ("solutions/lab.py", "import autograder.grade\n"),
    "for the type checker only": ("hw4/cases.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                                  "    import autograder.cli\n"),
    "a cycle, relative": ("autograder/references.py", "def _f():\n    from . import pipeline\n"),
}


@pytest.mark.parametrize("added", BREAKS.values(), ids=BREAKS.keys())
def test_the_contracts_see_every_kind_of_import(tree_copy, added):
    relative, line = added
    path = tree_copy / relative
    original = path.read_text()
    try:
        path.write_text(original + "\n\n" + line)
        result = lint_imports(tree_copy)
    finally:
        path.write_text(original)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout and "1 broken" in result.stdout, result.stdout


def names_by_hand(path: Path) -> set[str]:
    """Every package module that ``path`` names in a string (``import_module("...")``, ``find_spec("...")``)."""
    return {node.value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in MODULES}


def test_the_string_walk_sees_a_module_named_by_hand():
    assert {"autograder", "solutions"} <= names_by_hand(MODULES["autograder.gradescope_zip"])  # the packages it ships


@pytest.mark.parametrize("package", FORBIDDEN)
def test_no_module_names_a_forbidden_module_to_import_by_hand(package):
    for name, path in MODULES.items():
        if name.split(".")[0] == package:
            upward = sorted(m for m in names_by_hand(path) if m.split(".")[0] in FORBIDDEN[package])
            assert not upward, f"{name} names {', '.join(upward)}"


def test_scripts_test_sh_runs_the_type_checker_and_the_contracts():
    lines = (ROOT / "scripts" / "test.sh").read_text().splitlines()
    assert any(line.startswith('"$VENV/bin/mypy"') for line in lines)
    assert any(line.startswith('"$VENV/bin/lint-imports"') for line in lines)
