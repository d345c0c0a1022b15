"""The DDPM assignment's questions, cases and mistake catalogue (``hw4.ddpm_questions``, ``solutions.ddpm_mistakes``).

Correct rewrites pass every exact case within its question's tolerance; every catalogued mistake fails its
question's cases by a clear margin, and the mistakes of one question are told apart on the self-check cases.
"""

from __future__ import annotations

from itertools import combinations
from types import SimpleNamespace

import ddpm_rewrites
import numpy as np
import pytest
from test_ddpm import one_thread  # noqa: F401  (autouse: one torch thread, as the runner uses)

from hw4.answers import to_array
from hw4.compare import TOLERANCE, compare, relative_error
from hw4.ddpm_cases import CASE_BETAS, CASE_T, QualityCase, case_schedules
from hw4.ddpm_model import load_denoiser
from hw4.ddpm_quality import PASS_SHARE, quality_verdict, sample_labels
from hw4.ddpm_questions import DDPM
from hw4.digits import digits_numpy
from solutions import ddpm, function_sources
from solutions.ddpm_data import case_schedule_arrays
from solutions.ddpm_mistakes import CATALOGUE, DDPM_SOLUTIONS_FILE, edited_module, function_of, implementation


def tolerance(question: str) -> float:
    return DDPM[question].tolerance or TOLERANCE


MARGIN = 3  # a mistake's largest error on its question's cases is at least this many times the tolerance



@pytest.fixture(scope="module")
def inputs():
    return SimpleNamespace(model=load_denoiser())


def exact_cases(question: str, graded: bool = True) -> tuple:
    q = DDPM[question]
    return tuple(c for c in (q.graded if graded else ()) + q.self_check if not isinstance(c, QualityCase))


def answers(module, question: str, inputs, graded: bool = True) -> dict[str, object]:
    fn = getattr(module, DDPM[question].function)
    found: dict[str, object] = {}
    for case in exact_cases(question, graded):
        try:
            found[case.name] = to_array(case.call(fn, inputs))
        except Exception as error:  # noqa: BLE001 - a mistake may raise; the test reports it
            found[case.name] = error
    return found


def test_points_add_up_to_100_and_every_function_is_in_the_solutions():
    assert sum(q.points for q in DDPM.values()) == 100
    functions = function_sources(DDPM_SOLUTIONS_FILE)
    assert all(q.function in functions for q in DDPM.values())
    assert all(q.graded and q.self_check and q.hint for q in DDPM.values())
    assert len({c.name for q in DDPM.values() for c in q.graded + q.self_check}) > 20
    for q in DDPM.values():
        names = [c.name for c in q.graded + q.self_check]
        assert len(names) == len(set(names)), q.key


def test_the_shipped_case_schedules_are_the_reference_solutions():
    """``hw4/data/ddpm_case_schedules.npz`` is current (``solutions.ddpm_data`` writes it)."""
    fresh = case_schedule_arrays()
    for schedule in ("linear", "cosine"):
        shipped = case_schedules(schedule)
        assert tuple(shipped) == ddpm.SCHEDULE_KEYS
        for key, value in shipped.items():
            assert value.shape == (CASE_T + 1,)
            assert compare(value.numpy(), fresh[f"{schedule}.{key}"]).passed, (schedule, key)
    assert CASE_BETAS == (1e-4, 0.02)


def test_build_notebooks_writes_the_case_data_and_check_names_it_when_stale(tmp_path):
    """``hw4 build-notebooks`` writes each record's ``case_data`` (the DDPM one's is current), and only when stale."""
    import dataclasses

    from hw4.assignments import DDPM_DIGITS
    from solutions.build import build_case_data

    assert build_case_data((DDPM_DIGITS,), check=True) == []
    path = tmp_path / "schedules.npz"
    elsewhere = dataclasses.replace(DDPM_DIGITS, case_data=lambda: {path: case_schedule_arrays()})
    assert build_case_data((elsewhere,), check=True) == [str(path)] and not path.exists()
    assert build_case_data((elsewhere,)) == [str(path)]
    written = path.stat().st_mtime_ns
    assert build_case_data((elsewhere,), check=True) == [] and build_case_data((elsewhere,)) == []
    assert path.stat().st_mtime_ns == written  # not rewritten when current
    changed = dataclasses.replace(elsewhere, case_data=lambda: {path: {**case_schedule_arrays(), "extra": np.ones(2)}})
    assert build_case_data((changed,), check=True) == [str(path)]


@pytest.mark.parametrize("question", [k for k in DDPM if k != "ddpm_q5_train"] + ["ddpm_q5_train"])
def test_correct_rewrites_pass_every_exact_case(question, inputs):
    """float64 throughout, alphabar by exp(cumsum(log)), the sampler's posterior-mean form: all pass."""
    expected = answers(ddpm, question, inputs)
    found = answers(ddpm_rewrites, question, inputs)
    for name, value in expected.items():
        verdict = compare(found[name], value, tolerance(question))
        assert verdict.passed, (name, verdict.reason)


def test_the_sampler_tolerance_is_needed_and_the_float32_cancellation_is_harmless(inputs):
    """The rewritten sampler misses the homework's 1e-4 on some case (so Q4 needs its own tolerance), while the
    schedules' float32 cancellation in 1 - alphabar_1 stays far inside 1e-4 for whole tensors."""
    expected = answers(ddpm, "ddpm_q4_sample", inputs, graded=False)
    found = answers(ddpm_rewrites, "ddpm_q4_sample", inputs, graded=False)
    assert max(relative_error(found[n], v) for n, v in expected.items()) > tolerance("ddpm_q1_betas")
    s = ddpm.ddpm_schedules(1e-4, 0.02, 1000, "linear")
    s64 = ddpm_rewrites.ddpm_schedules(1e-4, 0.02, 1000, "linear")
    assert abs(s["sqrtmab"][1].item() - s64["sqrtmab"][1].item()) / s64["sqrtmab"][1].item() > 1e-5  # it cancels
    assert relative_error(s["sqrtmab"][1:].numpy(), s64["sqrtmab"][1:].numpy()) < 1e-6


def test_every_knob_off_reproduces_the_references_bit_for_bit(inputs):
    plain = implementation(())
    for question in DDPM:
        expected = answers(ddpm, question, inputs, graded=False)
        found = answers(plain, question, inputs, graded=False)
        assert all(np.array_equal(found[n], v) for n, v in expected.items()), question


def test_every_entry_edits_its_function():
    functions = function_sources(DDPM_SOLUTIONS_FILE)
    for entry in CATALOGUE:
        source = functions[function_of(entry.name)]
        assert entry.edits and all(old in source for old, _ in entry.edits), entry.name
        assert callable(getattr(implementation((entry.name,)), DDPM[entry.question].function))
    with pytest.raises(ValueError, match="is not in its solution function"):
        edited_module(DDPM_SOLUTIONS_FILE, [("typo", "ddpm_loss", (("no such text", "x"),))])


def _error(answer: object, expected: np.ndarray) -> float:
    """How far a mistake's answer is from the reference's (infinite when it raised or is not comparable)."""
    if not isinstance(answer, np.ndarray) or answer.shape != expected.shape or not np.isfinite(answer).all():
        return float("inf")
    return relative_error(answer, expected)


@pytest.mark.parametrize("graded", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["self_check", "graded"])
@pytest.mark.parametrize("question", list(DDPM))
def test_each_mistake_fails_its_question_clearly_and_mistakes_are_told_apart(question, graded, inputs):
    entries = CATALOGUE.mistakes_for(question)
    assert entries, question
    expected = answers(ddpm, question, inputs, graded)
    made = {m.name: answers(implementation((m.name,)), question, inputs, graded) for m in entries}
    for name, found in made.items():
        worst = max(_error(found[n], v) for n, v in expected.items())
        assert worst > MARGIN * tolerance(question), (name, worst)
    for a, b in combinations(made, 2):
        assert any(_error(made[a][n], made[b][n]) > tolerance(question) if isinstance(made[b][n], np.ndarray)
                   else isinstance(made[a][n], np.ndarray) for n in expected), (a, b)


def test_quality_verdict_counts_digits_of_their_label_and_refuses_copies():
    x, y = digits_numpy()
    labels = sample_labels(10).numpy()
    copies = np.stack([x[np.flatnonzero(y == label)[i // 10]] for i, label in enumerate(labels)])
    verdict = quality_verdict(copies)
    assert not verdict.passed and "100 copy a training digit and earn nothing" in verdict.reason
    noisy = copies + np.random.default_rng(0).normal(0, 0.35, copies.shape).astype(np.float32)
    fresh = quality_verdict(noisy)  # no longer copies; most still read as their digit
    assert fresh.passed and fresh.error is not None and fresh.error <= 1 - PASS_SHARE
    shuffled = quality_verdict(np.roll(noisy, 1, axis=0))
    assert not shuffled.passed and "classified as their label" in shuffled.reason
    assert "expected 100 digits" in quality_verdict(noisy[:50]).reason
    assert "NaN" in quality_verdict(np.full_like(noisy, np.nan)).reason


def test_case_verdict_uses_the_question_tolerance_and_quality_for_q5():
    from hw4.judge import agree, judged_alone, verdict

    x, y = digits_numpy()
    expected = np.ones(64, dtype=np.float32)
    nearly = expected * (1 + 1e-3)
    assert verdict("ddpm_q4_sample", "x0_linear_w1.5", nearly, expected).passed  # within 3e-3
    assert not verdict("ddpm_q3_loss", "x0_linear", nearly, expected).passed  # the homework's 1e-4
    digits_asked = np.stack([x[np.flatnonzero(y == label)[0]] for label in sample_labels(10).numpy()])
    noisy = digits_asked + np.random.default_rng(1).normal(0, 0.35, digits_asked.shape).astype(np.float32)
    assert verdict("ddpm_q5_train", "epsilon_linear", noisy, np.zeros(1)).passed
    assert not verdict("ddpm_q5_train", "epsilon_linear", digits_asked, noisy).passed  # copies, however close
    assert judged_alone("ddpm_q5_train", "x0_cosine") and not judged_alone("ddpm_q5_train", "loop_x0_cosine")
    worse = noisy.copy()
    worse[:8] = np.roll(worse[:8], 1, axis=0)  # eight digits of another class: the share moves by 8 %
    assert agree(noisy, worse, "ddpm_q5_train", "x0_cosine")
    worse[:20] = np.roll(noisy[:20], 1, axis=0)
    assert not agree(noisy, worse, "ddpm_q5_train", "x0_cosine")
    assert agree(expected, expected * (1 + 1e-5), "ddpm_q1_betas", "linear_50")
    assert not agree(expected, nearly, "ddpm_q1_betas", "linear_50")
    assert agree(expected, nearly, "ddpm_q4_sample", "x0_linear_w1.5")
    assert agree(expected, expected, "no_such_question", "x")  # a hostile file's question: the default rule


def test_the_assignment_model_loader_names_the_shipped_weights():
    from hw4.ddpm_model import DENOISER_WIDTH, load_assignment_model, provided_globals

    model, config = load_assignment_model("embedded")
    assert model.width == DENOISER_WIDTH and config == {"width": DENOISER_WIDTH} and not model.training
    assert model.hw4_model_id.startswith("ddpm-digits-") and model.hw4_model_id == load_assignment_model()[0].hw4_model_id
    assert provided_globals(model, config, "embedded") == {}
