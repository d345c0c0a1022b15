"""The catalogue of ``hw4.catalogue`` as the grader uses it: each entry with the implementation that makes it.

The grader runs an entry (or a combination of entries) on a question a student got
wrong, and ``hw4.judge`` decides what the match means. The implementations are the
solutions with one knob turned (``solutions.variants``); ``solutions.build`` runs the same
combinations on the self-check cases, so ``check()`` judges like the grader.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

from hw4.catalogue import CATALOGUE, Mistake
from solutions.variants import implementation

__all__ = ["CATALOG", "ENTRIES", "MISTAKES", "VARIANTS", "Entry", "entries_for"]


@dataclass(frozen=True)
class Entry(Mistake):
    """One catalogue entry as the grader uses it: its metadata and the implementation that makes the mistake."""

    def implementation(self) -> types.ModuleType:
        """A fresh copy of the solutions module with this entry's knobs turned."""
        return implementation((self.name,))


CATALOG: tuple[Entry, ...] = tuple(Entry(m.name, m.question, m.feedback, m.accepted) for m in CATALOGUE)
ENTRIES = {e.name: e for e in CATALOG}
MISTAKES = tuple(e for e in CATALOG if not e.accepted)
VARIANTS = tuple(e for e in CATALOG if e.accepted)


def entries_for(question: str) -> tuple[Entry, ...]:
    """The catalogue entries that belong to ``question``."""
    return tuple(e for e in CATALOG if e.question == question)
