"""The DDPM assignment as a record of the suite (``hw4.assignments.DDPM_DIGITS``): check() and the grader agree."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch
from test_ddpm import one_thread  # noqa: F401  (autouse: one torch thread, as the runner uses)

from hw4 import assignments as A
from hw4.ddpm_questions import DDPM
from hw4.selfcheck import run_checks
from solutions.ddpm_mistakes import CATALOGUE, implementation


def copied_and_fresh_digits():
    """100 training digits in the samples' label order (copies), and the same with noise added (not copies)."""
    import numpy as np

    from hw4.ddpm_quality import sample_labels
    from hw4.digits import digits_numpy

    x, y = digits_numpy()
    copies = np.stack([x[np.flatnonzero(y == label)[i // 10]] for i, label in enumerate(sample_labels(10).numpy())])
    return copies, copies + np.random.default_rng(0).normal(0, 0.35, copies.shape).astype(np.float32)


def test_the_record_is_registered_and_reading_it_loads_no_torch():
    record = A.get("ddpm")
    assert record.questions is DDPM and record.graded and record.answers_file == "ddpm.pkl"
    assert record.notebook == "ddpm_stub.ipynb" and record.stub.exists() and record.self_check_data.exists()
    assert sum(q.points for q in record.questions.values()) == 100
    code = "import sys, hw4.assignments as A; A.get('ddpm').graded_cases; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_check_passes_the_solutions():
    solution = implementation(())
    verdicts = run_checks(*(getattr(solution, q.function) for q in DDPM.values()))
    assert [passed for _, passed in verdicts] == [True] * len(DDPM), verdicts
    assert "tolerance 3e-03" in verdicts[3][0]  # Q4 states its own tolerance


@pytest.mark.parametrize("name", [m.name for m in CATALOGUE if m.name in ("targets_swapped", "zero_grad_missing")]
                         + [pytest.param(m.name, marks=pytest.mark.slow) for m in CATALOGUE
                            if m.name not in ("targets_swapped", "zero_grad_missing")])
def test_check_names_each_catalogued_mistake(name):
    entry = CATALOGUE.by_name(name)
    [(message, passed)] = run_checks(getattr(implementation((name,)), DDPM[entry.question].function))
    assert not passed and f"Likely mistake ({name})" in message, message
    assert torch.get_num_threads() == 1


def test_the_grader_gives_no_quality_points_for_copied_training_digits():
    """A submission whose 'samples' are training digits: every Q5 case fails, the reason says why, and no
    catalogue entry is tried on a case judged alone."""

    from hw4.answers_file import QuestionAnswers
    from hw4.judge import judge

    copies, _ = copied_and_fresh_digits()
    names = [c.name for c in DDPM["ddpm_q5_train"].graded]
    answers = {"ddpm_q5_train": QuestionAnswers(answers={n: copies for n in names})}
    expected = {"ddpm_q5_train": {n: copies for n in names}}  # the reference's digits play no part

    def answers_of(combo, question):
        raise AssertionError("no catalogue entry may be run for a case judged alone")

    [(_, judgement)] = judge(answers, expected, CATALOGUE, answers_of).items()
    assert judgement.passed == 0 and judgement.diagnosis is None
    assert all("100 copy a training digit and earn nothing" in c.reason for c in judgement.cases)


def test_the_quality_feedback_says_why_and_the_notebook_prints_the_graders_words():
    """Q5's feedback head gives each setting's share classified as its label against the threshold (not "4/4 cases
    match") and says when copies earned nothing; the notebook's check_graded prints that very head."""
    import numpy as np

    from autograder.grade import grade
    from hw4.answers_file import Answers, Meta, QuestionAnswers
    from hw4.assignments import DDPM_DIGITS
    from hw4.selfcheck import run_graded_check

    copies, fresh = copied_and_fresh_digits()
    drawn = {"epsilon_linear": fresh, "epsilon_cosine": fresh, "x0_linear": copies, "x0_cosine": np.roll(fresh, 1, 0)}
    assert set(drawn) == {c.name for c in DDPM["ddpm_q5_train"].graded}
    meta = Meta(format="hw4-answers/1", model_id="m", cases_version="c")
    references = Answers(meta, {q: QuestionAnswers(answers={c.name: np.zeros(1) for c in DDPM[q].graded}) for q in DDPM})
    report = grade(Answers(meta, {"ddpm_q5_train": QuestionAnswers(answers=drawn)}), references, assignment=DDPM_DIGITS)
    [q5] = [q for q in report.questions if q.question == "ddpm_q5_train"]
    assert q5.score == 20 and "cases match" not in q5.feedback
    assert q5.feedback.startswith("2/4 cases pass: epsilon_linear: ") and q5.feedback.count("classified as their label") == 4
    assert re.search(r"x0_linear: \d+/100 classified as their label, 100 copy a training digit and earn nothing "
                     r"\(0% < 80% needed\);", q5.feedback), q5.feedback
    assert "% >= 80% needed); epsilon_cosine: " in q5.feedback and "x0_cosine: " in q5.feedback
    assert report.questions[0].feedback.startswith("0/5 cases match. The file holds no answers")  # compared ones: as before

    line, passed = run_graded_check("ddpm_q5_train", drawn)
    assert not passed and line == f"FAIL  {DDPM['ddpm_q5_train'].title}: {q5.feedback}"
    assert run_graded_check("ddpm_q5_train", {**drawn, "x0_linear": fresh, "x0_cosine": fresh})[0].startswith(
        f"PASS  {DDPM['ddpm_q5_train'].title}: 4/4 cases pass: ")
    with pytest.raises(ValueError, match="compared with the reference"):
        run_graded_check("ddpm_q4_sample", {})


def test_submits_summary_judges_sample_quality_on_the_graded_samples():
    """After writing the files, submit's Q5 verdict is the grader's on the digits the runner just drew (not
    check(train)'s small loss case): FAIL naming the copies for copied digits, PASS for fresh ones."""
    import types

    from hw4.answers_file import Answers, Meta, QuestionAnswers
    from hw4.assignments import DDPM_DIGITS
    from hw4.runner import self_check_verdicts

    copies, fresh = copied_and_fresh_digits()
    names = [c.name for c in DDPM["ddpm_q5_train"].graded]
    meta = Meta(format="hw4-answers/1", model_id="m", cases_version="c")
    empty = types.ModuleType("ddpm_stub")  # no function defined: check() says TODO for every question

    def verdicts(samples):
        answers = Answers(meta, {"ddpm_q5_train": QuestionAnswers(answers=dict.fromkeys(names, samples))})
        return self_check_verdicts(empty, DDPM_DIGITS, answers)

    copied = verdicts(copies)
    assert copied["ddpm_q5_train"].startswith("FAIL (0/4 cases pass: ") and "copy a training digit" in copied["ddpm_q5_train"]
    assert verdicts(fresh)["ddpm_q5_train"] == "PASS"
    assert {v for k, v in copied.items() if k != "ddpm_q5_train"} == {"TODO"}
    assert self_check_verdicts(empty, DDPM_DIGITS)["ddpm_q5_train"] == "TODO"  # without graded answers, as before


@pytest.mark.slow
def test_the_grader_names_each_catalogued_mistake_as_check_does(tmp_path, monkeypatch):
    """Hold-out submissions, one a catalogued mistake on an exact question (Q1-Q4; Q5's quality is judged on its
    own, above): graded with the DDPM diagnoser, the mistake's question loses points with the entry's feedback,
    every other question keeps full marks (a cascade is counted once), and check() names the same entry."""
    import dataclasses

    from autograder.diagnose import Diagnoser
    from autograder.grade import grade
    from hw4.answers import generate

    monkeypatch.setenv("HW4_CACHE_DIR", str(tmp_path))
    exact = dataclasses.replace(A.get("ddpm"), questions={k: q for k, q in DDPM.items() if k != "ddpm_q5_train"})
    model, _ = exact.load_model("embedded")
    references = generate(implementation(()), model, exact.graded_cases, progress=False)
    diagnoser = Diagnoser("test-ddpm-holdout", model=model, assignment=exact)
    mistakes = [m for m in CATALOGUE.mistakes if m.question in exact.questions]
    assert len(mistakes) >= 15
    for entry in mistakes:
        submission = implementation((entry.name,))
        report = grade(generate(submission, model, exact.graded_cases, progress=False), references, diagnoser, exact)
        for result in report.questions:
            if result.question == entry.question:
                assert result.score < result.max_score and entry.feedback in result.feedback, (entry.name, result.feedback)
            else:
                assert result.score == result.max_score, (entry.name, result.question, result.feedback)
        [(message, passed)] = run_checks(getattr(submission, DDPM[entry.question].function))
        assert not passed and f"Likely mistake ({entry.name})" in message, (entry.name, message)
