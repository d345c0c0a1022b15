"""Benchmark of the DDPM assignment: the four settings with the reference solution, and catalogued mistakes.

    python bench/ddpm.py [--steps 800]    # writes bench/results/ddpm-latest.md too
    python bench/ddpm.py --runner         # the runner's graded cases: seconds per question, peak memory
    python bench/ddpm.py --targets        # issue 21's timing targets; writes bench/results/ddpm-targets-latest.md

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
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LOAD_AT_START = f"{os.getloadavg()[0]:.2f}"  # before this script adds its own

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


def _timed(command: list[str], env: dict[str, str]) -> float:
    """Wall seconds of ``command`` in a fresh process (start-up included); fails loudly when it fails."""
    import subprocess
    import time

    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def targets() -> None:
    """Issue 21's timing targets, each in fresh processes as a student or TA meets them: the solution notebook top
    to bottom (kernel start, the four trainings), the runner over every graded case (``hw4 answers``) and grading
    its pickle with cached references (``hw4 grade``, and the grading alone in process); writes
    bench/results/ddpm-targets-latest.md."""
    import tempfile
    import time

    from nbclient import NotebookClient

    from autograder.pipeline import grade_file
    from autograder.references import load_references
    from hw4.assignments import DDPM_DIGITS
    from solutions.build import assignment_source

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    os.environ.update(env)  # the notebook's kernel inherits it
    python = [sys.executable, "-m"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        answers = Path(tmp) / DDPM_DIGITS.answers_file
        runner_s = _timed([*python, "hw4.cli", "answers", str(DDPM_DIGITS.solutions_file), "--assignment", "ddpm",
                           "-o", str(answers), "-q"], env)
        rows.append(("runner over all graded cases (`hw4 answers`, start-up included)", runner_s, 60))
        load_references("embedded", assignment="ddpm")  # cached now
        rows.append(("`hw4 grade ddpm.pkl`, cached references (start-up included)",
                     _timed([*python, "autograder", "grade", str(answers), "--assignment", "ddpm"], env), None))
        grade_file(answers, "embedded", assignment="ddpm")  # warm: the references read once
        start = time.perf_counter()
        report = grade_file(answers, "embedded", assignment="ddpm")
        rows.append(("grading the pickle with cached references, in process", time.perf_counter() - start, 1))
        assert report.total == report.max_total == 100, report.total
        nb = assignment_source(DDPM_DIGITS)
        start = time.perf_counter()
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": tmp}}).execute()
        rows.append(("solution notebook top to bottom (kernel start, four trainings)", time.perf_counter() - start, 120))
    lines = [f"load average at the start and end: {LOAD_AT_START} / {os.getloadavg()[0]:.2f}; "
             f"{os.cpu_count()} cores", "", "| figure | seconds | target | met |", "|---|---|---|---|"]
    lines += [f"| {name} | {seconds:.1f} | {'' if target is None else f'<= {target} s'} | "
              f"{'' if target is None else ('yes' if seconds <= target else 'no')} |" for name, seconds, target in rows]
    print("\n".join(lines))
    (ROOT / "bench" / "results" / "ddpm-targets-latest.md").write_text(
        f"# bench/ddpm.py --targets, {dt.date.today()}\n\n" + "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=BUDGET.steps)
    parser.add_argument("--runner", action="store_true", help="time the runner's graded cases instead")
    parser.add_argument("--targets", action="store_true", help="time notebook, runner and grading instead")
    args = parser.parse_args()
    if args.targets:
        targets()
        return
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
