"""The reference cache: used only under the key of everything it depends on, rebuilt when damaged."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder import references as R
from hw4 import assignments as A
from hw4 import questions as Q
from hw4.cases import CaseSet


def test_reference_key_changes_with_each_dependency(tmp_path, monkeypatch):
    base = R.reference_key()
    assert R.reference_key() == base
    copy = tmp_path / "homework4.py"
    shutil.copy(A.HOMEWORK4.solutions_file, copy)
    copy.write_text(copy.read_text() + "\n# edited\n")
    monkeypatch.setitem(A._REGISTRY, A.DEFAULT, dataclasses.replace(A.HOMEWORK4, solutions_file=copy))
    assert R.reference_key() != base
    monkeypatch.undo()
    fewer = CaseSet({q: A.HOMEWORK4.graded_cases[q][:2] for q in tuple(Q.HOMEWORK)})
    assert R.reference_key(cases=fewer) != base
    assert R.reference_key("sao") != base
    monkeypatch.setattr(R, "_library_versions", lambda: "torch=0.0")
    assert R.reference_key() != base
    monkeypatch.undo()


def test_reference_key_covers_the_code_that_builds_inputs_and_the_catalogue(tmp_path, monkeypatch):
    """Editing a clip formula, the case runner or a catalogued mistake never serves stale references."""
    base = R.reference_key()
    assert {"hw4/answers.py", "hw4/clips.py", "hw4/sounds.py", "hw4/codec.py", "hw4/sampling.py",
            "hw4/catalogue.py"} <= set(R.KEY_SOURCES)
    assert A.HOMEWORK4.mistakes == R.ROOT / "solutions" / "mistakes.py"  # the homework's catalogue
    for name in (*R.KEY_SOURCES, "solutions/mistakes.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(R.ROOT / name, tmp_path / name)
    monkeypatch.setattr(R, "ROOT", tmp_path)
    moved = dataclasses.replace(A.HOMEWORK4, mistakes=tmp_path / "solutions" / "mistakes.py")
    monkeypatch.setitem(A._REGISTRY, A.HOMEWORK4.key, moved)
    assert R.reference_key() == base
    for name in (*R.KEY_SOURCES, "solutions/mistakes.py"):
        original = (tmp_path / name).read_text()
        (tmp_path / name).write_text(original + "\n# edited\n")
        assert R.reference_key() != base, name
        (tmp_path / name).write_text(original)


def test_cache_dir_is_hw4_cache_dir_else_the_users_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HW4_CACHE_DIR", str(tmp_path))
    assert R.cache_dir() == tmp_path
    monkeypatch.delenv("HW4_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if sys.platform.startswith("linux"):
        assert R.cache_dir() == tmp_path / "home" / ".cache" / "hw4"
    assert R.cache_dir().name == "hw4"


@pytest.mark.slow
def test_cache_is_built_once_then_read_without_the_model(tmp_path, monkeypatch, model, solution_answers):
    monkeypatch.setenv("HW4_CACHE_DIR", str(tmp_path))
    built = R.load_references(model=model)
    path = R.cache_path("references", R.reference_key())
    assert path.exists() and Path(tmp_path) in path.parents

    def no_model(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr("hw4.model.load_model", no_model)
    monkeypatch.setattr(R, "build_references", no_model)
    again = R.load_references()
    for q in tuple(Q.HOMEWORK):
        for name, value in solution_answers.questions[q].answers.items():
            assert np.array_equal(built.questions[q].answers[name], value)
            assert np.array_equal(again.questions[q].answers[name], value)


@pytest.mark.slow
def test_damaged_cache_entry_is_rebuilt(tmp_path, monkeypatch, model):
    monkeypatch.setenv("HW4_CACHE_DIR", str(tmp_path))
    path = R.cache_path("references", R.reference_key())
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x80\x04garbage")
    rebuilt = R.load_references(model=model)
    assert set(rebuilt.questions) == set(tuple(Q.HOMEWORK))
    assert R.cached("references", R.reference_key()) is not None


@pytest.mark.slow
def test_a_poisoned_cache_is_detected_and_rebuilt(tmp_path, monkeypatch, model, solution_answers):
    """Answers written over the cached references (a valid pickle, so the loader accepts it) are never used."""
    from hw4.safe_pickle import dump_answers, load_answers

    monkeypatch.setenv("HW4_CACHE_DIR", str(tmp_path))
    R.load_references(model=model)
    path = R.cache_path("references", R.reference_key())
    poisoned = load_answers(path)
    for entry in poisoned["questions"].values():
        entry["answers"] = {name: value * 0 for name, value in entry["answers"].items()}
    dump_answers(poisoned, path)
    with pytest.warns(UserWarning, match="do not match their checksum"):
        again = R.load_references(model=model)
    for q in tuple(Q.HOMEWORK):
        for name, value in solution_answers.questions[q].answers.items():
            assert np.array_equal(again.questions[q].answers[name], value)
    assert R.cached("references", R.reference_key()) is not None  # rebuilt with a fresh checksum


def test_two_workers_build_a_catalogue_entry_once(tmp_path, monkeypatch):
    """grade-all's workers diagnose at the same time: the second waits for the first's build and reads it."""
    import threading
    import time

    import hw4.answers
    from autograder.diagnose import Diagnoser
    from hw4.answers_file import Answers, QuestionAnswers

    monkeypatch.setenv("HW4_CACHE_DIR", str(tmp_path))
    builds = []

    def slow_generate(implementation, model, cases, questions, **options):
        builds.append(questions)
        time.sleep(0.5)
        return Answers(questions={questions[0]: QuestionAnswers({"case": np.zeros(3, np.float32)})})

    monkeypatch.setattr(hw4.answers, "generate", slow_generate)
    found = []
    workers = [threading.Thread(target=lambda: found.append(
        Diagnoser("key", model=object()).answers_of(("mask_rounded",), "q2_mask"))) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert builds == [("q2_mask",)] and len(found) == 2
    assert R.cache_path("mask_rounded.q2_mask", "key").exists()  # under the one cache key, beside the references
    assert all(np.array_equal(f["case"], np.zeros(3)) for f in found)
