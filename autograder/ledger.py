"""The grades CSV of ``hw4 grade-all``: its columns, reading it back (to resume) and rewriting it atomically.

One row per student; ``autograder.batch`` appends rows as students finish and rewrites the whole file,
sorted by student, at the start and end of a run.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from hw4.assignments import Assignment, get
from hw4.atomic import atomic_open
from hw4.errors import UserError

HASH_COLUMN = "files_sha256"  # of the student's answers file and code: a changed submission is graded again
INTEGRITY_COLUMN = "integrity"  # with --integrity: does the student's code reproduce their pickle (in the sandbox)
GRADED, ERROR = "graded", "error"


def columns(assignment: Assignment | None = None) -> tuple[str, ...]:
    """The grades file's columns for ``assignment`` (default: the homework): one score column per question."""
    questions = (assignment or get()).questions
    return ("student", "total", "max_total", *questions, "status", "message", INTEGRITY_COLUMN, HASH_COLUMN)


def _earlier(current: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The columns of grades files written by earlier versions, still read: without the integrity column, and
    without both it and the hash."""
    return current[:-2], (*current[:-2], HASH_COLUMN)




class BatchError(UserError):
    """The batch cannot run at all (not one student's problem); the message says why in one sentence."""


def _valid(row: dict, current: tuple[str, ...]) -> bool:
    return (None not in row and all(isinstance(row.get(c), str) for c in current) and bool(row["student"])
            and row["status"] in (GRADED, ERROR))


def read_rows(csv_path: Path, assignment: Assignment | None = None) -> tuple[dict[str, dict[str, str]], int]:
    """Rows already in ``csv_path`` by student (a later row wins), and how many damaged rows were skipped; its
    columns must be ``assignment``'s (default: the homework's).

    A grades file written before the hash column existed is read with empty hashes (its students are graded again).
    """
    if not csv_path.exists() or (csv_path.is_file() and csv_path.stat().st_size == 0):
        return {}, 0
    current = columns(assignment)
    foreign = (f"{csv_path} exists but is not a grades file of {(assignment or get()).key} (its columns differ): "
               f"delete it or pass another --csv.")
    try:
        with csv_path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) not in (current, *_earlier(current)):
                raise BatchError(foreign)
            rows: dict[str, dict[str, str]] = {}
            damaged = 0
            for row in reader:
                row.setdefault(HASH_COLUMN, "")
                row.setdefault(INTEGRITY_COLUMN, "")
                if _valid(row, current):
                    rows[row["student"]] = {c: row[c] for c in current}
                else:
                    damaged += 1
    except (UnicodeDecodeError, csv.Error):
        raise BatchError(foreign) from None
    except OSError as err:
        raise BatchError(f"{csv_path} cannot be read ({err.strerror or type(err).__name__}): pass another --csv.") \
            from None
    return rows, damaged


def write_rows(csv_path: Path, rows: Iterable[dict[str, str]], assignment: Assignment | None = None) -> None:
    """Write the header (``assignment``'s columns) and ``rows`` sorted by student, atomically (temporary file, then
    ``os.replace``)."""
    with atomic_open(csv_path, "w", fsync=True, newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns(assignment))
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: r["student"]))
