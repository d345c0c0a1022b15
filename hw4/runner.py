"""The student's last step: ``write_answers("homework4_stub.py")`` writes ``homework4.pkl``.

``runner.ipynb`` and ``hw4 answers`` both call ``write_answers``: import the submission
(definitions only), generate answers for every graded case on the CPU, save them with
the safe pickle writer, and tell the student what happened per question.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from . import cases as C
from .answers import generate
from .model import EMBEDDED, load_model
from .safe_pickle import dump_answers
from .submission import SubmissionError, import_submission, summary

SEARCH_DIRS = (".", "notebooks")


def find_submission(submission: str | Path) -> Path:
    """The submission path as given, or found under ``notebooks/``; the .ipynb when the .py is missing."""
    path = Path(submission)
    candidates = [path] if path.is_absolute() else [Path(d) / path for d in SEARCH_DIRS]
    if path.suffix == ".py":
        candidates += [c.with_suffix(".ipynb") for c in candidates]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise SubmissionError(f"Could not find {submission}: convert your notebook with `jupyter nbconvert --to script "
                          f"homework4_stub.ipynb`, or pass the .py/.ipynb path.")


def explain_skipped_names(answers: dict, skipped: list[str]) -> None:
    """Add a hint to ``NameError``s about top-level names the importer skipped (e.g. ``RATE = SAMPLE_RATE / 2048``)."""
    for entry in answers["questions"].values():
        for case, error in entry["errors"].items():
            match = re.match(r"NameError: name '(\w+)' is not defined", error)
            if match and any(re.search(rf"\b{match.group(1)}\s*=", line) for line in skipped):
                entry["errors"][case] = (f"{error} - the top-level line that sets {match.group(1)} is not a plain "
                                         f"constant, so the runner skipped it: compute it inside the function")


def results_summary(answers: dict) -> str:
    """One line per question: how many cases produced an answer, and the first error if any."""
    lines = []
    for question, entry in answers["questions"].items():
        total = len(entry["answers"]) + len(entry["errors"])
        line = f"{C.TITLES[question]}: {len(entry['answers'])}/{total} cases answered"
        if entry["errors"]:
            line += f" - {next(iter(entry['errors'].values()))}"
        lines.append(line)
    return "\n".join(lines)


def write_answers(
    submission: str | Path = "homework4_stub.py",
    output: str | Path = "homework4.pkl",
    model: str = EMBEDDED,
    time_limit_s: float | None = None,
    progress: bool = True,
    quiet: bool = False,
) -> dict:
    """Import ``submission``, answer every graded case with ``model``, and write ``output``.

    ``time_limit_s`` fixes the limit of each case; by default it is derived from the reference solution's own
    time on this machine and model (``hw4.answers.case_time_limit``).
    """
    path = find_submission(submission)
    loaded, _ = load_model(model)
    report = import_submission(path, extra_globals={"SAMPLE_RATE": loaded.sample_rate, "model": loaded})
    if not quiet:
        print(summary(report))
    if not any(callable(getattr(report.module, name, None)) for name in C.FUNCTIONS.values()):
        print(f"Warning: {path.name} defines none of the homework functions ({', '.join(C.FUNCTIONS.values())}): "
              f"is it the converted notebook? Every case will fail.", file=sys.stderr)
    answers = generate(report.module, loaded, C.GRADED, time_limit_s=time_limit_s, progress=progress)
    explain_skipped_names(answers, report.skipped)
    dump_answers(answers, output)
    if not quiet:
        print(results_summary(answers))
        print(f"Wrote {output}: submit it together with {path.with_suffix('.py').name}.")
    return answers
