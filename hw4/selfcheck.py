"""Self-checks for the notebook: ``check(to_d)`` prints the verdict the grader would give on small cases.

The verdict follows the grader's rule (``hw4.judge``): the same comparison, the same
accepted variants, the same cascade (a mistake in ``to_d``/``simple_sample`` counts in
Q1 only) and the same catalogue names. What the solutions and every catalogue entry
answer on these cases ships as arrays in ``hw4/data/selfcheck.pkl`` (written by
``hw4 build-notebooks``; a test proves they are up to date). The lecture lab's functions are
checked by the same code against ``hw4/data/lab_selfcheck.pkl`` (records ``hw4.questions.LAB``; the lab
has no catalogue, so a wrong answer gets the question's hint). Checks always use the embedded model on the
CPU, so they take seconds whichever model the notebook samples with.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from .answers_file import Answers, QuestionAnswers, parse_answers, read_answers
from .catalogue import BY_NAME, combo_key
from .compare import TOLERANCE, compare
from .judge import explain
from .questions import HOMEWORK, LAB_CHECK, SELF_CHECK, before, by_function, every, find
from .safe_pickle import load_answers

if TYPE_CHECKING:
    from .model import AudioModel

EXPECTED_FILE = Path(__file__).resolve().parent / "data" / "selfcheck.pkl"
UNKNOWN = "Not a mistake the course has catalogued: see the hints under the question."


@cache
def _embedded_model() -> AudioModel:
    from .model import load_model

    return load_model("embedded")[0]


@cache
def _shipped() -> tuple[Answers, dict[str, dict[str, dict]]]:
    from .lab_checks import EXPECTED_FILE as LAB_EXPECTED_FILE

    data = load_answers(EXPECTED_FILE)
    expected = parse_answers(data)
    expected.questions.update(read_answers(LAB_EXPECTED_FILE).questions)
    return expected, data.get("catalogue", {}) if isinstance(data, dict) else {}


def expected_answers() -> Answers:
    """The shipped self-check data: the solutions' answers (the homework's and the lab's)."""
    return _shipped()[0]


def stored_catalogue() -> dict[str, dict[str, dict]]:
    """The shipped self-check data's ``catalogue``: answers by combination key, then question, then case."""
    return _shipped()[1]


def catalogue_answers(names: tuple[str, ...], question: str) -> dict:
    """What a combination of catalogue entries answers on ``question``'s self-check cases.

    The data stores a combination only where it differs from its entries of ``question`` alone, which in
    turn are stored only where they differ from the solutions.
    """
    stored = stored_catalogue()
    own = tuple(n for n in names if BY_NAME[n].question == question)
    for key in (combo_key(names), combo_key(own)):
        if question in stored.get(key, {}):
            return stored[key][question]
    return expected_answers().questions[question].answers


def function_name(fn: Callable) -> str | None:
    """The name ``fn`` answers a question under: its own, or for ``to_d = lambda ...`` the notebook's name for it.

    The runner finds a submission's functions by the names they are bound to, so ``check()`` does too.
    """
    own = getattr(fn, "__name__", None)
    if isinstance(own, str) and by_function(own) is not None:
        return own
    bound = (name for name, value in getattr(fn, "__globals__", {}).items() if value is fn and by_function(name))
    return next(bound, own)


def _implementation(functions: tuple[Callable, ...], questions: tuple[str, ...]) -> SimpleNamespace:
    """The given functions plus, for the cascade rule, the earlier questions' functions from the same namespace."""
    given = {name: fn for fn in functions if (name := function_name(fn)) is not None}
    last = max(questions, key=list(HOMEWORK).index)
    found = dict(given)
    for question in before(last):
        name = HOMEWORK[question].function
        for fn in functions:
            other = getattr(fn, "__globals__", {}).get(name)
            if name not in found and callable(other):
                found[name] = other
    return SimpleNamespace(**found)


def run_checks(*functions: Callable) -> list[tuple[str, bool]]:
    """Check notebook functions on the self-check cases; one ``(message, passed)`` per question."""
    found = (by_function(name) for name in map(function_name, functions) if name is not None)
    questions = tuple(q.key for q in found if q is not None)
    if not questions:
        names = ", ".join(q.function for q in every())
        raise ValueError(f"check() takes the notebook's functions themselves ({names}).")
    verdicts = {}
    homework = tuple(q for q in questions if q in HOMEWORK)
    if homework:
        verdicts.update(_homework_verdicts(functions, homework))
    lab = tuple(q for q in questions if q not in HOMEWORK)
    if lab:
        verdicts.update(_lab_verdicts(functions, lab))
    return [verdicts[q] for q in questions]


def _homework_verdicts(functions: tuple[Callable, ...], questions: tuple[str, ...]) -> dict[str, tuple[str, bool]]:
    from .answers import generate

    implementation = _implementation(functions, questions)
    ran = tuple(key for key, q in HOMEWORK.items() if q.function in vars(implementation))
    answers = generate(implementation, _embedded_model(), SELF_CHECK, questions=ran, progress=False).questions
    expected = expected_answers().questions
    results = {q: _results(answers[q], expected[q].answers) for q in ran}
    correct = frozenset(q for q, rs in results.items() if all(passed for _, passed, _ in rs))
    student = {q: answers[q].answers for q in ran}
    return {q: _verdict(q, answers[q].errors, results[q], student, correct) for q in questions}


def _lab_verdicts(functions: tuple[Callable, ...], questions: tuple[str, ...]) -> dict[str, tuple[str, bool]]:
    from .answers import generate

    implementation = SimpleNamespace(**{name: fn for fn in functions if (name := function_name(fn)) is not None})
    answers = generate(implementation, _embedded_model(), LAB_CHECK, questions=questions,
                       progress=False).questions
    expected = expected_answers().questions
    verdicts = {}
    for q in questions:
        results = _results(answers[q], expected[q].answers)
        verdict = _verdict(q, answers[q].errors, results, {}, frozenset())
        verdicts[q] = (verdict[0].replace(UNKNOWN, f"Hint: {find(q).hint}"), verdict[1])
    return verdicts


def check(*functions: Callable) -> None:
    """Check homework functions (e.g. ``check(to_d)``) on small cases and print PASS, FAIL (naming the mistake) or TODO."""
    for message, _ in run_checks(*functions):
        print(message)


def _results(got: QuestionAnswers, expected: dict) -> list[tuple[str, bool, object]]:
    """``(case, passed, verdict or error)`` per case, as the grader compares them."""
    out = []
    for name, value in expected.items():
        if name in got.errors:
            out.append((name, False, got.errors[name]))
        else:
            verdict = compare(got.answers.get(name), value)
            out.append((name, verdict.passed, verdict))
    return out


def _verdict(question: str, errors: dict, results: list, student: dict, correct: frozenset) -> tuple[str, bool]:
    title, total = find(question).title, len(results)
    if any(e.startswith("not implemented") for e in errors.values()):
        return f"TODO  {title}: not implemented yet.", False
    if errors:
        return f"FAIL  {title}: {next(iter(errors.values()))}\n      {UNKNOWN}", False
    verdicts = [v for _, _, v in results]
    worst = max((v.error for v in verdicts if v.error is not None), default=None)
    size = f"relative error {worst:.1e}" if worst is not None else "no comparable output"
    if all(passed for _, passed, _ in results):
        return f"PASS  {title}: {total}/{total} checks ({size}, tolerance {TOLERANCE:.0e}).", True
    wrong = [name for name, passed, v in results if not passed and v.error is not None]
    diagnosis = explain(question, student, wrong, catalogue_answers, correct) if wrong and student else None
    if diagnosis is not None and diagnosis.credit and len(wrong) == sum(not p for _, p, _ in results):
        return f"PASS  {title}: {total}/{total} checks. {diagnosis.feedback}", True
    reason = next(v.reason for _, passed, v in results if not passed)
    if diagnosis is not None and not diagnosis.credit:
        return f"FAIL  {title}: {reason}.\n      Likely mistake ({diagnosis.entry_name}): {diagnosis.feedback}", False
    return f"FAIL  {title}: {reason}.\n      {UNKNOWN}", False
