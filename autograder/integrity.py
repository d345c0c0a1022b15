"""``verify(code, pickle)``: does the submitted code (a ``.py``, a notebook, or both) reproduce its answers file?

The submission is re-run, for its own assignment (``homework4.pkl`` for the homework), with ``python -m hw4
answers --assignment KEY`` inside ``autograder.sandbox`` (its own user, its own
mount, pid and network namespaces, memory/process/file/time limits; see there), never in the grader. The
sandbox sees the submitted code, the student-side ``hw4`` package and the model (and, for an assignment
registered from a file through ``HW4_ASSIGNMENTS``, that one file), nothing else: not the
submitted pickle, the solutions, the reference cache or the grader's environment. The submitted pickle is
read *before* the re-run; the re-run's answers are read with the safe loader only after every process of
the sandbox has ended, like any student's pickle. Only a short, escaped excerpt of what the code printed
reaches the note.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hw4.answers_file import Answers, CannotGrade, parse_answers
from hw4.assignments import ENV, Assignment, definition_file, get
from hw4.judge import agree
from hw4.model import EMBEDDED
from hw4.questions import Question
from hw4.safe_pickle import MAX_BYTES, AnswerFileError, load_answers
from hw4.text import printable

from . import sandbox

STDERR_TAIL = 300
SUBMISSION_MOUNT = "/submission"
ASSIGNMENT_MOUNT = "/assignment/definition.py"


@dataclass
class Integrity:
    """The outcome: ``ok`` True (reproduced), False (``mismatched`` cases differ) or None (could not check)."""

    ok: bool | None
    message: str
    mismatched: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ the re-run


def _hub_cache() -> Path | None:
    """The grader's Hugging Face hub cache, mounted read-only so that ``--model sao`` finds its weights."""
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        return None
    path = Path(constants.HF_HUB_CACHE)
    return path if path.is_dir() else None


def _tail(log: bytes) -> str:
    """The last lines of the re-run's output: short, on one line, escaped."""
    lines = [line.strip() for line in log[-4000:].decode("utf-8", "replace").splitlines() if line.strip()]
    return printable(" / ".join(lines[-3:])[-STDERR_TAIL:])


def rerun(submission: Path, model: str, time_limit_s: float, memory_limit_mb: int, mechanism: str | None = None,
          assignment: Assignment | None = None) -> tuple[str | None, bytes | None, float]:
    """Run ``hw4 answers`` for ``assignment`` (default: the homework) on ``submission`` in the sandbox:
    ``(why it failed or None, answers bytes, seconds)``."""
    assignment = assignment or get()
    stem = Path(assignment.script).stem  # a fixed name: it can't shadow a module
    inside = f"{SUBMISSION_MOUNT}/{stem}{submission.suffix.lower()}"
    readable = [(submission.resolve(), inside)]  # read-only: a notebook's cells are read, never converted beside it
    env = {}
    definition = definition_file(assignment.key)
    if definition is not None:  # registered from a file: the re-run registers it from the same file
        readable.append((definition, ASSIGNMENT_MOUNT))
        env[ENV] = ASSIGNMENT_MOUNT
    hub = _hub_cache() if model != EMBEDDED else None
    if hub is not None:
        readable.append((hub, "/hf-cache"))
        env["HF_HUB_CACHE"] = "/hf-cache"
    command = [sys.executable, "-m", "hw4", "answers", inside, "-o", sandbox.OUTPUT, "--model", model, "--quiet",
               "--no-convert", "--assignment", assignment.key]
    limits = sandbox.Limits(wall_s=time_limit_s, memory_mb=memory_limit_mb, file_mb=2 * MAX_BYTES // 2**20)
    outcome, data = sandbox.run(command, readable=readable, env=env, limits=limits, mechanism=mechanism)
    if outcome.timed_out:
        return f"took longer than {time_limit_s:g} s and was stopped", None, outcome.seconds
    code = outcome.returncode
    if code != 0:
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with status {code}"
        tail = _tail(outcome.log)
        return how + (f" ({tail})" if tail else ""), None, outcome.seconds
    if data is None:
        return "finished without writing an answers file", None, outcome.seconds
    return None, data, outcome.seconds


# ------------------------------------------------------------------------------------------ comparison


def _answers_in(raw: object) -> Answers:
    """The answers in a loaded file; none when it holds no answers at all (compared, it then matches nothing)."""
    try:
        return parse_answers(raw)
    except CannotGrade:
        return Answers()


def case_answers(answers: Answers) -> tuple[dict[str, object], dict[str, object]]:
    """``{"question/case": answer}`` and ``{"question/case": error}`` over every question of ``answers``."""
    found: dict[str, object] = {}
    errors: dict[str, object] = {}
    for question, entry in answers.questions.items():
        found.update({f"{question}/{name}": value for name, value in entry.answers.items()})
        errors.update({f"{question}/{name}": value for name, value in entry.errors.items()})
    return found, errors


def mismatched_cases(produced: Answers, submitted: Answers,
                     questions: Mapping[str, Question] | None = None) -> list[str]:
    """Cases answered by one file and not the other, or whose answers ``hw4.judge.agree`` tells apart, in the
    order of ``questions`` (default: the homework's)."""
    order = list(get().questions if questions is None else questions)
    mine, _ = case_answers(produced)
    theirs, _ = case_answers(submitted)
    different = []
    for name in sorted(set(mine) | set(theirs), key=lambda n: _case_order(n, order)):
        a, b = mine.get(name), theirs.get(name)
        if a is None and b is None:
            continue  # neither file answered it (both raised)
        question, _, case = name.partition("/")
        if not agree(a, b, question, case):
            different.append(name)
    return different


def _case_order(name: str, order: list[str]) -> tuple[int, str]:
    question = name.split("/", 1)[0]
    return (order.index(question) if question in order else len(order), name)


def _by_question(cases: list[str], questions: Mapping[str, Question]) -> str:
    counts: dict[str, int] = {}
    for name in cases:
        question = name.split("/", 1)[0]
        counts[question] = counts.get(question, 0) + 1
    return ", ".join(f"{questions[q].title if q in questions else q}: {n} case{'s' * (n != 1)}" for q, n in counts.items())


def _meta_note(produced: Answers, submitted: Answers) -> str:
    """Why everything may differ: the files were made with another model or another set of cases."""
    mine, theirs = produced.meta, submitted.meta
    for key, what in (("model_id", "model"), ("cases_version", "set of cases")):
        if getattr(mine, key) != getattr(theirs, key):
            return (f" (the pickle was made with another {what}: {printable(repr(getattr(theirs, key)), 80)}, "
                    f"the re-run used {getattr(mine, key)!r})")
    return ""


def _memory_errors(answers: Answers) -> int:
    _, errors = case_answers(answers)
    return sum(("MemoryError" in str(e) or "allocate" in str(e)) for e in errors.values())


def verify(submission: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], pickle_path: str | os.PathLike[str],
           model: str = EMBEDDED, time_limit_s: float = 600, memory_limit_mb: int = 4000,
           mechanism: str | None = None, assignment: str | None = None) -> Integrity:
    """Re-run ``submission`` in the sandbox for ``assignment`` (default: the homework) and compare its answers with
    ``pickle_path``, case by case.

    ``submission`` is one code file (a ``.py`` or a ``.ipynb``) or several: a student who sent both the ``.py``
    and the notebook has both re-run, the ``.py`` first, and each must reproduce the pickle (the ``.py`` is what
    the notebook says to upload, the notebook what the student edits and the TA reads: neither may stand in for
    the other). The verdict is False when any file does not reproduce the pickle, None when one could not be
    checked, and the note has one sentence per file. ``time_limit_s`` is shared by all re-runs. Nothing is
    written beside the submitted files (a notebook's cells are read as they are, never converted on disk).
    ``mechanism`` is ``autograder.sandbox``'s (default: the strongest available; ``"unsandboxed"`` only when
    the TA asked for it). Raises ``sandbox.SandboxUnavailable`` when no sandbox can be built.
    """
    chosen = get(assignment)
    files = [Path(submission)] if isinstance(submission, (str, os.PathLike)) else [Path(p) for p in submission]
    pickle_path = Path(pickle_path)
    if not files:
        return Integrity(None, "Integrity not checked: no code was submitted.")
    try:
        submitted = _answers_in(load_answers(pickle_path))  # read first: the re-run can't touch what it is compared with
    except AnswerFileError as err:
        return Integrity(None, f"Integrity not checked: {err}")
    started = time.monotonic()
    verdicts: list[Integrity] = []
    for path in files:
        left = time_limit_s if not verdicts else round(time_limit_s - (time.monotonic() - started))
        if left < 1:
            verdicts.append(Integrity(None, f"Integrity not checked: no time was left to re-run {_shown(path)}."))
            continue
        verdicts.append(_verify_file(path, submitted, pickle_path.name, model, left, memory_limit_mb, mechanism,
                                     chosen))
    return verdicts[0] if len(verdicts) == 1 else _together(verdicts)


def _shown(path: Path) -> str:
    """A submitted file's name as the note shows it (escaped: a student chose it)."""
    return printable(path.name, 120)


def _together(verdicts: list[Integrity]) -> Integrity:
    """One verdict for several files: False if any differs, else None if any was not checked, else True."""
    oks = [v.ok for v in verdicts]
    ok = False if False in oks else None if None in oks else True
    mismatched = list(dict.fromkeys(case for v in verdicts for case in v.mismatched))
    return Integrity(ok, " ".join(v.message for v in verdicts), mismatched)


def _verify_file(submission: Path, submitted: Answers, name: str, model: str, time_limit_s: float,
                 memory_limit_mb: int, mechanism: str | None, assignment: Assignment) -> Integrity:
    """``verify`` for one code file, against the submitted answers (already read)."""
    shown = _shown(submission)
    if not submission.is_file():
        return Integrity(None, f"Integrity not checked: the submission {shown} was not found.")
    failure, data, seconds = rerun(submission, model, time_limit_s, memory_limit_mb, mechanism, assignment)
    if data is not None:  # rerun's data: there exactly when it found no failure
        try:
            produced = _answers_in(load_answers(data, name="the re-run's answers"))
        except AnswerFileError as err:
            failure = f"wrote answers that could not be read ({err})"
    if failure is not None:
        return Integrity(None, f"Integrity not checked: re-running {shown} {failure}.")
    mismatched = mismatched_cases(produced, submitted, assignment.questions)
    total = len(set(case_answers(produced)[0]) | set(case_answers(submitted)[0]))
    if not total:
        return Integrity(None, f"Integrity not checked: neither {name} nor the re-run of {shown} "
                               f"answered any case, so there is nothing to compare.")
    if not mismatched:
        return Integrity(True, f"Integrity: {shown} reproduces {name} ({total} cases checked, "
                               f"re-run in {seconds:.0f} s).")
    note = _meta_note(produced, submitted)
    if _memory_errors(produced):
        note = f" (some cases ran out of the {memory_limit_mb} MB memory limit of the re-run)"
    return Integrity(False, f"Integrity: {shown} does NOT reproduce {name}: {len(mismatched)} of {total} "
                            f"cases differ ({_by_question(mismatched, assignment.questions)}){note}.", mismatched)
