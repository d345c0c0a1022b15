"""The DDPM assignment's quality run: train one setting with a submission's functions, then judge.

One fixed budget (``BUDGET``) for the runner, the notebook's closing cell and ``bench/ddpm.py``:
a fresh ``DigitsDenoiser`` (seeded) is trained by the submission's ``train`` (which calls its
``ddpm_loss``) on all 1,797 digits with the submission's ``ddpm_schedules``, then its
``ddpm_sample`` draws ten digits of each class and ``hw4.digit_judge`` scores them.
``quality_verdict`` is how the grader and ``check()`` judge one setting's digits: it passes when at
least ``PASS_SHARE`` of them are classified as their label, a digit that copies a training image counting
as wrong; the integrity re-run accepts a share within ``INTEGRITY_TOLERANCE`` of the submitted one
(training is not bit-identical across CPUs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from .compare import Verdict
from .ddpm_model import N_CLASSES, new_denoiser
from .digit_judge import Quality, judge_samples
from .digits import digits

PASS_SHARE = 0.8  # of the samples classified as their label (copies of training digits count as wrong)
INTEGRITY_TOLERANCE = 0.1  # how far the re-run's share may be from the submitted one


@dataclass(frozen=True)
class Budget:
    """What one quality run does: the diffusion, the training and the sampling."""

    T: int = 1000
    beta1: float = 1e-4
    beta2: float = 0.02
    steps: int = 800
    batch_size: int = 256
    lr: float = 2e-3
    guidance: float = 2.0
    per_class: int = 10
    seed: int = 0


BUDGET = Budget()


@dataclass(frozen=True)
class QualityRun:
    """One setting's outcome: the judgement, the samples, the trained model and how long each half took."""

    quality: Quality
    samples: np.ndarray  # [per_class * 10, 64], classes 0..9 repeated
    labels: np.ndarray
    train_s: float
    sample_s: float
    model: torch.nn.Module


def sample_labels(per_class: int) -> torch.Tensor:
    """Labels 0..9, repeated ``per_class`` times (``[0, 1, ..., 9, 0, 1, ...]``): one row of a 10x10 grid each."""
    return torch.arange(N_CLASSES).repeat(per_class)


def quality_run(functions: Any, prediction: str, schedule: str, budget: Budget = BUDGET) -> QualityRun:
    """Train and judge one setting with ``functions`` (a module or namespace: ddpm_schedules, train, ddpm_sample)."""
    f = functions if not isinstance(functions, dict) else SimpleNamespace(**functions)
    images, labels = digits()
    generator = torch.Generator().manual_seed(budget.seed)
    schedules = f.ddpm_schedules(budget.beta1, budget.beta2, budget.T, schedule)
    model = new_denoiser(budget.seed)
    start = time.perf_counter()
    with torch.enable_grad():  # the runner answers cases under no_grad
        f.train(model, images, labels, schedules, prediction, budget.steps, generator,
                batch_size=budget.batch_size, lr=budget.lr)
    trained = time.perf_counter()
    wanted = sample_labels(budget.per_class)
    x, _ = f.ddpm_sample(model.eval(), wanted, schedules, prediction, budget.guidance, generator, budget.T)
    sampled = time.perf_counter()
    samples = x.detach().numpy().astype(np.float32)
    quality = judge_samples(samples, wanted.numpy())
    return QualityRun(quality, samples, wanted.numpy(), trained - start, sampled - trained, model)


def quality_verdict(samples: object, per_class: int = BUDGET.per_class) -> Verdict:
    """Judge one setting's sampled digits (``[per_class * 10, 64]``, labels as ``sample_labels`` gives them).

    ``error`` is the share that does not count (1 - ``Quality.share``); the reason says how many digits were
    classified as their label and how many copy a training image.
    """
    labels = sample_labels(per_class).numpy()
    if not isinstance(samples, np.ndarray) or samples.shape != (len(labels), 64):
        shape = getattr(samples, "shape", None)
        return Verdict(False, None, f"expected {len(labels)} digits of 64 pixels, got "
                                    f"{tuple(shape) if shape is not None else type(samples).__name__}")
    if not np.isfinite(samples).all():
        return Verdict(False, None, f"{int((~np.isfinite(samples)).sum())} NaN/Inf pixels")
    q = judge_samples(samples, labels)
    reason = f"{q.classified_as_label}/{q.samples} classified as their label"
    if q.copies:
        reason += f", {q.copies} copy a training digit and earn nothing"
    passed = q.share >= PASS_SHARE
    return Verdict(passed, 1 - q.share, f"{reason} ({q.share:.0%} {'>=' if passed else '<'} {PASS_SHARE:.0%} needed)")
