"""What a mistake catalogue is: entries (name, question, feedback, accepted or not), nothing executable.

The records live beside the solutions (``solutions/mistakes.py``, with the edits that make each one);
the grader judges with them directly, and the notebook's ``check()`` with the same names, questions and
feedback as ``solutions.build`` ships them in ``hw4/data/selfcheck.pkl`` (``Catalogue.from_data``), so the
student package never imports the solutions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class Mistake:
    """One catalogue entry: a named change to one question's function; ``accepted`` entries earn full credit."""

    name: str
    question: str
    feedback: str
    accepted: bool = False




@dataclass(frozen=True)
class Catalogue:
    """The catalogue's entries and the questions the judge asks of them."""

    entries: tuple[Mistake, ...]

    @classmethod
    def from_data(cls, records: object) -> Catalogue:
        """The catalogue in shipped data: a list of ``{"name", "question", "feedback", "accepted"}`` dicts."""
        rows = records if isinstance(records, list) else []
        return cls(tuple(Mistake(str(r["name"]), str(r["question"]), str(r["feedback"]), bool(r["accepted"]))
                         for r in rows if isinstance(r, dict)))

    def to_data(self) -> list[dict[str, str | bool]]:
        """The entries' names, questions, feedback and whether accepted, as ``from_data`` reads them."""
        return [{"name": m.name, "question": m.question, "feedback": m.feedback, "accepted": m.accepted}
                for m in self.entries]

    def __iter__(self) -> Iterator[Mistake]:
        return iter(self.entries)

    def by_name(self, name: str) -> Mistake:
        """The entry called ``name``."""
        return next(m for m in self.entries if m.name == name)

    @property
    def mistakes(self) -> tuple[Mistake, ...]:
        """Every entry that costs points."""
        return tuple(m for m in self.entries if not m.accepted)

    @property
    def variants(self) -> tuple[Mistake, ...]:
        """Every accepted variant."""
        return tuple(m for m in self.entries if m.accepted)

    def mistakes_for(self, question: str) -> tuple[Mistake, ...]:
        """The (not accepted) mistakes of ``question``."""
        return tuple(m for m in self.mistakes if m.question == question)

    def variants_for(self, question: str) -> tuple[Mistake, ...]:
        """The accepted variants of ``question``."""
        return tuple(m for m in self.variants if m.question == question)

    def variant_sets(self, question: str) -> list[tuple[str, ...]]:
        """Every combination of ``question``'s accepted variants, the empty one first (they compose freely)."""
        names = [v.name for v in self.variants_for(question)]
        return [combo for size in range(len(names) + 1) for combo in combinations(names, size)]

    def combos_for(self, question: str, earlier: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        """Every catalogue combination the judge may compare ``question``'s answers with.

        Each mistake of ``question`` or of an ``earlier`` question, alone and with each set of
        ``question``'s variants, and each non-empty set of those variants.
        """
        sets = self.variant_sets(question)
        own = [(m.name, *s) for m in self.mistakes_for(question) for s in sets] + [s for s in sets if s]
        cascade = [(m.name, *s) for q in earlier for m in self.mistakes_for(q) for s in sets]
        return cascade + own


def combo_key(names: tuple[str, ...]) -> str:
    """How a combination is named in caches and data files: the entry names joined by ``+``."""
    return "+".join(names)
