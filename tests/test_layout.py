"""Dependencies point one way: ``solutions`` -> ``hw4``; ``autograder`` -> ``hw4``, ``solutions``; ``hw4`` -> nothing staff.

Every import counts, at module level or inside a function, absolute or relative.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hw4", "autograder", "solutions")
STAFF = ("autograder", "solutions")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports(name: str) -> set[str]:
    """Every module ``name`` imports (a ``from package import module`` names the module)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names}
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(str(node.args[0].value))
        elif isinstance(node, ast.Constant) and node.value in MODULES:  # a module named to be imported by hand
            found.add(node.value)
    return found


GRAPH = {name: {m for m in imports(name) if m in MODULES} for name in MODULES}
EVERY = {name: imports(name) for name in MODULES}


def test_the_walk_sees_imports_at_every_level():
    assert "autograder.references" in GRAPH["autograder.pipeline"]  # module level, relative
    assert "autograder.integrity" in GRAPH["autograder.gradescope_run"]  # inside a function: from . import x
    assert "hw4.answers" in GRAPH["autograder.references"]  # inside a function, absolute


@pytest.mark.parametrize("package, forbidden", [("hw4", STAFF), ("solutions", ("autograder",))])
def test_no_module_imports_upward(package, forbidden):
    for name, found in EVERY.items():
        if name.split(".")[0] == package:
            upward = sorted(m for m in found if m.split(".")[0] in forbidden)
            assert not upward, f"{name} imports {', '.join(upward)}"


def test_no_import_cycles():
    def cycle_from(start: str, path: list[str], seen: set[str]) -> list[str] | None:
        for nxt in sorted(GRAPH[start]):
            if nxt in path:
                return path[path.index(nxt):] + [nxt]
            if nxt not in seen:
                seen.add(nxt)
                found = cycle_from(nxt, path + [nxt], seen)
                if found:
                    return found
        return None

    for name in sorted(m for m in MODULES if m.split(".")[0] in STAFF):
        cycle = cycle_from(name, [name], {name})
        assert cycle is None, " -> ".join(cycle)
