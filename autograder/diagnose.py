"""Name the likely mistake behind a wrong answer: ``hw4.judge``'s rule, with catalogue answers run here.

Only questions a student got wrong are looked at, and only the catalogue combinations
that can explain them are run (then cached), so a correct submission costs nothing here.
The rule itself lives in ``hw4.judge`` and is shared with the notebook's ``check()``.
"""

from __future__ import annotations

import hashlib
from importlib.util import find_spec
from pathlib import Path

from filelock import FileLock

from hw4.answers_file import Answers
from hw4.cases import CaseSet
from hw4.catalogue import combo_key
from hw4.judge import Diagnosis, explain

from .references import cache_path, cached, store

__all__ = ["Diagnoser", "Diagnosis"]


def catalogue_version() -> str:
    """A digest of the catalogue's code, so cached answers of an entry are rebuilt when its code changes.

    The files are found, not imported: importing the catalogue's code pulls in torch and k-diffusion (seconds),
    which grading a correct submission never needs.
    """
    sources = tuple(Path(find_spec(name).origin).read_bytes() for name in ("autograder.mistakes", "hw4.catalogue"))
    return hashlib.sha256(b"\0".join(sources)).hexdigest()[:8]


class Diagnoser:
    """Runs catalogue combinations on demand (loading the model once) and remembers their answers."""

    def __init__(self, key: str, model_name: str = "embedded", cases: CaseSet | None = None, model=None):
        from hw4.assignments import get

        cases = get().graded_cases if cases is None else cases
        self.key, self.model_name, self.cases, self._model = key, model_name, cases, model
        self._answers: dict[tuple[str, str], dict] = {}  # (combination, question): answers by case
        self._version = catalogue_version()

    @property
    def model(self):
        if self._model is None:
            from hw4.model import load_model

            self._model, _ = load_model(self.model_name)
        return self._model

    def answers_of(self, entry, question: str) -> dict:
        """The answers of a catalogue entry (or a tuple of entry names) for ``question``, cached on disk."""
        names = (entry.name,) if hasattr(entry, "name") else tuple(entry)
        name = combo_key(names)
        if (name, question) not in self._answers:
            kind = f"{name}.{question}.{self._version}"
            found = cached(kind, self.key)
            if found is None:
                lock = cache_path(kind, self.key).with_suffix(".lock")
                lock.parent.mkdir(parents=True, exist_ok=True)
                with FileLock(lock):  # grade-all's other workers wait for this build instead of repeating it
                    found = cached(kind, self.key) or self._build(names, question, kind)
            self._answers[(name, question)] = found.questions[question].answers
        return self._answers[(name, question)]

    def _build(self, names: tuple[str, ...], question: str, kind: str) -> Answers:
        from hw4.answers import generate
        from solutions.variants import implementation

        # the catalogue is our own code: it runs in this process, without a forked child per case
        found = generate(implementation(names), self.model, self.cases, questions=(question,), progress=False,
                         isolate=False)
        store(kind, self.key, found)
        return found

    def explain(self, question: str, student: dict[str, dict], wrong: list[str],
                correct: frozenset[str] = frozenset()) -> Diagnosis | None:
        """Explain the ``wrong`` cases of ``question`` from the student's answers (``correct``: questions all right)."""
        return explain(question, student, wrong, self.answers_of, correct)
