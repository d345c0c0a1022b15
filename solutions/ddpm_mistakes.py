"""The DDPM assignment's mistake catalogue (staff only): one record per mistake, and the code that makes it.

As ``solutions.mistakes`` (which is the homework's): each record names its question (``hw4.ddpm_questions``),
the feedback a student sees, and the edits that make it from ``solutions/ddpm.py``. An entry edits its
question's function unless it names another (``function``): the sampler's guidance, clip and conversion
live in its helper ``predict_noise``. ``implementation`` is the solution code with the named entries made.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from pathlib import Path

from hw4.catalogue import Catalogue
from hw4.ddpm_questions import DDPM

from .mistakes import Mistake as HomeworkMistake
from .mistakes import edited_module

DDPM_SOLUTIONS_FILE = Path(__file__).resolve().parent / "ddpm.py"


@dataclass(frozen=True)
class Mistake(HomeworkMistake):
    """A catalogue entry with its edits; ``function`` names the solution function edited, if not the question's."""

    function: str | None = None


_CLEAN_TO_NOISE = "(x - sqrtab * x0.clamp(-1, 1)) / sqrtmab"

CATALOGUE = Catalogue((
    Mistake("linear_starts_at_t0", "ddpm_q1_betas",
            "The linear schedule starts one step early: beta_1 must be beta1 exactly and beta_T beta2 exactly.",
            edits=(("(t - 1) / (T - 1)", "t / T"),)),
    Mistake("cosine_without_offset", "ddpm_q1_betas",
            "The cosine schedule has no offset s = 0.008 inside f(t), so its first betas are far too small.",
            edits=(("(t / T + COSINE_OFFSET) / (1 + COSINE_OFFSET)", "(t / T)"),)),
    Mistake("cosine_without_clip", "ddpm_q1_betas",
            "The cosine betas are not clipped at 0.999: the last one is 1, and 1 / sqrt(alpha_T) is then infinite.",
            edits=((".clamp(max=MAX_BETA)", ""),)),
    Mistake("cosine_t_off_by_one", "ddpm_q1_betas",
            "The cosine betas are shifted by one step: beta_t is 1 - alphabar_t / alphabar_(t-1), entry t for step t.",
            edits=(("betas[1:] = 1 - alphabar[1:] / alphabar[:-1]", "betas[:-1] = 1 - alphabar[1:] / alphabar[:-1]"),)),
    Mistake("alphabar_as_sum", "ddpm_q2_schedules",
            "alphabar_t adds the alphas up; it is their running product.",
            edits=(("torch.cumprod(alpha_t, dim=0)", "torch.cumsum(alpha_t, dim=0)"),)),
    Mistake("alphabar_not_cumulative", "ddpm_q2_schedules",
            "alphabar_t is alpha_t itself; it is the product of every alpha from the first step to t.",
            edits=(("torch.cumprod(alpha_t, dim=0)", "alpha_t"),)),
    Mistake("sqrt_beta_without_sqrt", "ddpm_q2_schedules",
            "sqrt_beta_t is beta_t: the square root is missing.",
            edits=(("sqrt_beta_t = torch.sqrt(beta_t)", "sqrt_beta_t = beta_t"),)),
    Mistake("sqrtab_without_sqrt", "ddpm_q2_schedules",
            "sqrtab is alphabar_t: the square root is missing.",
            edits=(("sqrtab = torch.sqrt(alphabar_t)", "sqrtab = alphabar_t"),)),
    Mistake("oneover_sqrta_without_sqrt", "ddpm_q2_schedules",
            "oneover_sqrta is 1 / alpha_t: the square root is missing.",
            edits=(("1 / torch.sqrt(alpha_t)", "1 / alpha_t"),)),
    Mistake("sqrtmab_without_sqrt", "ddpm_q2_schedules",
            "sqrtmab is 1 - alphabar_t: the square root is missing.",
            edits=(("torch.sqrt(1 - alphabar_t)", "(1 - alphabar_t)"),)),
    Mistake("mab_over_sqrtmab_with_alphabar", "ddpm_q2_schedules",
            "mab_over_sqrtmab's numerator is 1 - alphabar_t; it is 1 - alpha_t (that is, beta_t).",
            edits=(("(1 - alpha_t[1:]) / sqrtmab[1:]", "(1 - alphabar_t[1:]) / sqrtmab[1:]"),)),
    Mistake("targets_swapped", "ddpm_q3_loss",
            "The targets are swapped: epsilon prediction regresses the noise, sample prediction the clean image x0.",
            edits=(('target = noise if prediction == "epsilon" else x0', 'target = x0 if prediction == "epsilon" else noise'),)),
    Mistake("noised_with_alphabar", "ddpm_q3_loss",
            "x_t mixes x0 and the noise with alphabar_t and 1 - alphabar_t; the weights are their square roots.",
            edits=(('schedules["sqrtab"][t, None] * x0 + schedules["sqrtmab"][t, None] * noise',
                    'schedules["alphabar_t"][t, None] * x0 + (1 - schedules["alphabar_t"][t, None]) * noise'),)),
    Mistake("loss_summed", "ddpm_q3_loss",
            "The squared errors are summed; the loss is their mean over the batch and the pixels.",
            edits=((".mean()", ".sum()"),)),
    Mistake("labels_not_passed", "ddpm_q4_sample",
            "The model is not given the labels (every call is unconditional), so the digits ignore their class.",
            edits=(("out = model(x, steps, labels)", "out = model(x, steps, torch.full_like(labels, NULL_CLASS))"),),
            function="predict_noise"),
    Mistake("guidance_as_cfg_scale", "ddpm_q4_sample",
            "Guidance uses the scale convention uncond + w (cond - uncond); this assignment's weight w gives "
            "(1 + w) cond - w uncond, so w = 0 is the conditional model.",
            edits=(("(1 + guidance) * out - guidance * model(", "guidance * out + (1 - guidance) * model("),),
            function="predict_noise"),
    Mistake("x0_not_clipped", "ddpm_q4_sample",
            "The clean estimate is not clipped to [-1, 1] before the step (the convention stated in the notebook).",
            edits=((_CLEAN_TO_NOISE, "(x - sqrtab * x0) / sqrtmab"),), function="predict_noise"),
    Mistake("prediction_conversion_swapped", "ddpm_q4_sample",
            "The model's output is read as the other prediction: with sample prediction it is the clean estimate "
            "itself, with epsilon prediction the noise.",
            edits=(('x0 = out if prediction == "sample" else', 'x0 = out if prediction == "epsilon" else'),),
            function="predict_noise"),
    Mistake("noise_added_at_last_step", "ddpm_q4_sample",
            "Noise is added at the last step too; the step from t = 1 to x_0 adds none.",
            edits=(("if t > 1:", "if t > 0:"),)),
    Mistake("variance_beta_squared", "ddpm_q4_sample",
            "The step's noise is scaled by beta_t; its variance is beta_t, so it is scaled by sqrt(beta_t).",
            edits=(('schedules["sqrt_beta_t"][t] * torch.randn', 'schedules["beta_t"][t] * torch.randn'),)),
    Mistake("zero_grad_missing", "ddpm_q5_train",
            "The gradients are never cleared, so each step adds to all the previous ones (optimizer.zero_grad()).",
            edits=(("        optimizer.zero_grad()\n", ""),)),
    Mistake("step_before_backward", "ddpm_q5_train",
            "The optimizer steps before the loss is back-propagated, so each step uses the previous batch's gradients.",
            edits=(("        loss.backward()\n        optimizer.step()\n", "        optimizer.step()\n        loss.backward()\n"),)),
))


def _entry(name: str) -> Mistake:
    entry = CATALOGUE.by_name(name)
    assert isinstance(entry, Mistake)
    return entry


def _edits(name: str) -> tuple[tuple[str, str], ...]:
    return _entry(name).edits


def function_of(name: str) -> str:
    """The solution function the entry ``name`` edits."""
    entry = _entry(name)
    return entry.function or DDPM[entry.question].function


def implementation(names: tuple[str, ...] = ()) -> types.ModuleType:
    """A fresh copy of the DDPM solutions with the edits of every named entry made."""
    return edited_module(DDPM_SOLUTIONS_FILE, [(name, function_of(name), _edits(name)) for name in names])
