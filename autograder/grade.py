"""``report = grade(answers, references)``: score a student's answers file against the reference answers.

Steps, in order: check the file is compatible (format, model, cases) -> compare every
case -> explain wrong questions with the mistake catalogue -> points per question.
Nothing here executes anything from the student's file; it only reads arrays.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hw4 import cases as C
from hw4.compare import Verdict, compare
from hw4.errors import UserError
from hw4.text import printable

POINTS_FILE = Path(__file__).with_name("points.json")
MAX_ERROR = 500  # characters of a recorded error shown in feedback


class CannotGrade(UserError):
    """The answers file cannot be graded at all; the message says why in one sentence."""


@dataclass
class CaseResult:
    """One case: passed or not, its relative error, and why."""

    name: str
    passed: bool
    error: float | None
    reason: str


@dataclass
class QuestionResult:
    """One question's score and the line of feedback the student sees."""

    question: str
    title: str
    score: float
    max_score: float
    feedback: str
    cases: list[CaseResult] = field(default_factory=list)


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


def load_points(path: Path = POINTS_FILE) -> dict[str, float]:
    """Points per question from the config file (100 in total by default)."""
    points = json.loads(Path(path).read_text())
    unknown = set(points) - set(C.QUESTIONS)
    if unknown:
        raise ValueError(f"{path} names unknown questions: {', '.join(sorted(unknown))}")
    return {q: float(points.get(q, 0)) for q in C.QUESTIONS}


def check_compatible(answers: object, references: dict) -> None:
    """Raise ``CannotGrade`` unless ``answers`` is an answers file made for the same model and cases."""
    if not isinstance(answers, dict) or not isinstance(answers.get("questions"), dict):
        raise CannotGrade("This file does not hold homework answers: submit the homework4.pkl that runner.ipynb "
                          "(or `hw4 answers`) writes.")
    meta, expected = answers.get("meta"), references["meta"]
    if not isinstance(meta, dict) or meta.get("format") != expected["format"]:
        raise CannotGrade("This homework4.pkl was written by another version of the runner: update the homework "
                          "files and run the runner again.")
    if meta.get("model_id") != expected["model_id"]:
        raise CannotGrade(f"These answers were made with the model {meta.get('model_id')!r}, but grading uses "
                          f"{expected['model_id']!r}: run the runner again with the model the course grades with.")
    if meta.get("cases_version") != expected["cases_version"]:
        raise CannotGrade("These answers are for another set of graded cases: update the homework files "
                          "(git pull) and run the runner again.")


def _question_answers(answers: dict, question: str) -> tuple[dict, dict, str | None]:
    entry = answers["questions"].get(question)
    if entry is None:
        return {}, {}, f"The file holds no answers for {C.TITLES[question]}."
    if not isinstance(entry, dict):
        return {}, {}, f"The entry for {C.TITLES[question]} is a {type(entry).__name__}, not a dict."
    found = entry.get("answers", {})
    errors = entry.get("errors", {})
    return (found if isinstance(found, dict) else {}), (errors if isinstance(errors, dict) else {}), None


def _case_result(name: str, found: dict, errors: dict, expected) -> CaseResult:
    if name in errors:
        return CaseResult(name, False, None, f"raised {printable(errors[name], MAX_ERROR)}")
    verdict: Verdict = compare(found.get(name), expected)
    return CaseResult(name, verdict.passed, verdict.error, verdict.reason)


def _feedback(results: list[CaseResult], note: str | None) -> str:
    passed = sum(r.passed for r in results)
    head = f"{passed}/{len(results)} cases match"
    wrong = [r for r in results if not r.passed]
    raised = [r for r in wrong if r.error is None]  # no comparable answer: an exception, a wrong shape, ...
    if note:
        also = f" Also, case '{raised[0].name}': {raised[0].reason}." if raised else ""
        return f"{head}. {note}{also}"
    if not wrong:
        return head + "."
    return f"{head}; e.g. case '{wrong[0].name}': {wrong[0].reason}."


def grade(answers: object, references: dict, points: dict[str, float] | None = None, diagnoser=None) -> Report:
    """Score ``answers`` against ``references``; ``diagnoser`` (optional) names likely mistakes."""
    check_compatible(answers, references)
    points = points or load_points()
    notes = [f"ignored unknown entry '{printable(k, 80)}'" for k in answers["questions"] if k not in C.QUESTIONS]
    per_question: dict[str, list[CaseResult]] = {}
    student: dict[str, dict] = {}
    problems: dict[str, str | None] = {}
    for q in C.QUESTIONS:
        found, errors, problems[q] = _question_answers(answers, q)
        student[q] = found
        expected = references["questions"][q]["answers"]
        per_question[q] = [_case_result(name, found, errors, value) for name, value in expected.items()]
    correct = frozenset(q for q, rs in per_question.items() if all(r.passed for r in rs))
    results = []
    for q in C.QUESTIONS:
        cases, note = per_question[q], problems[q]
        wrong = [r.name for r in cases if not r.passed and r.error is not None]  # an array, but other values
        if wrong and diagnoser is not None and note is None:
            diagnosis = diagnoser.explain(q, student, wrong, correct)
            if diagnosis is not None:
                note = ("" if diagnosis.credit else "Likely mistake: ") + diagnosis.feedback
                if diagnosis.credit:
                    for r in cases:
                        if r.name in wrong:
                            r.passed, r.reason = True, f"accepted ({diagnosis.entry_name})"
        score = round(points[q] * sum(r.passed for r in cases) / max(len(cases), 1), 2)
        results.append(QuestionResult(q, C.TITLES[q], score, points[q], _feedback(cases, note), cases))
    return Report(results, notes)


def format_table(report: Report) -> str:
    """The report as a plain-text table that ends with ``total: X / Y``."""
    width = max(len(q.title) for q in report.questions)
    lines = [f"{'question':<{width}}  {'points':>6}  {'max':>5}  feedback", "-" * (width + 40)]
    for q in report.questions:
        lines.append(f"{q.title:<{width}}  {q.score:>6.2f}  {q.max_score:>5.0f}  {q.feedback}")
    lines += [f"note: {n}" for n in report.notes]
    lines.append(f"total: {report.total:g} / {report.max_total:g}")
    return "\n".join(lines)


def gradescope_results(report: Report | None, message: str | None = None) -> dict:
    """Gradescope's ``results.json``: the score, one test per question, and an overall message."""
    if report is None:
        return {"score": 0, "output": message or "The submission could not be graded.", "tests": []}
    tests = [{"name": q.title, "score": q.score, "max_score": q.max_score,
              "status": "passed" if q.score >= q.max_score else "failed",
              "output": q.feedback + "\n" + "\n".join(f"  {c.name}: {c.reason}" for c in q.cases),
              "visibility": "visible"} for q in report.questions]
    output = "\n".join([message or "", *report.notes]).strip()
    return {"score": report.total, "output": output or f"total: {report.total:g} / {report.max_total:g}",
            "tests": tests}
