"""The question records: one record per question is all the runner, grader and self-checks need."""

from __future__ import annotations

import ast

import pytest

from autograder.feedback import format_table
from autograder.grade import grade
from hw4 import assignments as A
from hw4 import questions as Q
from hw4.answers import generate
from hw4.cases import CaseSet, ToDCase
from solutions import fresh_solutions


def _functions(path) -> set[str]:
    return {node.name for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef)}


def test_registries_hold_every_fact_once():
    questions = tuple(A.questions())
    assert len({q.key for q in questions}) == len(questions)
    assert len({q.function for q in questions}) == len(questions)
    assert sum(q.points for q in Q.HOMEWORK.values()) == 100
    assert all(q.points == 0 and q.hint and q.self_check and not q.graded for q in Q.LAB.values())
    homework = _functions(A.HOMEWORK4.solutions_file)
    for q in Q.HOMEWORK.values():
        assert q.graded and q.self_check and q.points > 0 and q.function in homework, q.key
        assert len({c.name for c in q.graded}) == len(q.graded), q.key
    assert {q.function for q in Q.LAB.values()} <= _functions(A.LECTURE_LAB.solutions_file)
    assert A.find("q3_inpaint").title == "Q3 simple_sample_inpaint" and A.find("lab_cfg").function == "cfg_combine"
    assert A.by_function("to_d").key == "q1_to_d" and A.by_function("print") is None


def test_the_graded_cases_keep_their_fingerprint():
    """Answers files written before the records existed must still grade: the cases are exactly the same."""
    assert A.HOMEWORK4.graded_cases.version == "d176ee0faa05a486"
    assert A.HOMEWORK4.self_check_cases.version == "6b13420855785284"
    assert A.LECTURE_LAB.self_check_cases.version == "9ed645d2d32ffaef"


def test_a_seventh_question_is_one_record_plus_its_solution(model, monkeypatch):
    """Added to the registry, a question is run, titled, pointed and graded from its record alone."""
    seventh = Q.Question(key="q6_difference", function="difference", title="Q6 difference", points=10,
                         graded=(ToDCase(name="small", seed=7, shape=(1, 64, 4), sigma=(2.0,)), ToDCase(name="pair", seed=8, shape=(2, 64, 4), sigma=(1.0, 3.0))))
    monkeypatch.setitem(Q.HOMEWORK, seventh.key, seventh)
    cases = CaseSet({**{key: q.self_check for key, q in Q.HOMEWORK.items() if key != seventh.key},
                     seventh.key: seventh.graded})

    def with_difference(fn):
        module = fresh_solutions()
        module.difference = fn
        return module

    references = generate(with_difference(lambda x, sigma, denoised: x - denoised), model, cases, progress=False)
    student = generate(with_difference(lambda x, sigma, denoised: x + denoised), model, cases, progress=False)

    report = grade(student, references)
    added = report.questions[-1]
    assert (added.question, added.title, added.score, added.max_score) == ("q6_difference", "Q6 difference", 0, 10)
    assert report.total == 100 and report.max_total == 110
    assert "Q6 difference" in format_table(report)
    assert grade(references, references).total == 110


def test_case_and_question_records_are_keyword_only_and_name_only_real_clips():
    """``InpaintCase(name=..., start_frame=...)`` says which number is which; a positional one is refused, and so
    is a positional ``Question`` (which of its strings is the key, the function, the title)."""
    from typing import get_args

    from hw4.cases import ClipName, InpaintCase
    from hw4.clips import CLIPS

    assert set(get_args(ClipName)) == set(CLIPS)
    with pytest.raises(TypeError):
        InpaintCase("early_window", "heavy distorted bass", 302, "drums", 30, 90, 0, 25)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Q.Question("q6", "difference", "Q6 difference", 10)  # type: ignore[misc]
    case = A.find("q4_variable_inpaint").graded[1]
    assert (case.name, case.start_frame, case.end_frame, case.paint_start, case.paint_end) == ("early_window", 30, 90, 0, 25)
