"""Self-checks for the notebook: ``check(to_d)`` prints the verdict the grader would give on small cases.

The verdict follows the grader's rule (``hw4.judge``): the same comparison, the same
accepted variants, the same cascade (a mistake in ``to_d``/``simple_sample`` counts in
Q1 only) and the same catalogue names. What the solutions and every catalogue entry
answer on these cases ships as arrays in each assignment's ``self_check_data`` (``hw4/data/selfcheck.pkl``
for the homework, ``hw4/data/lab_selfcheck.pkl`` for the lecture lab; written by ``hw4 build-notebooks``, a
test proves they are up to date). Where no catalogued mistake explains a wrong answer and the question has a
hint (the lab's do), the hint is shown. Checks always use the assignment's model as embedded here, on the
CPU, so they take seconds whichever model the notebook samples with.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from types import SimpleNamespace

from .answers_file import Answers, QuestionAnswers, parse_answers
from .assignments import Assignment, by_function, find, get, owner, questions
from .catalogue import BY_NAME, combo_key
from .compare import TOLERANCE, compare
from .judge import explain
from .safe_pickle import load_answers

UNKNOWN = "Not a mistake the course has catalogued: see the hints under the question."


@cache
def _embedded_model(assignment: str) -> object:
    return get(assignment).load_model("embedded")[0]


@cache
def _shipped(assignment: str) -> tuple[Answers, dict[str, dict[str, dict]]]:
    data = load_answers(get(assignment).self_check_data)
    return parse_answers(data), data.get("catalogue", {})


def expected_answers(assignment: str | None = None) -> Answers:
    """The shipped self-check data of ``assignment`` (default: the homework): the solutions' answers."""
    return _shipped(get(assignment).key)[0]


def stored_catalogue(assignment: str | None = None) -> dict[str, dict[str, dict]]:
    """The shipped self-check data's ``catalogue``: answers by combination key, then question, then case."""
    return _shipped(get(assignment).key)[1]


def catalogue_answers(names: tuple[str, ...], question: str) -> dict:
    """What a combination of catalogue entries answers on ``question``'s self-check cases.

    The data stores a combination only where it differs from its entries of ``question`` alone, which in
    turn are stored only where they differ from the solutions.
    """
    assignment = owner(question).key
    stored = stored_catalogue(assignment)
    own = tuple(n for n in names if BY_NAME[n].question == question)
    for key in (combo_key(names), combo_key(own)):
        if question in stored.get(key, {}):
            return stored[key][question]
    return expected_answers(assignment).questions[question].answers


def function_name(fn: Callable) -> str | None:
    """The name ``fn`` answers a question under: its own, or for ``to_d = lambda ...`` the notebook's name for it.

    The runner finds a submission's functions by the names they are bound to, so ``check()`` does too.
    """
    own = getattr(fn, "__name__", None)
    if by_function(own) is not None:
        return own
    bound = (name for name, value in getattr(fn, "__globals__", {}).items() if value is fn and by_function(name))
    return next(bound, own)


def _implementation(functions: tuple[Callable, ...], assignment: Assignment,
                    asked: tuple[str, ...]) -> SimpleNamespace:
    """The given functions plus, for the cascade rule, the earlier questions' functions from the same namespace."""
    given = {function_name(fn): fn for fn in functions}
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
    found = (by_function(function_name(fn)) for fn in functions)
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
    expected = expected_answers(assignment.key).questions
    results = {q: _results(answers[q], expected[q].answers) for q in ran}
    correct = frozenset(q for q, rs in results.items() if all(passed for _, passed, _ in rs))
    student = {q: answers[q].answers for q in ran}
    verdicts = {q: _verdict(q, answers[q].errors, results[q], student, correct) for q in asked}
    hints = {q: find(q).hint for q in asked if find(q).hint}
    return {q: (message.replace(UNKNOWN, f"Hint: {hints[q]}") if q in hints else message, passed)
            for q, (message, passed) in verdicts.items()}


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
