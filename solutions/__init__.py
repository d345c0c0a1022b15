"""The solutions (staff only): each assignment's ``solutions_file`` is the one copy of its solution code.

``fresh_solutions()`` loads it as a new module (the autograder's references, the catalogue's variants in
``solutions.mistakes`` and the self-check data all start from one); reading the path needs no torch.
"""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

from hw4.assignments import Assignment, get


def module_from_source(source: str, path: Path, name: str) -> types.ModuleType:
    """A new, independent module made from ``source`` (read from, or edited from, the file at ``path``)."""
    module = types.ModuleType(name)
    module.__file__ = str(path)
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def fresh_module(path: Path, name: str) -> types.ModuleType:
    """A new, independent module made from the source at ``path`` (so overrides never leak)."""
    return module_from_source(path.read_text(), path, name)


def fresh_solutions(assignment: str | None = None) -> types.ModuleType:
    """A new, independent module made from the solutions' source of ``assignment`` (default: the homework)."""
    return fresh_module(get(assignment).solutions_file, "solutions_copy")


def function_sources(path: Path | None = None) -> dict[str, str]:
    """The exact source text of every top-level function in a solutions module (default: the homework's), by name."""
    text = (path or get().solutions_file).read_text()
    lines = text.splitlines()
    sources = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            end = node.end_lineno or node.lineno
            while end < len(lines) and lines[end].startswith((" ", "\t")) and lines[end].strip().startswith("#"):
                end += 1  # trailing comments inside the body, e.g. "### END SOLUTION"
            sources[node.name] = "\n".join(lines[start:end])
    return sources


def mistakes_of(assignment: Assignment) -> types.ModuleType | None:
    """The staff module of ``assignment``'s mistake catalogue (``CATALOGUE`` and ``implementation(names)``, as in
    ``solutions.mistakes``), imported now; None for an assignment without one."""
    return importlib.import_module(assignment.mistakes) if assignment.mistakes else None
