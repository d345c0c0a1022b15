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
                                                                 (folder / "homework4_stub.py",))
    if expected is None:
        assert student.problem == why_no_answers(folder) and "2 other .pkl files (a.pkl, b.pkl)" in student.problem


@pytest.mark.parametrize("names, expected", [
    (["homework4_stub.py"], ["homework4_stub.py"]),
    (["homework4_stub.ipynb"], ["homework4_stub.ipynb"]),  # a notebook alone is the code
    (["mine.ipynb"], ["mine.ipynb"]),  # the only notebook
    (["homework4_stub.ipynb", "homework4_stub.py"], ["homework4_stub.py", "homework4_stub.ipynb"]),  # both, .py first
    (["mine.py", "Mine.ipynb"], ["mine.py", "Mine.ipynb"]),  # the notebook named like the .py
    (["homework4_stub.py", "runner.ipynb"], ["homework4_stub.py"]),  # another notebook is not the student's code
    (["a.py", "b.py", "homework4_stub.ipynb"], ["homework4_stub.ipynb"]),  # two unnamed .py: ambiguous
    (["a.ipynb", "b.ipynb"], []),
])
def test_the_code_is_the_py_and_the_notebook_that_goes_with_it(tmp_path, names, expected):
    for name in [*names, "homework4.pkl"]:
        (tmp_path / name).write_text("")
    _, code = find_submission(tmp_path)
    assert [p.name for p in code] == expected
