"""The mistake catalogue (``solutions/mistakes.py``): each entry is the solution code with its edits made."""

from __future__ import annotations

import numpy as np
import pytest

from hw4 import questions as Q
from hw4.answers import generate
from hw4.assignments import HOMEWORK4
from hw4.catalogue import Catalogue
from solutions import function_sources
from solutions.mistakes import CATALOGUE, edited, implementation


@pytest.mark.slow
def test_every_knob_off_reproduces_the_references_bit_for_bit(model, solution_answers):
    """The variant code is the solution code: with no entry turned on, every family answers exactly as it does."""
    found = generate(implementation(()), model, progress=False)
    for q in tuple(Q.HOMEWORK):
        expected = solution_answers.questions[q].answers
        assert found.questions[q].answers.keys() == expected.keys()
        for name, value in expected.items():
            assert np.array_equal(found.questions[q].answers[name], value), (q, name)


@pytest.mark.parametrize("question", tuple(Q.HOMEWORK))
def test_every_combination_the_judge_asks_for_can_be_made(question):
    """Each entry's edits are found in its function, also after the other entries of a combination are made."""
    functions = function_sources(HOMEWORK4.solutions_file)
    for combo in CATALOGUE.combos_for(question, HOMEWORK4.before(question)):
        module = implementation(combo)
        for name in combo:
            assert callable(getattr(module, Q.HOMEWORK[CATALOGUE.by_name(name).question].function))
    for entry in CATALOGUE.mistakes_for(question) + CATALOGUE.variants_for(question):
        source = functions[Q.HOMEWORK[question].function]
        assert entry.edits and edited(source, entry.edits, entry.name) != source, entry.name


def test_an_edit_that_is_not_in_the_solution_is_refused():
    with pytest.raises(ValueError, match="'y' is not in its solution function"):
        edited("x = 1", (("x", "z"), ("y", "w")), "typo")


def test_the_student_package_gets_the_names_and_feedback_but_no_edit():
    """``check()`` names mistakes from the shipped data, which holds no text of the solution's edits."""
    from hw4.selfcheck import shipped_catalogue

    assert shipped_catalogue() == Catalogue.from_data(CATALOGUE.to_data())
    assert [m.name for m in shipped_catalogue()] == [m.name for m in CATALOGUE]
    shipped = HOMEWORK4.self_check_data.read_bytes()
    assert b"The mask is inverted" in shipped  # the test can fail
    quoted = {old for entry in CATALOGUE for old, _ in entry.edits if len(old.strip()) >= 10}
    assert quoted and not [old for old in quoted if old.encode() in shipped]
