"""Shared fixtures: one embedded model and one set of solution answers per test session (both offline)."""

from __future__ import annotations

import os
from pathlib import Path

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
    from autograder.mistakes import fresh_solutions
    from hw4.answers import generate

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
