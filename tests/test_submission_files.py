"""One finder: ``grade-all`` picks a student's files by the same rules as Gradescope's ``run_autograder``."""

from __future__ import annotations

import pytest

from autograder import batch
from autograder.submission_files import find_submission, why_no_answers


@pytest.mark.parametrize("layout, expected", [
    ({"deep/er/homework4.pkl": b"", "deep/notes.pkl": b""}, "deep/er/homework4.pkl"),
    ({"HOMEWORK4.pkl": b"", "old.pkl": b""}, "HOMEWORK4.pkl"),  # the name, in any case, wins over other pickles
    ({"answers.pkl": b"", ".homework4.pkl": b"", "__MACOSX/homework4.pkl": b""}, "answers.pkl"),  # the only one
    ({"a.pkl": b"", "b.pkl": b""}, None),  # ambiguous
])
def test_grade_all_and_gradescope_find_the_same_files(tmp_path, layout, expected):
    folder = tmp_path / "class" / "alice"
    for name, data in {**layout, "homework4_stub.py": b""}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    answers, code = find_submission(folder)
    (student,) = batch.find_students(tmp_path / "class")
    assert (student.pickle, student.code) == (answers, code) == (folder / expected if expected else None,
                                                                 folder / "homework4_stub.py")
    if expected is None:
        assert student.problem == why_no_answers(folder) and "2 other .pkl files (a.pkl, b.pkl)" in student.problem
