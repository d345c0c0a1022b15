"""``report = grade(answers, references)``: score a student's answers file against the reference answers.

Steps, in order: check the file is compatible (format, model, cases) -> judge every question
(``hw4.judge``: compare each case, explain wrong ones with the mistake catalogue) -> points per question.
Nothing here executes anything from the student's file; it only reads arrays.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from hw4.answers_file import Answers, CannotGrade, QuestionAnswers
from hw4.assignments import Assignment, get
from hw4.judge import CaseResult, Judgement, judge
from hw4.text import printable

if TYPE_CHECKING:
    from .diagnose import Diagnoser


@dataclass
class QuestionResult:
    """One question's score and the line of feedback the student sees."""

    question: str
    title: str
    score: float
    max_score: float
    feedback: str
    cases: tuple[CaseResult, ...] = ()


@dataclass
class Report:
    """The whole grade."""

    questions: list[QuestionResult]
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return round(sum(q.score for q in self.questions), 2)

    @property
    def max_total(self) -> float:
        return round(sum(q.max_score for q in self.questions), 2)

    def to_dict(self) -> dict:
        return {"total": self.total, "max_total": self.max_total, "notes": self.notes,
                "questions": [asdict(q) for q in self.questions]}


def check_compatible(answers: Answers, references: Answers) -> None:
    """Raise ``CannotGrade`` unless ``answers`` were made for the same format, model and cases as ``references``."""
    meta, expected = answers.meta, references.meta
    if meta.format != expected.format:
        raise CannotGrade("This homework4.pkl was written by another version of the runner: update the homework "
                          "files and run the runner again.")
    if meta.model_id != expected.model_id:
        raise CannotGrade(f"These answers were made with the model {meta.model_id!r}, but grading uses "
                          f"{expected.model_id!r}: run the runner again with the model the course grades with.")
    if meta.cases_version != expected.cases_version:
        raise CannotGrade("These answers are for another set of graded cases: update the homework files "
                          "(git pull) and run the runner again.")


def _problem(entry: QuestionAnswers | None, title: str) -> str | None:
    """Why a question's entry in the file cannot be graded, if it cannot."""
    if entry is None:
        return f"The file holds no answers for {title}."
    if entry.problem:
        return f"The entry for {title} is {entry.problem}."
    return None


def _feedback(judgement: Judgement) -> str:
    """The line the student sees: the judgement's head, then what explains it or an example of a wrong case."""
    head, note = judgement.head, _note(judgement)
    wrong = [r for r in judgement.cases if not r.passed]
    raised = [r for r in wrong if r.error is None]  # no comparable answer: an exception, a wrong shape, ...
    if note:
        also = f" Also, case '{raised[0].name}': {raised[0].reason}." if raised else ""
        return f"{head}. {note}{also}"
    if not wrong or judgement.alone:  # judged alone, the head gives every case's reason already
        return head + "."
    return f"{head}; e.g. case '{wrong[0].name}': {wrong[0].reason}."


def _note(judgement: Judgement) -> str | None:
    """What the feedback says besides the count: why the entry could not be graded, or what explains it."""
    if judgement.problem is not None or judgement.diagnosis is None:
        return judgement.problem
    diagnosis = judgement.diagnosis
    return ("" if diagnosis.credit else "Likely mistake: ") + diagnosis.feedback


def grade(answers: Answers, references: Answers, diagnoser: Diagnoser | None = None,
          assignment: Assignment | None = None) -> Report:
    """Score ``answers`` against ``references`` with the points of ``assignment``'s questions (default: the
    homework's); ``diagnoser`` (optional) names likely mistakes."""
    questions = (assignment or get()).questions
    check_compatible(answers, references)
    notes = [f"ignored unknown entry '{printable(k, 80)}'" for k in answers.questions if k not in questions]
    expected = {q: references.questions[q].answers for q in questions}
    problems = {q: _problem(answers.questions.get(q), questions[q].title) for q in questions}
    catalogue, answers_of = (diagnoser.catalogue, diagnoser.answers_of) if diagnoser else (None, None)
    judged = judge(answers.questions, expected, catalogue, answers_of, problems)
    results = []
    for q, judgement in judged.items():
        points = float(questions[q].points)
        score = round(points * judgement.passed / max(len(judgement.cases), 1), 2)
        results.append(QuestionResult(q, questions[q].title, score, points,
                                      _feedback(judgement), judgement.cases))
    return Report(results, notes)
