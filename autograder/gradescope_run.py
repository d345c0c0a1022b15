"""Inside Gradescope's container: ``run_autograder`` grades one submission and writes ``results.json``.

Gradescope unpacks the zip (``autograder.gradescope_zip`` builds it) into ``/autograder/source``, runs
``setup.sh`` once, then ``/autograder/run_autograder`` for every submission, with the student's files in
``/autograder/submission``. That script calls ``python -m autograder.gradescope_run``:

1. find ``homework4.pkl`` and grade it (diagnosis on); write ``results.json`` at once, so a submission
   whose code hangs still has its grade within seconds;
2. re-run the student's ``homework4_stub.py`` and/or ``homework4_stub.ipynb`` (both when both were sent) for
   the integrity check, in ``autograder.sandbox``, within what is left of ``TIME_BUDGET_S``; the submission
   folder is only read (Gradescope mounts it read-only);
3. write ``results.json`` again with the integrity note (or a "could not finish" note).

Only this process writes ``results.json`` (atomically, after the sandbox has ended); student code runs
as another user in namespaces where the results folder does not exist. The integrity check never changes
the score: its note is a 0-point test with visibility ``after_published``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from hw4.assignments import DEFAULT, Assignment, get
from hw4.atomic import atomic_write
from hw4.files import NOTEBOOK, SCRIPT
from hw4.model import EMBEDDED, MODEL_CHOICES
from hw4.safe_pickle import AnswerFileError

from .feedback import gradescope_results
from .grade import CannotGrade, Report
from .submission_files import find_submission, visible_files

ROOT = Path(os.environ.get("HW4_AUTOGRADER_ROOT") or "/autograder")
CONFIG_NAME = "gradescope.json"

INTEGRITY_TEST = "Integrity check (staff note)"
INTEGRITY_VISIBILITY = "after_published"
TIME_BUDGET_S = float(os.environ.get("HW4_TIME_BUDGET_S") or 480)
"""Seconds the whole job may take (grading and the integrity re-run): well inside Gradescope's 10 minutes."""
MIN_RERUN_S = 30.0

MISSING = ("No {answers} was submitted: upload the {answers} that runner.ipynb (or `hw4 answers`) "
           "writes, together with {script}.")
UNEXPECTED = ("The autograder hit an unexpected problem ({kind}) and could not grade this submission; "
              "please tell your course staff.")


def _log(message: str) -> None:
    """A staff-only line: Gradescope shows the autograder's stdout to staff, not to students."""
    print(f"[hw4 autograder] {message}", flush=True)


# ------------------------------------------------------------------------------------------- grading


def integrity_test(code: tuple[Path, ...], pickle_path: Path, model_name: str, seconds: float,
                   assignment: str = DEFAULT) -> dict:
    """The staff note (a 0-point test) on whether ``code`` (the .py and/or notebook) reproduces ``pickle_path``."""
    from . import integrity, sandbox

    ok = False
    if assignment != DEFAULT:
        message = f"The integrity check re-runs the homework's code only, so it did not run for {assignment}."
    elif not code:
        message = f"Neither {SCRIPT} nor {NOTEBOOK} was submitted, so the integrity check did not run."
    elif seconds < MIN_RERUN_S:
        message = (f"The integrity check could not finish: only {seconds:.0f} s of the autograder's time "
                   f"were left for the re-run.")
    else:
        try:
            result = integrity.verify(code, pickle_path, model=model_name, time_limit_s=seconds)
            message, ok = result.message, bool(result.ok)
        except sandbox.SandboxUnavailable as err:
            message = f"The integrity check did not run: {err}"
        except Exception as err:  # noqa: BLE001 - a note for staff, never a reason to lose the grade
            _log("the integrity check raised:\n" + traceback.format_exc())
            message = f"The integrity check could not run ({type(err).__name__})."
    _log(f"integrity ({'ok' if ok else 'needs a look'}): {message}")
    return {"name": INTEGRITY_TEST, "score": 0, "max_score": 0, "status": "passed" if ok else "failed",
            "output": message, "visibility": INTEGRITY_VISIBILITY}


def _grade(pickle_path: Path, model_name: str, assignment: str) -> Report:
    from .pipeline import Grader

    return Grader(model_name, diagnose=True, assignment=assignment).grade_file(pickle_path)


def _write(root: Path, results: dict) -> Path:
    """Write ``results.json`` atomically (a reader sees the old file or the new one, never half of one)."""
    results["stdout_visibility"] = "hidden"
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(out, json.dumps(results, indent=2, default=str))


def _results(root: Path, model_name: str, started: float, assignment: Assignment) -> dict:
    submission_dir = root / "submission"
    pickle_path, code = find_submission(submission_dir, assignment)
    if pickle_path is None:
        found = ", ".join(p.relative_to(submission_dir).as_posix() for p in visible_files(submission_dir))
        _log(f"no answers file among: {found or 'nothing'}")
        return gradescope_results(None, MISSING.format(answers=assignment.answers_file, script=assignment.script))
    _log(f"grading {pickle_path.relative_to(submission_dir)} of {assignment.key} with the {model_name} model")
    try:
        report = _grade(pickle_path, model_name, assignment.key)
    except (AnswerFileError, CannotGrade) as err:
        _log(f"not graded: {err}")
        return gradescope_results(None, str(err))
    results = gradescope_results(report)
    _write(root, results)  # the grade stands now, whatever the re-run below does
    _log(f"score {results['score']}; checking integrity")
    left = TIME_BUDGET_S - (time.monotonic() - started)
    results["tests"].append(integrity_test(code, pickle_path, model_name, left, assignment.key))
    return results


def _configured(root: Path, name: str, default: str) -> str:
    """The zip's ``gradescope.json`` entry ``name``, or ``default`` when it has none."""
    try:
        return str(json.loads((Path(root) / "source" / CONFIG_NAME).read_text())[name])
    except (OSError, ValueError, KeyError, TypeError):
        return default


def default_model(root: Path) -> str:
    """``HW4_MODEL``, else the model the zip was built for (``gradescope.json``), else the embedded one."""
    return os.environ.get("HW4_MODEL") or _configured(root, "model_name", EMBEDDED)


def zip_assignment(root: Path) -> str:
    """The assignment the zip was built for (``gradescope.json``), else the homework."""
    return _configured(root, "assignment", DEFAULT)


def run_autograder(root: str | Path = ROOT, model_name: str | None = None) -> dict:
    """Grade ``ROOT/submission`` and write ``ROOT/results/results.json``; returns what it wrote last.

    Every outcome writes a results file: a missing, unreadable or incompatible answers file
    scores 0 with a one-sentence reason, and so does any unexpected error (its type only;
    the traceback goes to stdout, which students do not see).
    """
    started = time.monotonic()
    root = Path(root)
    try:
        model_name = model_name or default_model(root)
        results = _results(root, model_name, started, get(zip_assignment(root)))
    except Exception as err:  # noqa: BLE001 - whatever happens, the student gets a results file
        _log("unexpected error:\n" + traceback.format_exc())
        results = gradescope_results(None, UNEXPECTED.format(kind=type(err).__name__))
    out = _write(root, results)
    _log(f"score {results['score']}; wrote {out}")
    return results


def prepare(model_name: str = EMBEDDED, catalogue: bool | None = None, assignment: str = DEFAULT) -> str:
    """Make sure the references of ``assignment`` (and, by default for the embedded model, its mistake
    catalogue) are cached."""
    from .diagnose import Diagnoser
    from .references import cache_path, cached, load_references, reference_key

    chosen = get(assignment)
    key = reference_key(model_name, assignment=chosen.key)
    hit = cached("references", key) is not None
    load_references(model_name, assignment=chosen.key)
    status = f"references for key {key}: {'found in the cache' if hit else 'built now'} ({cache_path('references', key)})"
    if catalogue if catalogue is not None else model_name == EMBEDDED:
        diagnoser = Diagnoser(key, model_name, assignment=chosen)
        mistakes = diagnoser.catalogue.mistakes
        for entry in mistakes:
            for question in (q for q in chosen.questions if q not in chosen.before(entry.question)):
                diagnoser.answers_of((entry.name,), question)
        status += f"; mistake catalogue ready ({len(mistakes)} entries)"
    return status


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.gradescope_run``: grade (what ``run_autograder`` calls), or ``--prepare`` the cache."""
    p = argparse.ArgumentParser(prog="python -m autograder.gradescope_run", description=__doc__.splitlines()[0])
    p.add_argument("--root", default=str(ROOT), help="the /autograder folder (default: $HW4_AUTOGRADER_ROOT)")
    p.add_argument("--model", choices=MODEL_CHOICES, help="default: $HW4_MODEL, else the zip's gradescope.json")
    p.add_argument("--prepare", action="store_true", help="fill the reference cache instead of grading")
    args = p.parse_args(argv)
    if args.prepare:
        root = Path(args.root)
        print(prepare(args.model or default_model(root), assignment=zip_assignment(root)))
        return 0
    run_autograder(args.root, args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
