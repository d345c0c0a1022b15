"""Self-checks print PASS, FAIL with the error size and a hint, or TODO - never a bare number or a traceback."""

from __future__ import annotations

import torch

import solutions.homework4 as solutions
from autograder.mistakes import CATALOG
from hw4.selfcheck import HINTS, check, run_checks


def test_correct_functions_pass(model, capsys):
    solutions.model, solutions.SAMPLE_RATE = model, model.sample_rate
    check(solutions.to_d, solutions.generate_inpainting_mask, solutions.simple_sample_style_transfer)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("PASS") and "relative error" in line for line in lines)


def test_a_wrong_function_fails_with_its_error_size_and_a_hint(model):
    entry = next(e for e in CATALOG if e.name == "reference_noised_to_current_sigma")
    wrong = entry.implementation()
    wrong.model, wrong.SAMPLE_RATE = model, model.sample_rate
    [(message, passed)] = run_checks(wrong.simple_sample_inpaint)
    assert not passed and message.startswith("FAIL") and "relative error" in message
    assert HINTS["q3_inpaint"] in message


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
