"""``hw4 grade-all``: grade a whole class folder in parallel worker processes and write one CSV row per student.

A class folder holds one entry per student of one assignment (the homework unless ``--assignment`` says
otherwise): a folder (``alice/homework4.pkl``, maybe with ``homework4_stub.py``; Gradescope's
``submission_123/...`` exports are just folders) or a bare ``alice.pkl``. The student id is the folder name or
the file stem.

* The references are built (or found in the cache) once, in this process, before any worker starts;
  the workers only read the cache.
* Each worker is a *spawned* process of a ``pebble`` pool that builds one ``Grader`` and reuses it.
  A student's grading is isolated: any exception becomes that student's error row, a worker that
  crashes or runs past ``per_student_timeout_s`` is killed and replaced, and the student gets an error
  row ("timed out ...", "the grading process crashed ..."). Nothing from a pickle is ever executed
  (``hw4.safe_pickle`` only reads plain data).
* Rows are appended to the CSV (and flushed) as students finish, so an interrupted run loses nothing;
  a later run reads the CSV and grades only the students it lacks or whose files changed (the
  ``files_sha256`` column; ``regrade=True`` grades everyone). At the end the CSV is rewritten,
  sorted by student, atomically (temporary file + ``os.replace``). The CSV's columns, reading and
  rewriting live in ``autograder.ledger``.
"""

from __future__ import annotations

import csv
import hashlib
import multiprocessing
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hw4.assignments import DEFAULT, Assignment, get
from hw4.errors import MissingFile
from hw4.text import printable

from .ledger import ERROR, GRADED, HASH_COLUMN, INTEGRITY_COLUMN, BatchError, columns, read_rows, write_rows
from .submission_files import find_submission, why_no_answers
from .submission_files import hidden as _hidden

INTEGRITY_TIMEOUT_S = 600.0
MAX_MESSAGE = 2000


@dataclass(frozen=True)
class Student:
    """One entry of the class folder: its id, its answers file (None when it has none, ``problem`` says why)."""

    id: str
    pickle: Path | None
    problem: str = ""
    code: tuple[Path, ...] = ()  # the .py and/or notebook (``autograder.submission_files``)
    answers_file: str = field(default_factory=lambda: get().answers_file)  # the assignment's answers file name

    @property
    def digest(self) -> str:
        """A hash of the student's answers file and code files: changes whenever they do."""
        digest = hashlib.sha256()
        base = self.pickle.parent if self.pickle is not None and self.pickle.name == self.answers_file else None
        files = [self.pickle] if self.pickle is not None else []
        if base is not None:
            files += sorted(p for p in base.iterdir() if p.suffix in (".py", ".ipynb") and p.is_file())
        for path in files:
            digest.update(path.name.encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError:
                digest.update(b"unreadable")
            digest.update(b"\0")
        return digest.hexdigest()[:16]


# ------------------------------------------------------------------------------------------ discovery


def find_students(directory: str | os.PathLike[str], assignment: Assignment | None = None) -> list[Student]:
    """Every student entry of the class folder, sorted by id (files other than ``*.pkl`` are not students), their
    files found by ``assignment``'s names (default: the homework's)."""
    assignment = assignment or get()
    root = Path(directory)
    if not root.is_dir():
        raise MissingFile(f"{root} is not a folder of submissions.")
    students: dict[str, Student] = {}
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if _hidden(Path(entry.name)):
            continue
        if entry.is_dir():
            answers, code = find_submission(entry, assignment)
            problem = why_no_answers(entry, assignment) if answers is None else ""
            student = Student(printable(entry.name), answers, problem, code, assignment.answers_file)
        elif entry.is_file() and entry.suffix == ".pkl":
            student = Student(printable(entry.stem), entry, answers_file=assignment.answers_file)
        else:
            continue
        if student.id in students:  # a folder ``alice`` and a file ``alice.pkl``: keep both, distinctly
            student = Student(printable(entry.name), student.pickle, student.problem, student.code,
                              assignment.answers_file)
        students[student.id] = student
    return sorted(students.values(), key=lambda s: s.id)


# ------------------------------------------------------------------------------------------ rows


def _number(value: float) -> str:
    return f"{round(float(value), 2):g}"


def _clean(message: str) -> str:
    return printable(" ".join(str(message).split()), MAX_MESSAGE)


def _max_total(assignment: Assignment) -> float:
    return round(sum(q.points for q in assignment.questions.values()), 2)


def error_row(student: str, message: str, assignment: Assignment | None = None) -> dict[str, str]:
    """A row of ``assignment`` (default: the homework) with score 0 and the reason the student could not be graded."""
    assignment = assignment or get()
    row = {"student": student, "total": "0", "max_total": _number(_max_total(assignment))}
    row.update({q: "0" for q in assignment.questions})
    row.update(status=ERROR, message=_clean(message) or "could not be graded", **{INTEGRITY_COLUMN: "", HASH_COLUMN: ""})
    return row


def report_row(student: str, report: Any, assignment: Assignment | None = None) -> dict[str, str]:
    """A graded row of ``assignment`` (default: the homework): scores per question and the feedback of every
    question that lost points."""
    row = {"student": student, "total": _number(report.total), "max_total": _number(report.max_total)}
    scores = {q.question: q for q in report.questions}
    row.update({q: _number(scores[q].score) if q in scores else "0" for q in (assignment or get()).questions})
    feedback = [f"{q.title}: {q.feedback}" for q in report.questions if q.score < q.max_score]
    feedback += [f"note: {n}" for n in report.notes]
    row.update(status=GRADED, message=_clean(" | ".join(feedback)), **{INTEGRITY_COLUMN: "", HASH_COLUMN: ""})
    return row


def _grade_one(grader: Any, student: str, path: str, assignment: Assignment) -> dict[str, str]:
    """Grade one answers file; every exception becomes an error row."""
    from hw4.safe_pickle import AnswerFileError

    from .grade import CannotGrade

    try:
        return report_row(student, grader.grade_file(path), assignment)
    except (AnswerFileError, CannotGrade) as err:
        return error_row(student, str(err), assignment)
    except Exception as err:  # noqa: BLE001 - one student's problem must not stop the batch
        return error_row(student, f"the grader failed on this file ({type(err).__name__}: {err})", assignment)


# ------------------------------------------------------------------------------------------ workers


def make_grader(model_name: str, assignment: str = DEFAULT) -> Any:
    """The default worker grader: one ``Grader`` of ``assignment`` (references from the cache the parent filled)."""
    from .pipeline import Grader

    return Grader(model_name, assignment=assignment)


_grader: Any = None  # the worker process's grader, built once by ``_start_worker``


def _start_worker(model_name: str, grader_factory: Callable[[str, str], Any], assignment: str) -> None:
    """A worker process starts: one thread (workers run side by side) and one grader for all its students."""
    global _grader
    os.environ["OMP_NUM_THREADS"] = "1"  # before torch is imported
    _grader = grader_factory(model_name, assignment)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _grade_in_worker(student: str, path: str, code: list[str], model_name: str, assignment: str) -> dict[str, str]:
    row = _grade_one(_grader, student, path, get(assignment))
    if code:
        row[INTEGRITY_COLUMN] = _clean(integrity_note([Path(p) for p in code], Path(path), model_name, assignment))
    return row


def integrity_note(code: list[Path], pickle_path: Path, model_name: str, assignment: str = DEFAULT) -> str:
    """``autograder.integrity.verify``'s verdict on the .py and/or notebook in one line (their code runs in the
    sandbox, never here; ``INTEGRITY_TIMEOUT_S`` is shared by both re-runs)."""
    from .integrity import verify
    from .sandbox import SandboxUnavailable

    try:
        return verify(code, pickle_path, model=model_name, time_limit_s=INTEGRITY_TIMEOUT_S,
                      assignment=assignment).message
    except SandboxUnavailable as err:
        return f"Integrity not checked: {err}"


def grade_students(students: list[Student], model_name: str, jobs: int, per_student_timeout_s: float,
                   on_row: Callable[[dict[str, str]], None],
                   grader_factory: Callable[[str, str], Any] = make_grader, integrity: bool = False,
                   assignment: str = DEFAULT) -> None:
    """Grade ``students`` (each with a pickle) of ``assignment`` in ``jobs`` spawned workers; call ``on_row`` once
    per student. A spawned worker finds ``assignment`` again by its key: a shipped one, or one registered from a file
    named in ``HW4_ASSIGNMENTS`` (the workers inherit the environment).

    ``pebble`` runs the pool: a worker that runs past ``per_student_timeout_s`` or dies is killed and replaced,
    and only its student gets an error row. With ``integrity``, each student who sent code also gets the
    sandboxed integrity check (its own time limit is added to the student's).
    """
    if not students:
        return
    from concurrent.futures import Future, as_completed
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    from pebble import ProcessExpired, ProcessPool

    chosen = get(assignment)
    pool = ProcessPool(max_workers=min(max(jobs, 1), len(students)), initializer=_start_worker,
                       initargs=(model_name, grader_factory, chosen.key),
                       context=multiprocessing.get_context("spawn"))  # never fork a process that may hold torch's threads
    try:
        def task(s: Student) -> tuple:
            code = [str(p) for p in s.code] if integrity else []
            return s.id, str(s.pickle), code, model_name, chosen.key

        def timeout(s: Student) -> float:
            return per_student_timeout_s + (INTEGRITY_TIMEOUT_S + 60 if integrity and s.code else 0)

        futures: dict[Future[dict[str, str]], Student] = {pool.schedule(_grade_in_worker, args=task(s), timeout=timeout(s)): s for s in students}
        for future in as_completed(futures):
            student = futures[future].id
            try:
                row = future.result()
            except FutureTimeout:
                row = error_row(student, f"timed out: grading took longer than {timeout(futures[future]):g} s",
                                chosen)
            except ProcessExpired as err:
                row = error_row(student, f"the grading process crashed (exit code {err.exitcode}) on this file",
                                chosen)
            except BrokenProcessPool:
                raise BatchError("The grading processes could not start (their error is printed above).") from None
            except Exception as err:  # noqa: BLE001 - e.g. a row that could not be sent back
                row = error_row(student, f"the grading process failed ({type(err).__name__}: {err})", chosen)
            on_row(row)
    except BaseException:
        pool.stop()  # interrupted or failed: don't wait for anyone
        pool.join()
        raise
    pool.close()
    pool.join()


def grade_all(directory: str | os.PathLike[str], csv_path: str | os.PathLike[str], model_name: str = "embedded",
              jobs: int = 2, per_student_timeout_s: float = 120, *, regrade: bool = False, integrity: bool = False,
              grader_factory: Callable[[str, str], Any] = make_grader, progress: bool = True,
              assignment: str = DEFAULT) -> str:
    """Grade every student of ``directory`` for ``assignment`` (default: the homework) into ``csv_path``; return a
    summary line.

    An existing ``csv_path`` is resumed: students it lacks, or whose files changed since, are graded; with
    ``regrade`` everyone is. With ``integrity`` every student who sent code (their ``.py`` and/or notebook, found
    by ``autograder.submission_files``) also gets the sandboxed integrity check, in the ``integrity`` column;
    a student graded earlier without it is graded again. ``grader_factory(model_name, assignment)`` builds each
    worker's grader (anything with
    ``grade_file(path) -> Report``); it must be a module-level function, since workers are spawned.
    """
    chosen = get(assignment)
    students = find_students(directory, chosen)
    csv_file = Path(csv_path)
    rows, damaged = read_rows(csv_file, chosen)
    digests = {s.id: s.digest for s in students}
    def unchecked(s: Student) -> bool:
        return integrity and bool(s.code) and not rows[s.id][INTEGRITY_COLUMN]

    todo = [s for s in students
            if regrade or s.id not in rows or rows[s.id][HASH_COLUMN] != digests[s.id] or unchecked(s)]
    changed = sum(s.id in rows for s in todo)
    kept = len(rows) - changed
    if todo and any(s.pickle is not None for s in todo):
        from .references import load_references

        load_references(model_name, assignment=chosen.key)  # before any file is written (a missing model stops here); workers read the cache
    csv_file.parent.mkdir(parents=True, exist_ok=True)
    write_rows(csv_file, rows.values(), chosen)  # drops a half-written last line before appending
    from tqdm.auto import tqdm

    done: set[str] = set()

    with csv_file.open("a", newline="", encoding="utf-8") as handle, \
            tqdm(total=len(todo), unit="student", disable=not progress) as bar:
        writer = csv.DictWriter(handle, fieldnames=columns(chosen))

        def record(row: dict[str, str]) -> None:
            row[HASH_COLUMN] = digests.get(row["student"], "")
            rows[row["student"]] = row
            done.add(row["student"])
            writer.writerow(row)
            handle.flush()
            os.fsync(handle.fileno())
            bar.update(1)

        for student in todo:
            if student.pickle is None:
                record(error_row(student.id, student.problem, chosen))
        grade_students([s for s in todo if s.pickle is not None], model_name, jobs, per_student_timeout_s,
                       record, grader_factory, integrity, chosen.key)
    missing = [s for s in todo if s.id not in done]
    for student in missing:  # never drop a student silently
        rows[student.id] = error_row(student.id, "no result came back from the grading process", chosen)
    write_rows(csv_file, rows.values(), chosen)
    errors = sum(r["status"] == ERROR for r in rows.values())
    summary = f"graded {len(rows)} students ({len(rows) - errors} graded, {errors} errors) -> {csv_file}"
    notes = []
    if kept or changed:
        again = f" ({changed} of them again: {'--regrade' if regrade else 'their files changed or were not checked'})" \
            if changed else ""
        notes.append(f"{kept} rows kept from an earlier run, {len(todo)} graded now{again}")
    if damaged:
        notes.append(f"{damaged} damaged rows of the earlier CSV discarded (their students were graded again)")
    return summary + (f" [{'; '.join(notes)}]" if notes else "")
