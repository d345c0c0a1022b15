"""Shared fixtures: one embedded model and one set of solution answers per test session (both offline)."""

from __future__ import annotations

import os

import pytest

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
