"""``autograder.batch.grade_all``: a whole class folder, graded in worker processes into a resumable CSV."""

from __future__ import annotations

import csv
import os
import pickle
import shutil
import time
from pathlib import Path

import pytest

from autograder import batch
from hw4 import questions as Q

pytestmark = pytest.mark.slow  # grade-all's spawned workers each import torch

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "homework4.py"
STUDENTS = ("alice", "bob", "carol", "dave", "erin", "frank", "mallory")


class Exploit:
    """Unpickling this with the standard pickle module would run a shell command."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def graded_students(monkeypatch) -> list[list[str]]:
    """Records the ids of the students each ``grade_students`` call grades (and lets it grade them)."""
    graded: list[list[str]] = []
    original = batch.grade_students

    def spy(students, *args, **kwargs):
        graded.append([s.id for s in students])
        return original(students, *args, **kwargs)

    monkeypatch.setattr(batch, "grade_students", spy)
    return graded


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == batch.columns()
        return list(reader)


@pytest.fixture(scope="module")
def class_folder(solution_pickle, model, tmp_path_factory) -> dict:
    """One folder per kind of submission a course sees, in the layouts a Gradescope export has."""
    from hw4.answers import generate
    from hw4.safe_pickle import dump_answers
    from solutions.mistakes import implementation

    base = tmp_path_factory.mktemp("class")
    folder = base / "submissions"
    marker = base / "exploit-ran"
    data = solution_pickle.read_bytes()

    (folder / "alice").mkdir(parents=True)  # correct, with the code next to it
    (folder / "alice" / "homework4.pkl").write_bytes(data)
    shutil.copy(SOLUTION, folder / "alice" / "homework4_stub.py")
    (folder / "bob" / "submission_9").mkdir(parents=True)  # a catalogued mistake, one folder deeper
    dump_answers(generate(implementation(("mask_inverted",)), model, progress=False).to_dict(), folder / "bob" / "submission_9" / "homework4.pkl")
    (folder / "carol.pkl").write_bytes(data)  # a bare file: the student is its stem
    (folder / "dave").mkdir()
    (folder / "dave" / "homework4.pkl").write_bytes(b"")  # empty
    (folder / "erin").mkdir()
    (folder / "erin" / "homework4.pkl").write_bytes(data[: len(data) // 2])  # truncated
    (folder / "frank").mkdir()
    (folder / "frank" / "homework4_stub.py").write_text("# forgot the pickle\n")  # no homework4.pkl
    (folder / "mallory").mkdir()
    (folder / "mallory" / "homework4.pkl").write_bytes(pickle.dumps(Exploit(f"touch {marker}")))
    (folder / "submission_metadata.yml").write_text("not a student\n")  # Gradescope's export index
    return {"folder": folder, "marker": marker, "base": base}


@pytest.fixture(scope="module")
def first_run(class_folder) -> dict:
    csv_path = class_folder["base"] / "grades.csv"
    summary = batch.grade_all(class_folder["folder"], csv_path, jobs=2)
    return {"summary": summary, "csv": csv_path, "rows": read_csv(csv_path)}


def test_one_row_per_student_with_scores_and_statuses(first_run, class_folder):
    rows = {r["student"]: r for r in first_run["rows"]}
    assert [r["student"] for r in first_run["rows"]] == sorted(STUDENTS)  # one row each, sorted
    assert first_run["summary"] == f"graded 7 students (3 graded, 4 errors) -> {first_run['csv']}"
    for good in ("alice", "carol"):
        assert rows[good]["status"] == "graded" and rows[good]["total"] == "100" and rows[good]["message"] == ""
    bob = rows["bob"]
    assert bob["status"] == "graded" and bob["max_total"] == "100" and bob["total"] == "85"
    assert bob["q2_mask"] == "0"  # only Q2 lost its points
    assert all(bob[q] == rows["alice"][q] for q in tuple(Q.HOMEWORK) if q != "q2_mask")
    assert bob["message"].startswith("Q2 generate_inpainting_mask:") and "inverted" in bob["message"]
    assert " | " not in bob["message"]
    for broken, why in (("dave", "empty"), ("erin", "incomplete"), ("frank", "no homework4.pkl found"),
                        ("mallory", "refused")):
        row = rows[broken]
        assert row["status"] == "error" and row["total"] == "0", row
        assert all(row[q] == "0" for q in tuple(Q.HOMEWORK))
        assert why in row["message"], row["message"]
    assert not class_folder["marker"].exists()  # the malicious pickle was refused, never executed


def test_resume_grades_only_the_missing_students(first_run, class_folder, tmp_path, monkeypatch):
    rows = first_run["rows"]
    csv_path = tmp_path / "grades.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=batch.columns())
        writer.writeheader()
        writer.writerows(r for r in rows if r["student"] not in ("bob", "mallory"))
        handle.write("mallory,0,100,0")  # an interrupted run: half of the last row, no newline
    graded = graded_students(monkeypatch)
    summary = batch.grade_all(class_folder["folder"], csv_path, jobs=2)
    assert graded == [["bob", "mallory"]]  # the others were not graded again
    assert read_csv(csv_path) == rows  # and the CSV is whole again, sorted, as if never interrupted
    assert "5 rows kept from an earlier run, 2 graded now" in summary and "1 damaged rows" in summary
    assert not class_folder["marker"].exists()

    graded.clear()
    batch.grade_all(class_folder["folder"], csv_path, jobs=2)  # nothing left to do
    assert graded == [[]]
    assert read_csv(csv_path) == rows


def test_foreign_csv_is_not_overwritten(class_folder, tmp_path):
    csv_path = tmp_path / "other.csv"
    csv_path.write_text("name,grade\nalice,A\n")
    with pytest.raises(batch.BatchError, match="not a grades file"):
        batch.grade_all(class_folder["folder"], csv_path)
    assert csv_path.read_text() == "name,grade\nalice,A\n"


def test_find_students_layouts(tmp_path):
    (tmp_path / "zoe" / "deep" / "er").mkdir(parents=True)
    (tmp_path / "zoe" / "deep" / "er" / "homework4.pkl").write_bytes(b"x")
    (tmp_path / "zoe" / "notes.pkl").write_bytes(b"x")  # homework4.pkl wins over other pickles
    (tmp_path / "yan").mkdir()
    (tmp_path / "yan" / "answers.pkl").write_bytes(b"x")  # the folder's only pickle
    (tmp_path / "yan.pkl").write_bytes(b"x")  # same stem as a folder: both kept
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "README.md").write_text("x")
    found = {s.id: s.pickle for s in batch.find_students(tmp_path)}
    assert found == {"zoe": tmp_path / "zoe" / "deep" / "er" / "homework4.pkl",
                     "yan": tmp_path / "yan" / "answers.pkl", "yan.pkl": tmp_path / "yan.pkl"}
    with pytest.raises(FileNotFoundError):
        batch.find_students(tmp_path / "missing")


def test_two_pickles_and_no_homework4_pkl_are_named(tmp_path):
    (tmp_path / "xia").mkdir()
    (tmp_path / "xia" / "answers.pkl").write_bytes(b"x")
    (tmp_path / "xia" / "old.pkl").write_bytes(b"x")
    (student,) = batch.find_students(tmp_path)
    assert student.pickle is None
    assert "2 other .pkl files (answers.pkl, old.pkl)" in student.problem and "rename" in student.problem


@pytest.mark.parametrize("content", [b"name,grade\nalice,A\n", b"\xff\xfe\x00garbage\x00\n"], ids=["foreign", "binary"])
def test_foreign_or_unreadable_csv_is_one_sentence_from_the_cli(class_folder, tmp_path, capsys, content):
    from autograder.cli import main

    csv_path = tmp_path / "other.csv"
    csv_path.write_bytes(content)
    assert main(["grade-all", str(class_folder["folder"]), "--csv", str(csv_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hw4 grade-all: ") and "not a grades file" in err and "\n" not in err
    assert csv_path.read_bytes() == content


def test_grade_all_with_sao_and_no_network_writes_no_csv(tmp_path, monkeypatch, capsys):
    from autograder.cli import main

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HW4_CACHE_DIR", str(tmp_path / "hw4-cache"))
    monkeypatch.setattr("hw4.model.hub_unreachable", lambda: "the name huggingface.co could not be resolved")
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "class" / "alice" / "homework4.pkl").write_bytes(b"x")
    csv_path = tmp_path / "grades.csv"
    assert main(["grade-all", str(tmp_path / "class"), "--csv", str(csv_path), "--model", "sao"]) == 2
    err = capsys.readouterr().err.strip()
    assert "could not be resolved" in err and "\n" not in err
    assert not csv_path.exists()


# -- a stand-in grader, to make workers hang, crash or fail on purpose (spawned workers import this module) ----


class ScriptedGrader:
    """Grades by the student's folder name: ``hang*`` never returns, ``crash*`` kills its process, ``boom*``
    raises, anything else gets full marks."""

    def grade_file(self, path):
        from autograder.grade import QuestionResult, Report

        name = Path(path).parent.name
        if name.startswith("hang"):
            while True:
                time.sleep(1)
        if name.startswith("crash"):
            os._exit(3)
        if name.startswith("boom"):
            raise RuntimeError("the grader tripped")
        return Report([QuestionResult(q, Q.HOMEWORK[q].title, 1.0, 1.0, "ok") for q in tuple(Q.HOMEWORK)])


def scripted_grader(model_name: str, assignment: str) -> ScriptedGrader:
    return ScriptedGrader()


def test_changed_files_are_graded_again_and_regrade_grades_all(tmp_path, monkeypatch):
    folder = tmp_path / "class"
    for name in ("a_ok", "b_ok"):
        (folder / name).mkdir(parents=True)
        (folder / name / "homework4.pkl").write_bytes(b"x")
    csv_path = tmp_path / "grades.csv"
    graded = graded_students(monkeypatch)
    batch.grade_all(folder, csv_path, grader_factory=scripted_grader, progress=False)
    (folder / "a_ok" / "homework4.pkl").write_bytes(b"a new pickle")
    summary = batch.grade_all(folder, csv_path, grader_factory=scripted_grader, progress=False)
    assert graded[-1] == ["a_ok"] and "1 of them again: their files changed" in summary
    (folder / "b_ok" / "homework4_stub.py").write_text("# the code changed too\n")
    batch.grade_all(folder, csv_path, grader_factory=scripted_grader, progress=False)
    assert graded[-1] == ["b_ok"]
    batch.grade_all(folder, csv_path, grader_factory=scripted_grader, progress=False)
    assert graded[-1] == []
    batch.grade_all(folder, csv_path, regrade=True, grader_factory=scripted_grader, progress=False)
    assert graded[-1] == ["a_ok", "b_ok"]
    rows = read_csv(csv_path)
    assert [r["student"] for r in rows] == ["a_ok", "b_ok"] and all(r[batch.HASH_COLUMN] for r in rows)


def test_hangs_and_crashes_cost_only_their_student(tmp_path):
    folder = tmp_path / "class"
    names = ("a_ok", "boom", "crash", "hang", "z_ok", "z_ok2")
    for name in names:
        (folder / name).mkdir(parents=True)
        (folder / name / "homework4.pkl").write_bytes(b"x")
    csv_path = tmp_path / "grades.csv"
    for name in ("calm_a", "calm_b"):  # the same run without trouble: what start-up costs on this machine now
        (tmp_path / "calm" / name).mkdir(parents=True)
        (tmp_path / "calm" / name / "homework4.pkl").write_bytes(b"x")
    started = time.monotonic()
    batch.grade_all(tmp_path / "calm", tmp_path / "calm.csv", jobs=2, per_student_timeout_s=3,
                    grader_factory=scripted_grader)
    calm = time.monotonic() - started
    started = time.monotonic()
    summary = batch.grade_all(folder, csv_path, jobs=2, per_student_timeout_s=3, grader_factory=scripted_grader)
    # the hang costs its 3 s and the crash a new worker, not the run: a bound from this machine's calm run
    assert time.monotonic() - started < 60 + 4 * calm
    rows = {r["student"]: r for r in read_csv(csv_path)}
    assert sorted(rows) == sorted(names)
    for ok in ("a_ok", "z_ok", "z_ok2"):
        assert rows[ok]["status"] == "graded" and rows[ok]["total"] == "6"
    assert rows["hang"]["status"] == "error" and rows["hang"]["message"] == "timed out: grading took longer than 3 s"
    assert rows["crash"]["status"] == "error" and "crashed (exit code 3)" in rows["crash"]["message"]
    assert rows["boom"]["status"] == "error" and "RuntimeError: the grader tripped" in rows["boom"]["message"]
    assert summary.startswith("graded 6 students (3 graded, 3 errors)")


def failing_grader(model_name: str, assignment: str) -> ScriptedGrader:
    raise RuntimeError("the references are missing")


def test_workers_that_cannot_start_stop_the_run_with_one_sentence(tmp_path):
    folder = tmp_path / "class"
    (folder / "a_ok").mkdir(parents=True)
    (folder / "a_ok" / "homework4.pkl").write_bytes(b"x")
    with pytest.raises(batch.BatchError, match="could not start"):
        batch.grade_all(folder, tmp_path / "grades.csv", grader_factory=failing_grader, progress=False)


def test_integrity_flags_a_borrowed_pickle(solution_pickle, tmp_path):
    """``--integrity`` re-runs each student's code in the sandbox: a friend's pickle next to unfinished code is
    flagged, while the grade itself still comes from the pickle."""
    from autograder.cli import main

    folder = tmp_path / "submissions"
    for student in ("alice", "bob", "carol"):
        (folder / student).mkdir(parents=True)
        (folder / student / "homework4.pkl").write_bytes(solution_pickle.read_bytes())
    shutil.copy(SOLUTION, folder / "alice" / "homework4_stub.py")
    (folder / "bob" / "homework4_stub.py").write_text("def to_d(x, sigma, denoised):\n    raise NotImplementedError\n")
    shutil.copy(ROOT / "notebooks" / "homework4_stub.ipynb", folder / "carol")  # the unfinished notebook, no .py
    grades = tmp_path / "grades.csv"
    assert main(["grade-all", str(folder), "--csv", str(grades), "--integrity"]) == 0
    rows = {row["student"]: row for row in read_csv(grades)}
    assert rows["alice"]["total"] == rows["bob"]["total"] == rows["carol"]["total"] == "100"
    assert "reproduces homework4.pkl" in rows["alice"]["integrity"]
    assert "does NOT reproduce" in rows["bob"]["integrity"]
    assert rows["carol"]["integrity"].startswith("Integrity: homework4_stub.ipynb does NOT reproduce")
    assert sorted(os.listdir(folder / "carol")) == ["homework4.pkl", "homework4_stub.ipynb"]  # nothing written there
    assert main(["grade-all", str(folder), "--csv", str(grades)]) == 0  # nothing changed: kept, checks included
    assert {row["student"]: row["integrity"] for row in read_csv(grades)} == {
        s: rows[s]["integrity"] for s in rows}
