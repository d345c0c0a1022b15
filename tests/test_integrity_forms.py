"""The integrity re-run for every form a submission takes: a ``.py`` only, a ``.ipynb`` only, or both.

Each submission folder is read-only (as on Gradescope) and must be byte-for-byte unchanged afterwards: the
re-run reads a notebook's cells where they are, never converting it beside itself. A borrowed pickle is the
solution's ``homework4.pkl`` beside the unfinished stub (``notebooks/homework4_stub.ipynb``, or the ``.py``
nbconvert makes of it), whose every case raises: it is flagged in each form. The re-runs use the real sandbox
(``autograder.sandbox``); where none can be built ``verify`` raises and these tests fail, they never skip.
The ``.py``-only correct form is ``tests/test_integrity.py``'s; the ``.ipynb``-only correct form runs through
Gradescope's ``run_autograder`` in ``tests/test_gradescope.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbconvert import PythonExporter

from autograder.integrity import verify
from autograder.submission_files import find_submission
from hw4.files import ANSWERS, NOTEBOOK, SCRIPT

pytestmark = pytest.mark.slow  # whole sandboxed re-runs of every form

ROOT = Path(__file__).resolve().parents[1]
STUB = ROOT / "notebooks" / NOTEBOOK


def solution_notebook() -> nbformat.NotebookNode:
    from solutions.build import source_notebook

    return source_notebook()


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def submission_folder(base: Path, name: str, pickle: Path, notebook: nbformat.NotebookNode | None,
                      script: nbformat.NotebookNode | None) -> Path:
    """``base/name`` holding ``homework4.pkl`` and the notebook and/or its plain nbconvert ``.py``, read-only."""
    folder = base / name
    folder.mkdir()
    (folder / ANSWERS).write_bytes(pickle.read_bytes())
    if notebook is not None:
        nbformat.write(notebook, folder / NOTEBOOK)
    if script is not None:
        (folder / SCRIPT).write_text(PythonExporter().from_notebook_node(script)[0], encoding="utf-8")
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)
    return folder


@pytest.fixture(scope="module")
def forms(solution_pickle, tmp_path_factory):
    """Every form's verdict (``verify`` or ``hw4 grade --submission``), with its folder before and after."""
    base = tmp_path_factory.mktemp("forms")
    correct, unfinished = solution_notebook(), nbformat.read(STUB, as_version=4)
    layouts = {  # name: (notebook, the notebook the .py is made from)
        "py_borrowed": (None, unfinished),
        "ipynb_borrowed": (unfinished, None),
        "both_correct": (correct, correct),
        "both_borrowed": (unfinished, unfinished),
        "py_correct_ipynb_borrowed": (unfinished, correct),  # the uploaded .py is not what the notebook holds
    }
    folders = {name: submission_folder(base, name, solution_pickle, *layout) for name, layout in layouts.items()}
    before = {name: files_of(folder) for name, folder in folders.items()}
    found = {name: find_submission(folder) for name, folder in folders.items()}

    def cli(name: str) -> dict:
        """``hw4 grade homework4.pkl --submission homework4_stub.py homework4_stub.ipynb --json ...``."""
        pickle, code = found[name]
        out = base / f"{name}.json"
        subprocess.run([sys.executable, "-m", "autograder", "grade", str(pickle), "--submission",
                        *map(str, code), "--json", str(out)], check=True, capture_output=True, timeout=900)
        return json.loads(out.read_text())

    def check(name: str):
        if name == "both_correct":
            return cli(name)
        return verify(found[name][1], found[name][0])

    try:
        with ThreadPoolExecutor(2) as pool:
            futures = {name: pool.submit(check, name) for name in folders}
            verdicts = {name: future.result() for name, future in futures.items()}
        after = {name: files_of(folder) for name, folder in folders.items()}
    finally:
        for folder in folders.values():
            folder.chmod(0o755)
    return {"verdicts": verdicts, "found": found, "before": before, "after": after}


def test_each_form_finds_its_code(forms):
    names = {name: [p.name for p in code] for name, (_, code) in forms["found"].items()}
    assert names == {"py_borrowed": [SCRIPT], "ipynb_borrowed": [NOTEBOOK], "both_correct": [SCRIPT, NOTEBOOK],
                     "both_borrowed": [SCRIPT, NOTEBOOK], "py_correct_ipynb_borrowed": [SCRIPT, NOTEBOOK]}


def test_nothing_is_written_into_a_submission_folder(forms):
    assert forms["after"] == forms["before"]


@pytest.mark.parametrize("name, code", [("py_borrowed", SCRIPT), ("ipynb_borrowed", NOTEBOOK)])
def test_a_borrowed_pickle_is_flagged_beside_either_form(forms, name, code):
    result = forms["verdicts"][name]
    assert result.ok is False, result.message
    assert result.message.startswith(f"Integrity: {code} does NOT reproduce {ANSWERS}:"), result.message
    assert "Q1 to_d" in result.message and result.mismatched


def test_both_forms_of_a_correct_submission_reproduce_through_hw4_grade(forms):
    results = forms["verdicts"]["both_correct"]
    assert results["score"] == 100
    note = results["output"]
    assert f"Integrity: {SCRIPT} reproduces {ANSWERS}" in note and f"Integrity: {NOTEBOOK} reproduces {ANSWERS}" in note
    assert "NOT" not in note and "not checked" not in note


def test_a_borrowed_pickle_beside_both_forms_is_flagged_for_each(forms):
    result = forms["verdicts"]["both_borrowed"]
    assert result.ok is False
    assert f"{SCRIPT} does NOT reproduce" in result.message and f"{NOTEBOOK} does NOT reproduce" in result.message


def test_a_py_that_is_not_the_notebook_is_flagged(forms):
    """Either file may not stand in for the other: a correct .py beside an unfinished notebook is flagged."""
    result = forms["verdicts"]["py_correct_ipynb_borrowed"]
    assert result.ok is False, result.message
    assert f"Integrity: {SCRIPT} reproduces {ANSWERS}" in result.message
    assert f"Integrity: {NOTEBOOK} does NOT reproduce {ANSWERS}" in result.message


def test_the_rerun_of_a_notebook_writes_nothing_beside_it(tmp_path, monkeypatch):
    """``hw4 answers --no-convert`` (the sandbox's command) on a read-only folder; ``hw4 answers`` converts."""
    from hw4.cli import main

    folder = tmp_path / "ro"
    folder.mkdir()
    nbformat.write(nbformat.read(STUB, as_version=4), folder / NOTEBOOK)
    folder.chmod(0o555)
    monkeypatch.chdir(tmp_path)
    try:
        assert main(["answers", str(folder / NOTEBOOK), "-o", str(tmp_path / ANSWERS), "--quiet", "--no-convert",
                     "--time-limit", "10"]) == 0
        assert sorted(os.listdir(folder)) == [NOTEBOOK] and (tmp_path / ANSWERS).is_file()
    finally:
        folder.chmod(0o755)
    assert main(["answers", str(folder / NOTEBOOK), "-o", str(tmp_path / ANSWERS), "--quiet",
                 "--time-limit", "10"]) == 0
    assert sorted(os.listdir(folder)) == [NOTEBOOK, SCRIPT]  # the student's own run writes the .py to upload


def test_the_rerun_of_both_forms_shares_one_time_limit(tmp_path, solution_pickle, monkeypatch):
    """The notebook gets what the .py's re-run left of ``time_limit_s``; with nothing left it is not checked."""
    from types import SimpleNamespace

    from autograder import integrity

    clock = iter([0.0, 250.0, 600.0])  # the start, then before each file after the first
    given = []

    def rerun(submission, model, time_limit_s, memory_limit_mb, mechanism, assignment):
        given.append((submission.name, time_limit_s))
        return None, solution_pickle.read_bytes(), 1.0

    monkeypatch.setattr(integrity, "rerun", rerun)
    monkeypatch.setattr(integrity, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    code = [tmp_path / SCRIPT, tmp_path / NOTEBOOK, tmp_path / "third.py"]
    for path in code:
        path.write_text("")
    result = verify(code, solution_pickle, time_limit_s=600)
    assert given == [(SCRIPT, 600), (NOTEBOOK, 350)]
    assert result.ok is None and result.message.endswith("Integrity not checked: no time was left to re-run third.py.")
    assert f"Integrity: {SCRIPT} reproduces" in result.message and f"Integrity: {NOTEBOOK} reproduces" in result.message
