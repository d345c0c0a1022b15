"""Self-checks give the grader's verdict: PASS, FAIL naming the catalogued mistake, or TODO - never a traceback."""

from __future__ import annotations

import types

import pytest
import torch

from hw4 import questions as Q
from hw4.selfcheck import UNKNOWN, check, run_checks
from solutions.mistakes import CATALOGUE, implementation

MISTAKES = CATALOGUE.mistakes


@pytest.fixture
def bound(model):
    """A copy of the solutions (with some catalogue entries turned on) whose globals the runner would set."""
    def make(*names):
        module = implementation(names)
        module.model, module.SAMPLE_RATE = model, model.sample_rate
        return module
    return make


def verdict(module, question: str) -> tuple[str, bool]:
    """``check()`` of the module's function for ``question``, seeing the module's other functions as a notebook would."""
    fn = getattr(module, Q.HOMEWORK[question].function)
    namespace = {**fn.__globals__, **vars(module)}  # as the runner binds them
    in_notebook = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)
    [result] = run_checks(in_notebook)
    return result


def test_correct_functions_pass(bound, capsys):
    solutions = bound()
    check(*(getattr(solutions, Q.HOMEWORK[q].function) for q in tuple(Q.HOMEWORK)))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(tuple(Q.HOMEWORK)) and all(line.startswith("PASS") and "relative error" in line for line in lines)


@pytest.mark.parametrize("entry", MISTAKES, ids=lambda e: e.name)
def test_every_catalogued_mistake_fails_and_is_named(entry, bound):
    message, passed = verdict(bound(entry.name), entry.question)
    assert not passed and message.startswith("FAIL"), message
    assert f"Likely mistake ({entry.name}): {entry.feedback}" in message


@pytest.mark.parametrize("question", [q for q in tuple(Q.HOMEWORK) if len(CATALOGUE.variant_sets(q)) > 1])
def test_accepted_variants_pass_alone_and_combined(question, bound):
    for names in CATALOGUE.variant_sets(question)[1:]:
        message, passed = verdict(bound(*names), question)
        assert passed and message.startswith("PASS") and "Accepted" in message, (names, message)


@pytest.mark.slow
@pytest.mark.parametrize("entry", [e for e in MISTAKES if len(CATALOGUE.variant_sets(e.question)) > 1], ids=lambda e: e.name)
def test_a_mistake_with_accepted_variants_is_still_that_mistake(entry, bound):
    for names in CATALOGUE.variant_sets(entry.question)[1:]:
        message, passed = verdict(bound(entry.name, *names), entry.question)
        assert not passed and f"Likely mistake ({entry.name})" in message, (names, message)


@pytest.mark.slow
@pytest.mark.parametrize("entry", [e for e in MISTAKES if e.question in ("q1_to_d", "q1_sample")], ids=lambda e: e.name)
def test_an_earlier_mistake_counts_once_like_the_grader(entry, bound):
    """A wrong to_d/simple_sample costs Q1 only: later questions built on it pass, with any accepted variant."""
    for question in ("q3_inpaint", "q4_variable_inpaint", "q5_style_transfer"):
        for names in CATALOGUE.variant_sets(question):
            message, passed = verdict(bound(entry.name, *names), question)
            counted = f"already counted in {Q.HOMEWORK[entry.question].title} ({entry.name})" in message
            # k-diffusion's Euler step does not call the student's to_d/simple_sample: then only the variant shows.
            assert passed and (counted or (names and "Accepted" in message)), (names, message)
            assert counted or names, message


def test_the_catalogue_is_covered_by_the_self_check_data():
    """Every entry changes its own question's self-check answers (else check() could not tell it apart)."""
    from hw4.selfcheck import stored_catalogue

    stored = stored_catalogue()
    assert all(e.question in stored.get(e.name, {}) for e in CATALOGUE)


def test_an_unknown_mistake_points_at_the_hints(bound):
    solutions = bound()

    def to_d(x, sigma, denoised):
        return solutions.to_d(x, sigma, denoised) * 1.5

    [(message, passed)] = run_checks(to_d)
    assert not passed and message.startswith("FAIL") and UNKNOWN in message


def test_unimplemented_function_says_todo():
    def simple_sample(model, x, sigmas, extra_args=None):
        raise NotImplementedError()

    [(message, passed)] = run_checks(simple_sample)
    assert not passed and message == "TODO  Q1 simple_sample: not implemented yet."


def test_a_crashing_function_names_the_error_and_line():
    def to_d(x, sigma, denoised):
        return x @ torch.ones(3)

    [(message, passed)] = run_checks(to_d)
    assert not passed and message.startswith("FAIL") and "RuntimeError" in message and "line" in message


def test_a_callable_without_a_name_beside_a_homework_function_is_left_out():
    import functools

    def simple_sample(model, x, sigmas, extra_args=None):
        raise NotImplementedError()

    unnamed = functools.partial(print)  # no __name__, bound to no notebook name: check() cannot place it
    [(message, passed)] = run_checks(simple_sample, unnamed)
    assert not passed and message == "TODO  Q1 simple_sample: not implemented yet."
