"""``hw4.judge.judge``: the one judgement the grader, ``check()`` and the integrity re-run format."""

from __future__ import annotations

import numpy as np

from hw4.answers_file import QuestionAnswers
from hw4.catalogue import Catalogue, Mistake
from hw4.judge import agree, judge

RIGHT, SLIP = np.ones(4, np.float32), np.full(4, 2.0, np.float32)
CATALOGUE = Catalogue((Mistake("sign", "q1_to_d", "The sign is flipped."),
                       Mistake("k_euler_q3", "q3_inpaint", "Accepted: sample_euler.", True)))
EXPECTED = {"q1_to_d": {"a": RIGHT, "b": RIGHT}, "q1_sample": {"c": RIGHT}, "q3_inpaint": {"d": RIGHT, "e": RIGHT}}


def answers_of(names: tuple[str, ...], question: str) -> dict:
    """Every catalogue combination answers ``SLIP`` on every case."""
    return dict.fromkeys(EXPECTED[question], SLIP)


def entries(**by_question: dict) -> dict[str, QuestionAnswers]:
    return {q: QuestionAnswers(dict(values)) for q, values in by_question.items()}


def test_a_right_answer_passes_and_nothing_is_explained():
    judged = judge(entries(q1_to_d={"a": RIGHT, "b": RIGHT * (1 + 1e-7)}), EXPECTED, CATALOGUE, answers_of)
    assert judged["q1_to_d"].passed == 2 and judged["q1_to_d"].diagnosis is None
    assert judged["q1_sample"].passed == 0 and judged["q1_sample"].cases[0].reason == "no answer"


def test_a_catalogued_mistake_is_named_and_earns_nothing():
    judged = judge(entries(q1_to_d={"a": SLIP, "b": SLIP}), EXPECTED, CATALOGUE, answers_of)
    q1 = judged["q1_to_d"]
    assert q1.diagnosis is not None and (q1.diagnosis.entry_name, q1.diagnosis.credit) == ("sign", False)
    assert q1.passed == 0 and q1.diagnosis.feedback == "The sign is flipped."


def test_an_earlier_mistake_is_counted_once_and_an_accepted_variant_earns_full_credit():
    slipped = entries(q1_to_d={"a": SLIP, "b": SLIP}, q1_sample={"c": SLIP}, q3_inpaint={"d": SLIP, "e": SLIP})
    judged = judge(slipped, EXPECTED, CATALOGUE, answers_of)
    assert judged["q1_sample"].passed == 1 and judged["q1_sample"].diagnosis.credit
    assert "already counted" in judged["q1_sample"].diagnosis.feedback
    alone = judge(entries(q3_inpaint={"d": SLIP, "e": SLIP}), EXPECTED, CATALOGUE, answers_of)["q3_inpaint"]
    assert alone.passed == 2 and alone.diagnosis.entry_name == "k_euler_q3"
    assert [c.reason for c in alone.cases] == ["accepted (k_euler_q3)"] * 2


def test_raised_cases_and_unreadable_entries_are_not_explained():
    raising = {"q3_inpaint": QuestionAnswers({"d": SLIP}, {"e": "RuntimeError: boom"})}
    q3 = judge(raising, EXPECTED, CATALOGUE, answers_of)["q3_inpaint"]
    assert q3.raised == ("RuntimeError: boom",) and q3.cases[1].reason == "raised RuntimeError: boom"
    assert q3.passed == 1  # the comparable case is accepted, the one that raised is not
    problem = "The entry for Q3 is a list, not a dict."
    unread = judge(entries(q3_inpaint={"d": SLIP, "e": SLIP}), EXPECTED, CATALOGUE, answers_of,
                   {"q3_inpaint": problem})["q3_inpaint"]
    assert unread.diagnosis is None and unread.passed == 0 and unread.problem == problem
    assert judge(entries(q1_to_d={"a": SLIP, "b": SLIP}), EXPECTED)["q1_to_d"].diagnosis is None  # no catalogue


def test_agree_wants_two_arrays_within_tolerance():
    assert agree(RIGHT, RIGHT * (1 + 1e-7)) and not agree(RIGHT, SLIP)
    assert not agree(None, RIGHT) and not agree(RIGHT, None) and not agree([1.0], np.ones(1))


def test_answers_with_the_same_nan_and_inf_agree_and_others_do_not():
    """A catalogued mistake may divide by zero (the cosine betas unclipped: 1/sqrt(alpha_T) = inf): the same
    non-finite values in the same places, the rest within tolerance, are the same answer; a NaN never matches a
    finite reference."""
    mistake = np.array([1.0, 2.0, np.inf, np.nan], dtype=np.float32)
    assert agree(mistake, mistake.copy())
    assert agree(mistake, mistake * np.float32(1 + 1e-6))
    assert not agree(mistake, np.array([1.0, 2.5, np.inf, np.nan], dtype=np.float32))
    assert not agree(mistake, np.array([1.0, 2.0, -np.inf, np.nan], dtype=np.float32))
    assert not agree(mistake, np.array([1.0, 2.0, np.inf, 4.0], dtype=np.float32))
    assert not agree(np.array([1.0, np.nan], dtype=np.float32), np.array([1.0, 2.0], dtype=np.float32))
    assert agree(np.full(3, np.nan, dtype=np.float32), np.full(3, np.nan, dtype=np.float32))
