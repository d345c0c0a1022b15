"""Self-checks for the notebook: ``check(to_d)`` prints the verdict the grader would give on small cases.

The verdict is the grader's judgement (``hw4.judge.judge``), laid out as one line: the same
comparison, the same accepted variants, the same cascade (a mistake in ``to_d``/``simple_sample``
counts in Q1 only) and the same catalogue names. What the solutions and every catalogue entry
answer on these cases, and the catalogue's names and feedback, ship in each assignment's ``self_check_data``
(``hw4/data/selfcheck.pkl`` for the homework, ``hw4/data/lab_selfcheck.pkl`` for the lecture lab; written by
``hw4 build-notebooks``, a test proves they are up to date). Where no catalogued mistake explains a wrong answer
and the question has a hint (the lab's do), the hint is shown. Checks always use the assignment's model as
embedded here, on the
CPU, so they take seconds whichever model the notebook samples with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

from .answers_file import Answers, QuestionAnswers, parse_answers
from .assignments import Assignment, by_function, find, get, owner, questions
from .catalogue import Catalogue, combo_key
from .compare import TOLERANCE
from .judge import Judgement, judge, judged_alone
from .safe_pickle import load_answers

if TYPE_CHECKING:
    from .model import AudioModel

UNKNOWN = "Not a mistake the course has catalogued: see the hints under the question."


@cache
def _embedded_model(assignment: str) -> AudioModel | None:
    return get(assignment).load_model("embedded")[0]


@cache
def _shipped(assignment: str) -> tuple[Answers, dict[str, dict[str, dict]], Catalogue]:
    data = load_answers(get(assignment).self_check_data)
    shipped = data if isinstance(data, dict) else {}
    return parse_answers(data), shipped.get("catalogue", {}), Catalogue.from_data(shipped.get("mistakes"))


def expected_answers(assignment: str | None = None) -> Answers:
    """The shipped self-check data of ``assignment`` (default: the homework): the solutions' answers."""
    return _shipped(get(assignment).key)[0]


def stored_catalogue(assignment: str | None = None) -> dict[str, dict[str, dict]]:
    """The shipped self-check data's ``catalogue``: answers by combination key, then question, then case."""
    return _shipped(get(assignment).key)[1]


def shipped_catalogue(assignment: str | None = None) -> Catalogue:
    """The mistake catalogue as ``assignment``'s self-check data ships it: names, questions and feedback."""
    return _shipped(get(assignment).key)[2]


def catalogue_answers(names: tuple[str, ...], question: str) -> dict:
    """What a combination of catalogue entries answers on ``question``'s self-check cases.

    The data stores a combination only where it differs from its entries of ``question`` alone, which in
    turn are stored only where they differ from the solutions.
    """
    assignment = owner(question).key
    stored = stored_catalogue(assignment)
    own = tuple(n for n in names if shipped_catalogue(assignment).by_name(n).question == question)
    for key in (combo_key(names), combo_key(own)):
        if question in stored.get(key, {}):
            return stored[key][question]
    return expected_answers(assignment).questions[question].answers


def function_name(fn: Callable) -> str | None:
    """The name ``fn`` answers a question under: its own, or for ``to_d = lambda ...`` the notebook's name for it.

    The runner finds a submission's functions by the names they are bound to, so ``check()`` does too.
    """
    own = getattr(fn, "__name__", None)
    if isinstance(own, str) and by_function(own) is not None:
        return own
    bound = (name for name, value in getattr(fn, "__globals__", {}).items() if value is fn and by_function(name))
    return next(bound, own)


def _implementation(functions: tuple[Callable, ...], assignment: Assignment,
                    asked: tuple[str, ...]) -> SimpleNamespace:
    """The given functions plus, for the cascade rule, the earlier questions' functions from the same namespace."""
    given = {name: fn for fn in functions if (name := function_name(fn)) is not None}
    last = max(asked, key=list(assignment.questions).index)
    found = dict(given)
    for question in assignment.before(last):
        name = assignment.questions[question].function
        for fn in functions:
            other = getattr(fn, "__globals__", {}).get(name)
            if name not in found and callable(other):
                found[name] = other
    return SimpleNamespace(**found)


def run_checks(*functions: Callable) -> list[tuple[str, bool]]:
    """Check notebook functions on the self-check cases; one ``(message, passed)`` per question."""
    found = (by_function(name) for name in map(function_name, functions) if name is not None)
    asked = tuple(q.key for q in found if q is not None)
    if not asked:
        names = ", ".join(q.function for q in questions())
        raise ValueError(f"check() takes the notebook's functions themselves ({names}).")
    verdicts = {}
    for assignment in dict.fromkeys(owner(q) for q in asked):
        verdicts.update(_verdicts(functions, assignment, tuple(q for q in asked if q in assignment.questions)))
    return [verdicts[q] for q in asked]


def _verdicts(functions: tuple[Callable, ...], assignment: Assignment,
              asked: tuple[str, ...]) -> dict[str, tuple[str, bool]]:
    """The verdicts on the ``asked`` questions of ``assignment``, judged against its shipped data."""
    from .answers import generate

    implementation = _implementation(functions, assignment, asked)
    ran = tuple(key for key, q in assignment.questions.items() if q.function in vars(implementation))
    answers = generate(implementation, _embedded_model(assignment.key), assignment.self_check_cases, questions=ran,
                       progress=False).questions
    expected = {q: expected_answers(assignment.key).questions[q].answers for q in ran}
    judged = judge(answers, expected, shipped_catalogue(assignment.key), catalogue_answers)
    verdicts = {q: _verdict(judged[q]) for q in asked}
    hints = {q: hint for q in asked if (hint := find(q).hint)}
    return {q: (message.replace(UNKNOWN, f"Hint: {hints[q]}") if q in hints else message, passed)
            for q, (message, passed) in verdicts.items()}


def check(*functions: Callable) -> None:
    """Check homework functions (e.g. ``check(to_d)``) on small cases and print PASS, FAIL (naming the mistake) or TODO."""
    for message, _ in run_checks(*functions):
        print(message)


def run_graded_check(question: str, answers: Mapping[str, object]) -> tuple[str, bool]:
    """The grader's verdict on ``answers`` (by case name) to ``question``'s graded cases when each is judged on its
    own answer (sample quality: the DDPM notebook passes the digits its four trainings drew): its line, and whether
    every case passed. The line is the grader's feedback head (``Judgement.head``), word for word."""
    judgement = graded_judgement(question, answers)
    passed = judgement.passed == len(judgement.cases)
    return f"{'PASS' if passed else 'FAIL'}  {find(question).title}: {judgement.head}.", passed


def graded_judgement(question: str, answers: Mapping[str, object]) -> Judgement:
    """The grader's judgement of ``answers`` (by case name) to ``question``'s graded cases, each judged alone."""
    q = find(question)
    names = [c.name for c in q.graded]
    if not all(judged_alone(question, name) for name in names):
        raise ValueError(f"{q.title}'s graded cases are compared with the reference's; check() its function instead.")
    entry = QuestionAnswers(answers={name: answers[name] for name in names if name in answers})
    unused = np.zeros(0)  # judged alone: the reference's answers play no part
    return judge({question: entry}, {question: dict.fromkeys(names, unused)})[question]


def check_graded(question: str, answers: Mapping[str, object]) -> None:
    """Print the grader's verdict on answers computed in the notebook (``run_graded_check``): PASS or FAIL, and why."""
    print(run_graded_check(question, answers)[0])


def _verdict(judgement: Judgement) -> tuple[str, bool]:
    """The line ``check()`` prints for a question, and whether it passed."""
    title, cases = find(judgement.question).title, judgement.cases
    total, raised = len(cases), judgement.raised
    if any(e.startswith("not implemented") for e in raised):
        return f"TODO  {title}: not implemented yet.", False
    if raised:
        return f"FAIL  {title}: {raised[0]}\n      {UNKNOWN}", False
    diagnosis = judgement.diagnosis
    if all(c.passed for c in cases):
        if diagnosis is not None:
            return f"PASS  {title}: {total}/{total} checks. {diagnosis.feedback}", True
        worst = max((c.error for c in cases if c.error is not None), default=None)
        size = f"relative error {worst:.1e}" if worst is not None else "no comparable output"
        tolerance = find(judgement.question).tolerance or TOLERANCE
        return f"PASS  {title}: {total}/{total} checks ({size}, tolerance {tolerance:.0e}).", True
    reason = next(c.reason for c in cases if not c.passed)
    if diagnosis is not None and not diagnosis.credit:
        return f"FAIL  {title}: {reason}.\n      Likely mistake ({diagnosis.entry_name}): {diagnosis.feedback}", False
    return f"FAIL  {title}: {reason}.\n      {UNKNOWN}", False
