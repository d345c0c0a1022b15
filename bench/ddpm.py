"""Benchmark of the DDPM assignment: the four settings with the reference solution, and catalogued mistakes.

    python bench/ddpm.py [--steps 800]    # writes bench/results/ddpm-latest.md too
    python bench/ddpm.py --runner         # the runner's graded cases: seconds per question, peak memory

Each row trains the shipped architecture for the fixed budget of ``hw4.ddpm_quality`` on one
CPU thread, samples 100 digits (ten per class, 1,000 ancestral steps, guidance 2) and judges them
with the shipped classifier and copy check. The other rows are catalogued mistakes (``MISTAKES``),
each the solution with that one mistake made: some quality cannot see (the wrong variance), which is
why the exact questions grade them.
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

from hw4.ddpm_cases import SETTINGS  # noqa: E402
from hw4.ddpm_quality import BUDGET, quality_run, quality_verdict  # noqa: E402
from hw4.digit_judge import copies_training_image  # noqa: E402
from hw4.digits import digits_numpy  # noqa: E402
from solutions import ddpm  # noqa: E402
from solutions.ddpm_mistakes import implementation  # noqa: E402

MISTAKES = ("targets_swapped", "labels_not_passed", "variance_beta_squared", "x0_not_clipped", "zero_grad_missing")
"""Catalogued mistakes (``solutions.ddpm_mistakes``) trained and judged like the solution, epsilon and linear."""


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
    rows = [("solution", p, s, implementation(())) for p, s in SETTINGS]
    rows += [(name, "epsilon", "linear", implementation((name,))) for name in MISTAKES]
    lines = [f"budget: {budget}", "",
             "| submission | prediction | schedule | train s | sample s | as their label | copies | quality share | Q5 points |",
             "|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines))
    for name, prediction, schedule, functions in rows:
        run = quality_run(functions, prediction, schedule, budget)
        q = run.quality
        lines.append(f"| {name} | {prediction} | {schedule} | {run.train_s:.1f} | {run.sample_s:.1f} | "
                     f"{q.classified_as_label}/{q.samples} | {q.copies} | {q.share:.0%} | "
                     f"{10 if quality_verdict(run.samples).passed else 0}/10 |")
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
