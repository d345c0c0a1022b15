"""Which catalogue entry explains a question's wrong answers: one rule for the grader and the self-checks.

``explain`` is given the student's answers and ``answers_of``, which says what a
combination of catalogue entries answers (the grader runs the entries, ``check()``
reads them from the shipped self-check data). The rule:

- a mistake already made in an earlier question that explains these answers too is counted
  there only (credit here), with or without this question's accepted variants on top;
- a mistake of this question, alone or with accepted variants, is named (no credit);
- accepted variants, alone or combined, earn full credit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .assignments import before, find
from .catalogue import BY_NAME, combo_key, mistakes_for, variant_sets
from .compare import compare

AnswersOf = Callable[[tuple[str, ...], str], "dict | None"]


@dataclass(frozen=True)
class Diagnosis:
    """What explains a question's wrong cases: catalogue entries, the feedback, and whether it earns credit."""

    entry_name: str
    feedback: str
    credit: bool


def matches(student: dict, other: dict | None, names: list[str]) -> bool:
    """True when every named case of ``student`` agrees with ``other`` within tolerance."""
    return bool(names) and other is not None and all(
        isinstance(student.get(n), np.ndarray) and n in other and compare(student[n], other[n]).passed for n in names
    )


def explain(question: str, student: dict[str, dict], wrong: list[str], answers_of: AnswersOf,
            correct: frozenset[str] = frozenset()) -> Diagnosis | None:
    """Explain the ``wrong`` cases of ``question`` (``student``: answers by question; ``correct``: questions all right)."""
    mine = student.get(question, {})
    sets = variant_sets(question)
    earlier = [m for q in before(question) if q not in correct for m in mistakes_for(q)
               if matches(student.get(q, {}), answers_of((m.name,), q), list(student.get(q, {})))]
    # Cheapest first (the grader runs each combination it tries); the catalogue's entries are told apart by a test,
    # so the order never changes the verdict.
    for s in sets:
        for mistake in earlier:
            if matches(mine, answers_of((mistake.name, *s), question), wrong):
                return Diagnosis(mistake.name, f"Right, given the mistake already counted in "
                                               f"{find(mistake.question).title} ({mistake.name}): full credit here.", True)
        for mistake in mistakes_for(question):
            if matches(mine, answers_of((mistake.name, *s), question), wrong):
                return Diagnosis(mistake.name, mistake.feedback, False)
        if s and matches(mine, answers_of(s, question), wrong):
            feedback = " ".join(dict.fromkeys(BY_NAME[name].feedback for name in s))
            return Diagnosis(combo_key(s), feedback, True)
    return None
