"""Shared fixtures: one embedded model and one set of solution answers per test session (both offline)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SOLUTION = Path(__file__).resolve().parents[1] / "solutions" / "homework4.py"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def model():
    """The embedded model, loaded once."""
    from hw4.model import load_model

    loaded, _ = load_model("embedded")
    return loaded


@pytest.fixture(scope="session")
def solution_answers(model):
    """The solutions' answers to every graded case (the references, uncached)."""
    from hw4.answers import generate
    from solutions import fresh_solutions

    return generate(fresh_solutions(), model, progress=False)


@pytest.fixture(scope="session")
def isolated_cache(tmp_path_factory):
    """A reference cache private to this test session."""
    path = tmp_path_factory.mktemp("hw4-cache")
    os.environ["HW4_CACHE_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def solution_pickle(tmp_path_factory) -> Path:
    """The solutions run as a student submission through the runner: a homework4.pkl worth full marks.

    Written once per session and never modified by a test."""
    from hw4.runner import write_answers

    path = tmp_path_factory.mktemp("solution-answers") / "homework4.pkl"
    write_answers(SOLUTION, path, progress=False, quiet=True)
    return path


def processes_with(marker: str) -> list[int]:
    """Pids of the live processes whose command line contains ``marker`` (left behind by a test's probe)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def damaged(answers: dict) -> dict:
    """What a file holds (``answers``, a nested dict) with damage of every kind the grader explains case by case."""
    q = answers["questions"]
    del q["q1_to_d"]
    q["q2_mask"]["answers"]["one_to_two"] = q["q2_mask"]["answers"]["one_to_two"][..., :10]
    q["q3_inpaint"]["answers"]["chord_middle"] = q["q3_inpaint"]["answers"]["chord_middle"].astype(np.float16)
    q["q3_inpaint"]["answers"]["drums_start"] = q["q3_inpaint"]["answers"]["drums_start"].astype(np.int64)
    q["q4_variable_inpaint"]["answers"]["defaults"] = np.full((1, 64, 128), np.nan, dtype=np.float32)
    q["q4_variable_inpaint"]["answers"]["early_window"] = [1.0, 2.0]
    q["q5_style_transfer"]["answers"]["chord_to_guitar"] = q["q5_style_transfer"]["answers"]["chord_to_guitar"] * 1j
    q["q5_style_transfer"]["errors"] = {"drums_to_bass": "RuntimeError: shapes do not match\x1b[31m"}
    del q["q5_style_transfer"]["answers"]["drums_to_bass"]
    q["extra\u202e"] = {"answers": {}}  # a right-to-left override in a key: shown escaped
    return answers
