"""The solutions (staff only): ``SOLUTIONS_FILE`` is the one copy of the homework's solution code.

``fresh_solutions()`` loads it as a new module (the autograder's references, the catalogue's variants in
``solutions.variants`` and the self-check data all start from one); reading the path needs no torch.
"""

from __future__ import annotations

import types
from pathlib import Path

SOLUTIONS_FILE = Path(__file__).resolve().parent / "homework4.py"
LAB_SOLUTIONS_FILE = Path(__file__).resolve().parent / "lab.py"


def fresh_module(path: Path, name: str) -> types.ModuleType:
    """A new, independent module made from the source at ``path`` (so overrides never leak)."""
    module = types.ModuleType(name)
    module.__file__ = str(path)
    exec(compile(path.read_text(), module.__file__, "exec"), module.__dict__)
    return module


def fresh_solutions() -> types.ModuleType:
    """A new, independent module made from the solutions' source (so overrides never leak)."""
    return fresh_module(SOLUTIONS_FILE, "solutions_copy")
