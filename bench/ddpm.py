"""Benchmark of the DDPM assignment: the four settings with the reference solution, and two wrong submissions.

    python bench/ddpm.py [--steps 800]    # writes bench/results/ddpm-latest.md too
    python bench/ddpm.py --runner         # the runner's graded cases: seconds per question, peak memory

Each row trains the shipped architecture for the fixed budget of ``hw4.ddpm_quality`` on one
CPU thread, samples 100 digits (ten per class, 1,000 ancestral steps, guidance 2) and judges them
with the shipped classifier and copy check. "wrong loss" trains with the other prediction's target
(epsilon and x0 swapped); "wrong sampler" does not pass the labels to the model; "wrong variance"
adds the step noise with variance beta_t^2 instead of beta_t (which quality cannot see: the exact
sampling question grades it).
A last row runs the copy check on 100 training digits.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw4.ddpm_model import NULL_CLASS  # noqa: E402
from hw4.ddpm_quality import BUDGET, SETTINGS, quality_run  # noqa: E402
from hw4.digit_judge import copies_training_image  # noqa: E402
from hw4.digits import digits_numpy  # noqa: E402
from solutions import ddpm  # noqa: E402

OTHER = {"epsilon": "sample", "sample": "epsilon"}
solution = SimpleNamespace(ddpm_schedules=ddpm.ddpm_schedules, train=ddpm.train, ddpm_sample=ddpm.ddpm_sample)
solution_loss = ddpm.ddpm_loss


def wrong_loss(model, x0, labels, schedules, prediction, generator):
    """The loss with the epsilon and x0 targets swapped."""
    return solution_loss(model, x0, labels, schedules, OTHER[prediction], generator)


def wrong_sampler(model, labels, schedules, prediction, guidance, generator, keep_every):
    """Ancestral sampling that does not pass the labels to the model."""
    labels = torch.full_like(labels, NULL_CLASS)
    return ddpm.ddpm_sample(model, labels, schedules, prediction, guidance, generator, keep_every)


def wrong_variance(model, labels, schedules, prediction, guidance, generator, keep_every):
    """Ancestral sampling whose step noise has standard deviation beta_t instead of sqrt(beta_t)."""
    schedules = {**schedules, "sqrt_beta_t": schedules["beta_t"]}
    return ddpm.ddpm_sample(model, labels, schedules, prediction, guidance, generator, keep_every)


def with_loss(loss):
    """The solution's functions, its training loop calling ``loss``."""
    def train(*args, **kwargs):
        saved, ddpm.ddpm_loss = ddpm.ddpm_loss, loss
        try:
            return solution.train(*args, **kwargs)
        finally:
            ddpm.ddpm_loss = saved
    return SimpleNamespace(ddpm_schedules=ddpm.ddpm_schedules, train=train, ddpm_sample=ddpm.ddpm_sample)



def runner_step() -> None:
    """Time every graded case of the DDPM questions as the runner calls them (the reference solution, one thread),
    and the process's peak memory; writes bench/results/ddpm-runner-latest.md."""
    import resource
    import time

    from hw4.answers import to_array
    from hw4.ddpm_model import load_denoiser
    from hw4.ddpm_questions import DDPM

    inputs = SimpleNamespace(model=load_denoiser())
    lines = ["| question | cases | seconds |", "|---|---|---|"]
    total = 0.0
    for q in DDPM.values():
        start = time.perf_counter()
        for case in q.graded:
            to_array(case.call(getattr(ddpm, q.function), inputs))
        seconds = time.perf_counter() - start
        total += seconds
        lines.append(f"| {q.title} | {len(q.graded)} | {seconds:.1f} |")
        print(lines[-1], flush=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines += ["", f"all graded cases: {total:.1f} s on one thread; peak resident memory {peak_mib:.0f} MiB"]
    print(lines[-1])
    (ROOT / "bench" / "results" / "ddpm-runner-latest.md").write_text(
        f"# bench/ddpm.py --runner, {dt.date.today()}\n\n" + "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=BUDGET.steps)
    parser.add_argument("--runner", action="store_true", help="time the runner's graded cases instead")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.runner:
        runner_step()
        return
    budget = dataclasses.replace(BUDGET, steps=args.steps)
    rows = [("solution", p, s, solution) for p, s in SETTINGS]
    rows += [("wrong loss", "epsilon", "linear", with_loss(wrong_loss)),
             ("wrong sampler", "epsilon", "linear", SimpleNamespace(**{**vars(solution), "ddpm_sample": wrong_sampler})),
             ("wrong variance", "epsilon", "linear", SimpleNamespace(**{**vars(solution), "ddpm_sample": wrong_variance}))]
    lines = [f"budget: {budget}", "",
             "| submission | prediction | schedule | train s | sample s | as their label | copies | quality share |",
             "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines))
    for name, prediction, schedule, functions in rows:
        run = quality_run(functions, prediction, schedule, budget)
        q = run.quality
        lines.append(f"| {name} | {prediction} | {schedule} | {run.train_s:.1f} | {run.sample_s:.1f} | "
                     f"{q.classified_as_label}/{q.samples} | {q.copies} | {q.share:.0%} |")
        print(lines[-1], flush=True)
    real = digits_numpy()[0][:100]
    noisy = real + np.random.default_rng(0).normal(0, 0.1, real.shape).astype(np.float32)
    lines += ["", f"copy check on 100 training digits: {int(copies_training_image(real).sum())}/100 flagged; "
              f"on them plus noise of std 0.1: {int(copies_training_image(noisy).sum())}/100 flagged"]
    print("\n".join(lines[-2:]))
    (ROOT / "bench" / "results" / "ddpm-latest.md").write_text(
        f"# bench/ddpm.py, {dt.date.today()}\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
