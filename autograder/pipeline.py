"""The grading pipeline in one place: load answers -> load references -> compare -> explain -> report.

``grade_file`` is what ``hw4 grade``, ``hw4 grade-all`` and Gradescope's
``run_autograder`` call for one student.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hw4.answers_file import read_answers
from hw4.assignments import DEFAULT, get
from hw4.model import EMBEDDED

from .diagnose import Diagnoser
from .grade import Report, grade
from .references import load_references, reference_key


@dataclass
class Grader:
    """Holds what every student's grading of one assignment shares: references and the mistake diagnoser."""

    model_name: str = EMBEDDED
    diagnose: bool = True
    assignment: str = DEFAULT

    def __post_init__(self) -> None:
        chosen = get(self.assignment)
        self.references = load_references(self.model_name, assignment=chosen.key)
        key = reference_key(self.model_name, assignment=chosen.key)
        self.diagnoser = Diagnoser(key, self.model_name, assignment=chosen) if self.diagnose else None

    def grade_file(self, path: str | Path) -> Report:
        """Grade one answers file (``homework4.pkl``); raises ``AnswerFileError`` or ``CannotGrade`` with a
        one-sentence reason."""
        answers = read_answers(path)
        return grade(answers, self.references, self.diagnoser, get(self.assignment))


def grade_file(path: str | Path, model_name: str = EMBEDDED, diagnose: bool = True,
               assignment: str = DEFAULT) -> Report:
    """Grade one answers file with a fresh ``Grader``."""
    return Grader(model_name, diagnose, assignment).grade_file(path)
