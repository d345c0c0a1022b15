"""The solutions (staff only): each assignment's ``solutions_file`` is the one copy of its solution code.

``fresh_solutions()`` loads it as a new module (the autograder's references, the catalogue's variants in
``solutions.variants`` and the self-check data all start from one); reading the path needs no torch.
"""

from __future__ import annotations

import types
from pathlib import Path

from hw4.assignments import get


def fresh_module(path: Path, name: str) -> types.ModuleType:
    """A new, independent module made from the source at ``path`` (so overrides never leak)."""
    module = types.ModuleType(name)
    module.__file__ = str(path)
    exec(compile(path.read_text(), module.__file__, "exec"), module.__dict__)
    return module


def fresh_solutions(assignment: str | None = None) -> types.ModuleType:
    """A new, independent module made from the solutions' source of ``assignment`` (default: the homework)."""
    return fresh_module(get(assignment).solutions_file, "solutions_copy")
