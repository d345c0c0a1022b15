"""The DDPM assignment's questions (8x8 digits): one ``Question`` record each, in notebook order.

``DDPM`` maps a question's key to its record, as ``hw4.questions.HOMEWORK`` does for the homework; the
kinds of case are in ``hw4.ddpm_cases``. Points add up to 100. Questions 1-4 are compared with the
reference like the homework's (relative error, ``hw4.compare``); question 5 is judged on the quality of
the digits the submission's own training and sampling make (``QualityCase.verdict``).
"""

from __future__ import annotations

from .ddpm_cases import (
    SCHEDULE_KEYS,
    SETTINGS,
    BetaCase,
    DigitSampleCase,
    LossCase,
    QualityCase,
    ScheduleTermCase,
    TrainCase,
)
from .questions import Question, registry

SAMPLER_TOLERANCE = 3e-3
"""Q4's tolerance: 1,000 guided steps amplify float32 rounding, so correct rewrites (float64, the posterior-mean
form) differ from the reference by up to 6.5e-4 (``tests/test_ddpm_cases.py``); every catalogued sampler mistake
by at least 1.1e-2 on some case."""


def _terms(prefix: str, beta1: float, beta2: float, T: int, schedule: str) -> tuple[ScheduleTermCase, ...]:
    """One case per schedule term, all from one call's setting."""
    return tuple(ScheduleTermCase(name=f"{prefix}.{key}", beta1=beta1, beta2=beta2, T=T, schedule=schedule, key=key)
                 for key in SCHEDULE_KEYS)


def _setting_name(prediction: str, schedule: str) -> str:
    return f"{'x0' if prediction == 'sample' else prediction}_{schedule}"


DDPM = registry(
    Question(key="ddpm_q1_betas", function="beta_schedule", title="Q1 beta_schedule", points=10, graded=(
        BetaCase(name="linear_1000", beta1=1e-4, beta2=0.02, T=1000, schedule="linear"),
        BetaCase(name="linear_50", beta1=1e-3, beta2=0.05, T=50, schedule="linear"),
        BetaCase(name="cosine_1000", beta1=1e-4, beta2=0.02, T=1000, schedule="cosine"),
        BetaCase(name="cosine_50", beta1=1e-4, beta2=0.02, T=50, schedule="cosine"),
        BetaCase(name="cosine_8", beta1=1e-4, beta2=0.02, T=8, schedule="cosine"),
    ), self_check=(
        BetaCase(name="linear_10", beta1=1e-4, beta2=0.02, T=10, schedule="linear"),
        BetaCase(name="cosine_20", beta1=1e-4, beta2=0.02, T=20, schedule="cosine"),
    ), hint="Entry t of the tensor belongs to step t = 0..T, with beta_0 = 0. The linear schedule is beta1 at t = 1 "
            "and beta2 at t = T; the cosine one divides consecutive alphabars, alphabar_t = f(t) / f(0), and "
            "clips at 0.999."),
    Question(key="ddpm_q2_schedules", function="ddpm_schedules", title="Q2 ddpm_schedules", points=10,
             graded=_terms("linear_1000", 1e-4, 0.02, 1000, "linear") + _terms("cosine_1000", 1e-4, 0.02, 1000, "cosine")
             + _terms("cosine_30", 1e-3, 0.05, 30, "cosine"),
             self_check=_terms("linear_20", 1e-4, 0.02, 20, "linear") + _terms("cosine_20", 1e-4, 0.02, 20, "cosine"),
             hint="Every term is elementwise on beta_t except alphabar_t, the running product of alpha_t from "
                  "step 0. Only steps 1..T are checked."),
    Question(key="ddpm_q3_loss", function="ddpm_loss", title="Q3 ddpm_loss", points=15, graded=(
        LossCase(name="epsilon_linear", seed=31, prediction="epsilon", schedule="linear"),
        LossCase(name="epsilon_cosine", seed=32, prediction="epsilon", schedule="cosine", start=100),
        LossCase(name="x0_linear", seed=33, prediction="sample", schedule="linear", start=200),
        LossCase(name="x0_cosine", seed=34, prediction="sample", schedule="cosine", start=300),
        LossCase(name="epsilon_linear_small", seed=35, prediction="epsilon", schedule="linear", start=400, size=5),
    ), self_check=(
        LossCase(name="epsilon", seed=3, prediction="epsilon", schedule="linear", start=1000),
        LossCase(name="x0", seed=4, prediction="sample", schedule="cosine", start=1100),
    ), hint="Draw t (uniform on 1..T, one per image) and then the noise, from the generator, in that order; noise "
            "x0 to x_t with sqrtab and sqrtmab at each image's t, call model(x_t, t, labels), and average the squared "
            "error against the noise (epsilon) or x0 (sample)."),
    Question(key="ddpm_q4_sample", function="ddpm_sample", title="Q4 ddpm_sample", points=25,
             tolerance=SAMPLER_TOLERANCE, graded=(
        DigitSampleCase(name="epsilon_linear_w2", seed=41, prediction="epsilon", schedule="linear", guidance=2.0),
        DigitSampleCase(name="epsilon_cosine_w2_kept30", seed=42, prediction="epsilon", schedule="cosine",
                        guidance=2.0, keep_every=30, kept=True),
        DigitSampleCase(name="x0_linear_w1.5", seed=43, prediction="sample", schedule="linear", guidance=1.5),
        DigitSampleCase(name="x0_cosine_unguided", seed=44, prediction="sample", schedule="cosine", guidance=0.0),
        DigitSampleCase(name="x0_linear_w1_kept50", seed=45, prediction="sample", schedule="linear", guidance=1.0,
                        keep_every=50, kept=True),
        DigitSampleCase(name="epsilon_cosine_unguided_x2", seed=46, prediction="epsilon", schedule="cosine",
                        guidance=0.0, per_class=2),
    ), self_check=(
        DigitSampleCase(name="epsilon_cosine_kept30", seed=4, prediction="epsilon", schedule="cosine", guidance=2.0,
                        keep_every=30, kept=True),
        DigitSampleCase(name="x0_linear", seed=5, prediction="sample", schedule="linear", guidance=0.5),
    ), hint="Start from x_T drawn from the generator; at each t = T..1 turn the (guided) output into a clean "
            "estimate, clip it to [-1, 1], turn that back into a noise estimate, take the DDPM step and add "
            "sqrt(beta_t) times fresh noise unless t = 1. Keep x_t whenever t is a multiple of keep_every."),
    Question(key="ddpm_q5_train", function="train", title="Q5 train (sample quality)", points=40,
             graded=tuple(QualityCase(name=_setting_name(p, s), prediction=p, schedule=s) for p, s in SETTINGS),
             self_check=(
                 TrainCase(name="loop_epsilon_linear", seed=51, prediction="epsilon", schedule="linear"),
                 TrainCase(name="loop_x0_cosine", seed=52, prediction="sample", schedule="cosine"),
             ), hint="Each step: the loss of the batch (ddpm_loss, with the generator), then clear the old gradients, "
                     "back-propagate and take the optimizer's step; return the losses as numbers."),
)
"""The DDPM assignment's questions, in notebook order."""
