"""How a question is judged: one function for the grader, the notebook's ``check()`` and the integrity re-run.

``judge`` compares every case with ``hw4.compare``, then explains a question's wrong cases with the
mistake catalogue, and returns one ``Judgement`` per question: the cases (with the accepted ones marked),
the catalogue entry that explains them, and why the entry could not be graded. The grader's table and
``results.json`` (``autograder.feedback``), ``check()`` (``hw4.selfcheck``) only lay it out.

``answers_of`` says what a combination of catalogue entries answers (the grader runs the entries,
``check()`` reads them from the shipped self-check data). The rule:

- a mistake already made in an earlier question that explains these answers too is counted
  there only (credit here), with or without this question's accepted variants on top;
- a mistake of this question, alone or with accepted variants, is named (no credit);
- accepted variants, alone or combined, earn full credit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .answers_file import QuestionAnswers
from .assignments import before, find
from .catalogue import Catalogue, combo_key
from .compare import TOLERANCE, Verdict, compare
from .questions import Question
from .text import printable

AnswersOf = Callable[[tuple[str, ...], str], "Mapping[str, object] | None"]
MAX_ERROR = 500  # characters of a recorded exception kept in a case's reason


@dataclass(frozen=True)
class Diagnosis:
    """What explains a question's wrong cases: catalogue entries, the feedback, and whether it earns credit."""

    entry_name: str
    feedback: str
    credit: bool


@dataclass(frozen=True)
class CaseResult:
    """One case: passed or not, its relative error (None when nothing comparable came back), and why.

    ``raised`` is the exception the student's function raised on the case, as recorded.
    """

    name: str
    passed: bool
    error: float | None
    reason: str
    raised: str | None = None


@dataclass(frozen=True)
class Judgement:
    """One question's result: its cases, the catalogue entry that explains them, or why it could not be graded."""

    question: str
    cases: tuple[CaseResult, ...]
    diagnosis: Diagnosis | None = None
    problem: str | None = None  # the file's entry for the question is missing or malformed

    @property
    def passed(self) -> int:
        """How many cases pass (accepted ones included)."""
        return sum(c.passed for c in self.cases)

    @property
    def raised(self) -> tuple[str, ...]:
        """The exceptions recorded for the cases, in case order."""
        return tuple(str(c.raised) for c in self.cases if c.raised is not None)

    @property
    def alone(self) -> bool:
        """Whether every case is judged on its own answer (sample quality), not against the reference's."""
        return bool(self.cases) and all(judged_alone(self.question, c.name) for c in self.cases)

    @property
    def head(self) -> str:
        """The first words of the question's feedback wherever it is shown (the grader's table, ``results.json``,
        the notebook's ``check_graded``): how many cases match or, judged alone, how many pass and each one's reason
        (for sample quality: the share classified as their label against the threshold, and the copies)."""
        count = f"{self.passed}/{len(self.cases)}"
        if self.alone and self.problem is None:
            return f"{count} cases pass: " + "; ".join(f"{c.name}: {c.reason}" for c in self.cases)
        return f"{count} cases match"


def _question(key: str) -> Question | None:
    """The question ``key`` of any assignment, or None (an answers file may name one that does not exist)."""
    try:
        return find(key)
    except (KeyError, StopIteration):
        return None


def verdict(question: str, name: str, answer: object, expected: np.ndarray) -> Verdict:
    """The one rule for case ``name`` of ``question``: the case's own ``verdict(answer)`` when its kind judges its
    answers alone (a sample-quality case), otherwise ``hw4.compare`` within the question's tolerance."""
    q = _question(question)
    own = getattr(q.case(name), "verdict", None) if q else None
    if callable(own):
        return own(answer)
    return compare(answer, expected, (q and q.tolerance) or TOLERANCE)


def judged_alone(question: str, name: str) -> bool:
    """Whether case ``name`` of ``question`` is judged without the reference (so no catalogue entry explains it)."""
    q = _question(question)
    return q is not None and callable(getattr(q.case(name), "verdict", None))


def agree(answer: object, other: object, question: str | None = None, name: str | None = None) -> bool:
    """Whether both are arrays that count as the same answer: ``hw4.compare`` within ``question``'s tolerance, or
    the case's own ``agrees(answer, other)`` when its kind has one (a quality case: shares close enough)."""
    if not (isinstance(answer, np.ndarray) and isinstance(other, np.ndarray)):
        return False
    if answer.shape == other.shape and answer.dtype.kind == other.dtype.kind == "f":
        bad = ~np.isfinite(answer)
        if bad.any() or not np.isfinite(other).all():  # e.g. a catalogued mistake's 1/sqrt(0): the same NaN/Inf in
            if not np.array_equal(bad, ~np.isfinite(other)):  # the same places, the finite rest within tolerance
                return False
            if not np.array_equal(answer[bad], other[bad], equal_nan=True):
                return False
            if bad.all():
                return True
            answer, other = answer[~bad], other[~bad]
    q = _question(question) if question is not None else None
    if q is None:
        return compare(answer, other).passed
    own = getattr(q.case(name or ""), "agrees", None)
    return bool(own(answer, other)) if callable(own) else compare(answer, other, q.tolerance or TOLERANCE).passed


def matches(student: Mapping[str, object], other: Mapping[str, object] | None, names: list[str],
            question: str | None = None) -> bool:
    """True when every named case of ``student`` agrees with ``other`` within tolerance."""
    return bool(names) and other is not None and all(agree(student.get(n), other.get(n), question, n) for n in names)


def case_result(name: str, entry: QuestionAnswers, expected: object, question: str | None = None) -> CaseResult:
    """One case of ``entry`` (an answer to ``question``) judged against its expected value."""
    if name in entry.errors:
        raised = entry.errors[name]
        return CaseResult(name, False, None, f"raised {printable(raised, MAX_ERROR)}", str(raised))
    answer, wanted = entry.answers.get(name), np.asarray(expected)
    found = compare(answer, wanted) if question is None else verdict(question, name, answer, wanted)
    return CaseResult(name, found.passed, found.error, found.reason)


def explain(catalogue: Catalogue, question: str, student: Mapping[str, Mapping[str, object]], wrong: list[str],
            answers_of: AnswersOf, correct: frozenset[str] = frozenset()) -> Diagnosis | None:
    """Explain the ``wrong`` cases of ``question`` (``student``: answers by question; ``correct``: questions all right)."""
    mine = student.get(question, {})
    sets = catalogue.variant_sets(question)
    earlier = [m for q in before(question) if q not in correct for m in catalogue.mistakes_for(q)
               if matches(student.get(q, {}), answers_of((m.name,), q), list(student.get(q, {})), q)]
    # Cheapest first (the grader runs each combination it tries); the catalogue's entries are told apart by a test,
    # so the order never changes the verdict.
    for s in sets:
        for mistake in earlier:
            if matches(mine, answers_of((mistake.name, *s), question), wrong, question):
                return Diagnosis(mistake.name, f"Right, given the mistake already counted in "
                                               f"{find(mistake.question).title} ({mistake.name}): full credit here.", True)
        for mistake in catalogue.mistakes_for(question):
            if matches(mine, answers_of((mistake.name, *s), question), wrong, question):
                return Diagnosis(mistake.name, mistake.feedback, False)
        if s and matches(mine, answers_of(s, question), wrong, question):
            feedback = " ".join(dict.fromkeys(catalogue.by_name(name).feedback for name in s))
            return Diagnosis(combo_key(s), feedback, True)
    return None


def _accepted(cases: tuple[CaseResult, ...], wrong: list[str], diagnosis: Diagnosis) -> tuple[CaseResult, ...]:
    """``cases`` with the ``wrong`` ones passed, when ``diagnosis`` earns credit."""
    if not diagnosis.credit:
        return cases
    return tuple(CaseResult(c.name, True, c.error, f"accepted ({diagnosis.entry_name})") if c.name in wrong else c
                 for c in cases)


def judge(answers: Mapping[str, QuestionAnswers], expected: Mapping[str, Mapping[str, object]],
          catalogue: Catalogue | None = None, answers_of: AnswersOf | None = None,
          problems: Mapping[str, str | None] | None = None) -> dict[str, Judgement]:
    """Judge every question of ``expected`` (by question, the expected answers by case).

    ``answers`` holds the student's entries (a missing one answers nothing); ``problems`` says why an entry
    could not be read (such a question is not explained). Without ``catalogue`` and ``answers_of`` no mistake
    is named.
    """
    problems = problems or {}
    entries = {q: answers.get(q) or QuestionAnswers() for q in expected}
    compared = {q: tuple(case_result(name, entries[q], value, q) for name, value in cases.items())
                for q, cases in expected.items()}
    correct = frozenset(q for q, cases in compared.items() if all(c.passed for c in cases))
    student = {q: entry.answers for q, entry in entries.items()}
    results = {}
    for q, cases in compared.items():
        # an array, but other values (NaN/Inf in places included: an earlier mistake's 1/sqrt(0) cascades into them);
        # a case judged alone says why itself
        wrong = [c.name for c in cases if not c.passed and c.raised is None and not judged_alone(q, c.name)
                 and isinstance(student[q].get(c.name), np.ndarray)]
        diagnosis = None
        if wrong and problems.get(q) is None and catalogue is not None and answers_of is not None:
            diagnosis = explain(catalogue, q, student, wrong, answers_of, correct)
        if diagnosis is not None:
            cases = _accepted(cases, wrong, diagnosis)
        results[q] = Judgement(q, cases, diagnosis, problems.get(q))
    return results
