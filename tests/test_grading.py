"""Grading: the solution gets full marks, each catalogued mistake costs its own question only and is named."""

from __future__ import annotations

import copy

import pytest
from conftest import damaged

from autograder.diagnose import Diagnoser
from autograder.feedback import format_table, gradescope_results
from autograder.grade import CannotGrade, check_compatible, grade
from hw4 import questions as Q
from hw4.answers import generate
from hw4.answers_file import Answers, Meta, parse_answers
from solutions.mistakes import CATALOGUE, implementation

MISTAKES, VARIANTS = CATALOGUE.mistakes, CATALOGUE.variants

LATER = {"q1_to_d": tuple(Q.HOMEWORK)[1:], "q1_sample": tuple(Q.HOMEWORK)[2:]}


@pytest.fixture(scope="module")
def catalog_answers(model, solution_answers):
    """Every entry's answers: regenerated where the entry changes them, the solution's elsewhere."""
    result = {}
    for entry in CATALOGUE:
        questions = (entry.question, *[q for q in LATER.get(entry.question, ()) if q != "q2_mask"])
        answers = copy.deepcopy(solution_answers)
        fresh = generate(implementation((entry.name,)), model, questions=questions, progress=False)
        answers.questions.update(fresh.questions)
        result[entry.name] = answers
    return result


@pytest.fixture(scope="module")
def diagnoser(model, catalog_answers):
    diagnoser = Diagnoser("test-not-cached", model=model)
    for entry in CATALOGUE:
        for q in tuple(Q.HOMEWORK):
            diagnoser._answers[(entry.name, q)] = catalog_answers[entry.name].questions[q].answers
    return diagnoser


def scores(report) -> dict[str, tuple[float, float]]:
    return {q.question: (q.score, q.max_score) for q in report.questions}


def test_points_add_up_to_100():
    assert sum(q.points for q in Q.HOMEWORK.values()) == 100


def test_the_solution_gets_full_marks(solution_answers):
    report = grade(solution_answers, solution_answers)
    assert report.total == report.max_total == 100
    assert format_table(report).splitlines()[-1] == "total: 100 / 100"


@pytest.mark.slow
@pytest.mark.parametrize("entry", MISTAKES, ids=lambda e: e.name)
def test_each_mistake_costs_its_own_question_and_is_named(entry, catalog_answers, solution_answers, diagnoser):
    report = grade(catalog_answers[entry.name], solution_answers, diagnoser=diagnoser)
    got = scores(report)
    own = next(q for q in report.questions if q.question == entry.question)
    assert own.score < own.max_score
    assert entry.feedback in own.feedback
    for q, (score, max_score) in got.items():
        if q != entry.question:
            assert score == max_score, f"{q} lost points: {next(r.feedback for r in report.questions if r.question == q)}"


@pytest.mark.slow
@pytest.mark.parametrize("entry", VARIANTS, ids=lambda e: e.name)
def test_accepted_variants_get_full_marks_with_a_note(entry, catalog_answers, solution_answers, diagnoser):
    answers = catalog_answers[entry.name]
    undiagnosed = grade(answers, solution_answers)
    assert undiagnosed.total < 100, "the variant must really differ from the reference"
    report = grade(answers, solution_answers, diagnoser=diagnoser)
    assert report.total == 100
    assert "Accepted" in next(q.feedback for q in report.questions if q.question == entry.question)


def test_wrong_metadata_is_refused_in_words(solution_answers):
    for key, value, words in [("model_id", "sao:stabilityai/stable-audio-open-1.0", "model"),
                              ("cases_version", "0000", "graded cases"),
                              ("format", "hw4-answers/0", "another version")]:
        answers = solution_answers.to_dict()
        answers["meta"] = {**answers["meta"], key: value}
        with pytest.raises(CannotGrade, match=words):
            grade(parse_answers(answers), solution_answers)
    for words, raw in [("another version", {**solution_answers.to_dict(), "meta": "hw4-answers/1"}),
                       ("does not hold homework answers", [1, 2, 3]),
                       ("does not hold homework answers", {"meta": {}, "questions": [1]})]:
        with pytest.raises(CannotGrade, match=words):
            grade(parse_answers(raw), solution_answers)


def test_broken_answers_are_graded_question_by_question(solution_answers):
    answers = damaged(copy.deepcopy(solution_answers.to_dict()))  # what a file holds, before it is parsed
    q = answers["questions"]
    report = grade(parse_answers(answers), solution_answers)
    by_q = {r.question: r for r in report.questions}
    reasons = {c.name: c.reason for r in report.questions for c in r.cases if not c.passed}
    assert by_q["q1_to_d"].score == 0 and "no answers" in by_q["q1_to_d"].feedback
    assert by_q["q1_sample"].score == by_q["q1_sample"].max_score
    assert "shape" in reasons["one_to_two"]
    assert "float16" in reasons["chord_middle"] and "int64" in reasons["drums_start"]
    assert "NaN" in reasons["defaults"] and "list" in reasons["early_window"]
    assert "complex" in reasons["chord_to_guitar"] and "RuntimeError" in reasons["drums_to_bass"]
    assert any("extra" in n for n in report.notes)
    assert 0 < report.total < 100
    q["q1_to_d"] = ["not", "a", "dict"]
    feedback = grade(parse_answers(answers), solution_answers).questions[0].feedback
    assert "The entry for Q1 to_d is a list, not a dict." in feedback


def test_gradescope_results_follow_the_schema(solution_answers):
    results = gradescope_results(grade(solution_answers, solution_answers))
    assert results["score"] == 100 and len(results["tests"]) == len(tuple(Q.HOMEWORK))
    for test in results["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
    assert gradescope_results(None, "No homework4.pkl was submitted.")["score"] == 0


@pytest.mark.slow
def test_the_same_pickle_always_gets_the_same_report(catalog_answers, solution_answers, diagnoser, tmp_path):
    from hw4.safe_pickle import dump_answers, load_answers

    path = tmp_path / "homework4.pkl"
    dump_answers(catalog_answers["mask_rounded"].to_dict(), path)
    first = grade(parse_answers(load_answers(path)), solution_answers, diagnoser=diagnoser).to_dict()
    assert grade(parse_answers(load_answers(path)), solution_answers, diagnoser=diagnoser).to_dict() == first


@pytest.mark.slow
def test_feedback_names_the_mistake_and_a_crash_together(catalog_answers, solution_answers, diagnoser):
    answers = copy.deepcopy(catalog_answers["to_d_sign_flipped"])
    entry = answers.questions["q1_to_d"]
    del entry.answers["batch2"]
    entry.errors["batch2"] = "RuntimeError: The size of tensor a (128) must match (line 3: return x / sigma)"
    feedback = grade(answers, solution_answers, diagnoser=diagnoser).questions[0].feedback
    assert "sign flipped" in feedback and "case 'batch2': raised RuntimeError" in feedback


def _with(answers: Answers, model, names: tuple[str, ...], questions: tuple[str, ...]) -> Answers:
    """``answers`` with ``questions`` answered by the solutions with the catalogue entries ``names`` turned on."""

    answers = copy.deepcopy(answers)
    answers.questions.update(generate(implementation(names), model, questions=questions, progress=False).questions)
    return answers


@pytest.mark.slow
@pytest.mark.parametrize("question,names", [(q, s) for q in tuple(Q.HOMEWORK) for s in CATALOGUE.variant_sets(q)[1:]])
def test_accepted_variants_compose(question, names, model, solution_answers, diagnoser):
    """Every combination of accepted variants (e.g. sample_euler and noise on every step in Q4) gets full marks."""
    report = grade(_with(solution_answers, model, names, (question,)), solution_answers, diagnoser=diagnoser)
    assert report.total == 100, format_table(report)


@pytest.mark.slow
@pytest.mark.parametrize("entry,names", [(e, s) for e in MISTAKES for s in CATALOGUE.variant_sets(e.question)[1:]],
                         ids=lambda v: getattr(v, "name", None) or "+".join(v))
def test_a_mistake_with_accepted_variants_is_named_as_that_mistake(entry, names, model, solution_answers, diagnoser):
    report = grade(_with(solution_answers, model, (entry.name, *names), (entry.question,)), solution_answers,
                   diagnoser=diagnoser)
    own = next(q for q in report.questions if q.question == entry.question)
    assert own.score < own.max_score and entry.feedback in own.feedback
    assert report.total == 100 - own.max_score + own.score


@pytest.mark.slow
@pytest.mark.parametrize("entry", [e for e in MISTAKES if e.question in ("q1_to_d", "q1_sample")], ids=lambda e: e.name)
def test_an_earlier_mistake_with_later_variants_is_counted_once(entry, model, catalog_answers, solution_answers,
                                                                 diagnoser):
    names = (entry.name, *CATALOGUE.variant_sets("q4_variable_inpaint")[-1], *CATALOGUE.variant_sets("q3_inpaint")[-1])
    answers = _with(catalog_answers[entry.name], model, names, ("q3_inpaint", "q4_variable_inpaint"))
    got = scores(grade(answers, solution_answers, diagnoser=diagnoser))
    assert all(score == max_score for q, (score, max_score) in got.items() if q != entry.question), got


def test_metadata_of_another_type_reads_as_none_and_is_refused():
    references = Answers(Meta(format="hw4-answers/1", model_id="embedded:abc", cases_version="v1"), {})
    good = {"format": "hw4-answers/1", "model_id": "embedded:abc", "cases_version": "v1", "created": "now",
            "versions": {"torch": "2.9.1"}}
    assert parse_answers({"meta": good, "questions": {}}).meta == Meta(**good)
    check_compatible(parse_answers({"meta": good, "questions": {}}), references)
    for key, value, words in [("model_id", 123, "model None"), ("cases_version", ["v1"], "graded cases"),
                              ("format", {"hw4-answers/1": 1}, "another version")]:
        meta = parse_answers({"meta": {**good, key: value}, "questions": {}}).meta
        assert getattr(meta, key) is None
        with pytest.raises(CannotGrade, match=words):
            check_compatible(parse_answers({"meta": {**good, key: value}, "questions": {}}), references)
    assert parse_answers({"meta": {**good, "versions": {"torch": 2}}, "questions": {}}).meta.versions is None
