"""Name the likely mistake behind a wrong answer by matching it against the catalogue in ``mistakes``.

Only questions a student got wrong are looked at, and only the catalogue entries that
can explain them are run (then cached), so a correct submission costs nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw4 import cases as C
from hw4.compare import compare

from .references import cached, store


@dataclass(frozen=True)
class Diagnosis:
    """What explains a question's wrong cases: an entry of the catalogue, and whether it earns credit."""

    entry_name: str
    feedback: str
    credit: bool


def _matches(student: dict, other: dict, names: list[str]) -> bool:
    """True when every named case of ``student`` agrees with ``other`` within tolerance."""
    return bool(names) and all(
        isinstance(student.get(n), np.ndarray) and n in other and compare(student[n], other[n]).passed for n in names
    )


class Diagnoser:
    """Runs catalogue entries on demand (loading the model once) and remembers their answers."""

    def __init__(self, key: str, model_name: str = "embedded", cases: C.CaseSet = C.GRADED, model=None):
        self.key, self.model_name, self.cases, self._model = key, model_name, cases, model
        self._answers: dict[tuple[str, str], dict] = {}

    @property
    def model(self):
        if self._model is None:
            from hw4.model import load_model

            self._model, _ = load_model(self.model_name)
        return self._model

    def answers_of(self, entry, question: str) -> dict:
        """The answers of catalogue ``entry`` for ``question`` (cached on disk under the reference key)."""
        if (entry.name, question) not in self._answers:
            kind = f"{entry.name}.{question}"
            found = cached(kind, self.key)
            if found is None:
                from hw4.answers import generate

                found = generate(entry.implementation(), self.model, self.cases, questions=(question,), progress=False)
                store(kind, self.key, found)
            self._answers[(entry.name, question)] = found["questions"][question]["answers"]
        return self._answers[(entry.name, question)]

    def explain(self, question: str, student: dict[str, dict], wrong: list[str],
                correct: frozenset[str] = frozenset()) -> Diagnosis | None:
        """Explain the ``wrong`` cases of ``question`` from the student's answers (``correct``: questions all right).

        A mistake already made in an earlier question is looked for first, so that it is counted only once.
        """
        from .mistakes import MISTAKES, entries_for

        mine = student.get(question, {})
        earlier = C.QUESTIONS[: C.QUESTIONS.index(question)]
        for entry in MISTAKES:
            if entry.question not in earlier or entry.question in correct:
                continue
            own = student.get(entry.question, {})
            if not _matches(own, self.answers_of(entry, entry.question), list(own)):
                continue
            if _matches(mine, self.answers_of(entry, question), wrong):
                title = C.TITLES[entry.question]
                return Diagnosis(entry.name, f"Right, given the mistake already counted in {title} "
                                             f"({entry.name}): full credit here.", True)
        for entry in entries_for(question):
            if _matches(mine, self.answers_of(entry, question), wrong):
                return Diagnosis(entry.name, entry.feedback, entry.accepted)
        return None
