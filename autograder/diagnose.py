"""What catalogue entries answer, for ``hw4.judge``'s rule: each combination run here on demand, then cached.

Only questions a student got wrong are looked at, and only the catalogue combinations
that can explain them are run (then cached), so a correct submission costs nothing here.
The rule itself lives in ``hw4.judge`` and is shared with the notebook's ``check()``; ``autograder.grade``
passes it ``Diagnoser.catalogue`` and ``Diagnoser.answers_of``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from filelock import FileLock

from hw4.answers_file import Answers
from hw4.assignments import Assignment, get
from hw4.cases import CaseSet
from hw4.catalogue import Catalogue, combo_key
from hw4.judge import Diagnosis
from solutions import mistakes_of

from .references import cache_path, cached, store

if TYPE_CHECKING:
    from hw4.model import AudioModel

__all__ = ["Diagnoser", "Diagnosis"]


class Diagnoser:
    """Runs catalogue combinations on demand (loading the model once) and remembers their answers."""

    def __init__(self, key: str, model_name: str = "embedded", cases: CaseSet | None = None,
                 model: AudioModel | None = None, assignment: Assignment | None = None) -> None:
        self.assignment = assignment or get()
        cases = self.assignment.graded_cases if cases is None else cases
        self.key, self.model_name, self.cases, self._model = key, model_name, cases, model
        self._answers: dict[tuple[str, str], dict] = {}  # (combination, question): answers by case
        self._staff = mistakes_of(self.assignment)  # the catalogue's records and the code that makes them
        self.catalogue = self._staff.CATALOGUE if self._staff is not None else Catalogue(())

    @property
    def model(self) -> AudioModel:
        if self._model is None:
            self._model, _ = self.assignment.load_model(self.model_name)
        return self._model

    def answers_of(self, names: tuple[str, ...], question: str) -> dict:
        """The answers of a combination of catalogue entries for ``question``, cached on disk."""
        name = combo_key(names)
        if (name, question) not in self._answers:
            kind = f"{name}.{question}"  # under the reference key, which covers the catalogue's code too
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

        assert self._staff is not None  # an empty catalogue asks for no combination
        # the catalogue is our own code: it runs in this process, without a forked child per case
        found = generate(self._staff.implementation(names), self.model, self.cases, questions=(question,), progress=False,
                         isolate=False)
        store(kind, self.key, found)
        return found
