"""The course staff's commands of ``hw4``: grade, grade-all, references, gradescope, release, build-notebooks, demo.

``register(add)`` adds them to ``hw4.cli``'s parser; ``pyproject.toml`` lists it in the ``hw4.commands``
entry-point group, so the installed ``hw4`` command has them (the student bundle does not). ``main()``
(``python -m autograder``) runs the same commands without looking the entry point up.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hw4 import cli
from hw4.atomic import atomic_write
from hw4.errors import UserError
from hw4.files import ANSWERS, SCRIPT


def cmd_grade(args: argparse.Namespace) -> int:
    from . import feedback, integrity, pipeline

    report = pipeline.grade_file(args.pickle, args.model, diagnose=not args.no_diagnose, assignment=args.assignment)
    message = None
    if args.submission:
        _homework_only(args)
        mechanism = "unsandboxed" if args.unsandboxed else None
        message = integrity.verify(args.submission, args.pickle, model=args.model, mechanism=mechanism).message
        report.notes.append(message)
    print(feedback.format_table(report))
    if args.json:
        try:
            atomic_write(args.json, json.dumps(feedback.gradescope_results(report, message), indent=2))
        except OSError as err:
            raise UserError(f"Cannot write {args.json} ({err.strerror or type(err).__name__}).") from None
    return 0


def cmd_references(args: argparse.Namespace) -> int:
    from . import references

    refs = references.load_references(args.model, rebuild=args.rebuild, progress=True, assignment=args.assignment)
    key = references.reference_key(args.model, assignment=args.assignment)
    count = sum(len(q.answers) for q in refs.questions.values())
    print(f"{count} reference answers for {refs.meta.model_id} cached at {references.cache_path('references', key)}")
    return 0


def cmd_grade_all(args: argparse.Namespace) -> int:
    from . import batch

    _homework_only(args)
    print(batch.grade_all(args.directory, args.csv, model_name=args.model, jobs=args.jobs, regrade=args.regrade,
                          integrity=args.integrity))
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    from . import gradescope_zip

    print(f"wrote {gradescope_zip.build_zip(args.output, model_name=args.model, assignment=args.assignment)}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from . import release

    print(f"wrote the student bundle to {release.write_release(args.output, args.repository, args.branch)}")
    return 0


def cmd_build_notebooks(args: argparse.Namespace) -> int:
    from hw4.assignments import get
    from solutions import build

    from . import install_files

    # The install files first: the notebooks' badges and setup cells take the repository from the same settings.
    stale = install_files.build(check=args.check)
    settings = install_files.install_settings(install_files.read_pyproject())
    chosen = None if args.assignment is None else (get(args.assignment),)
    stale += build.build_all(check=args.check, chosen=chosen, repository=settings.repository, branch=settings.branch)
    if args.check and stale:
        raise UserError(f"Generated files are out of date: {', '.join(stale)}; run `hw4 build-notebooks`.")
    print("notebooks, self-check data and install files are up to date" if args.check
          else "built notebooks, self-check data and install files")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from . import demo

    return demo.run(Path(args.workdir), model_name=args.model, assignment=args.assignment)


def _homework_only(args: argparse.Namespace) -> None:
    """Refuse, in one sentence, an assignment other than the homework for a command that serves only it."""
    from hw4.assignments import DEFAULT, get

    chosen = get(args.assignment)
    if chosen.key != DEFAULT:
        raise UserError(f"hw4 {args.command} works on the homework ({DEFAULT}) only, not on {chosen.key}.")


def register(add: cli.AddCommand) -> None:
    """Add the staff commands with ``add(name, fn, help, model=True)``."""
    p = add("grade", cmd_grade, f"Grade one {ANSWERS} and print the table.")
    p.add_argument("pickle")
    p.add_argument("--submission", nargs="+", metavar="CODE",
                   help=f"re-run this {SCRIPT} and/or .ipynb (each, when both) in a sandbox and check it reproduces "
                        f"the pickle; nothing is written beside them")
    p.add_argument("--unsandboxed", action="store_true",
                   help="re-run the submission without the sandbox (only for code you trust)")
    p.add_argument("--json", help="also write Gradescope's results.json here")
    p.add_argument("--no-diagnose", action="store_true", help="skip naming likely mistakes")

    p = add("references", cmd_references, "Build (or find cached) the reference answers.")
    p.add_argument("--rebuild", action="store_true")

    p = add("grade-all", cmd_grade_all, "Grade every submission under a folder and write a CSV.")
    p.add_argument("directory")
    p.add_argument("--csv", default="grades.csv")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--regrade", action="store_true",
                   help="grade everyone again (by default only students missing from the CSV or whose files changed)")
    p.add_argument("--integrity", action="store_true",
                   help=f"also re-run each student's {SCRIPT} and/or notebook in the sandbox and check it "
                        f"reproduces their pickle")

    p = add("gradescope", cmd_gradescope, "Build the Gradescope autograder zip.")
    p.add_argument("output", help="e.g. autograder.zip")

    p = add("release", cmd_release, "Write the student bundle of every assignment (no solutions).", model=False,
            assignment=False)
    p.add_argument("output")
    p.add_argument("--repository", help="OWNER/REPO the Colab badges point at")
    p.add_argument("--branch", help="branch the Colab badges point at")

    p = add("build-notebooks", cmd_build_notebooks, "Regenerate the stub notebooks, self-check data and install files.",
            model=False, assignment=False)
    p.add_argument("--check", action="store_true", help="only report whether they are up to date")
    p.add_argument("--assignment", metavar="KEY", help="only this assignment's (default: every assignment's)")

    p = add("demo", cmd_demo, "Build the solution as a submission, run the runner on it, grade it.")
    p.add_argument("--workdir", default="build/demo")


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder``: the ``hw4`` command with the staff commands, whatever is installed."""
    return cli.main(argv, registers=(register,))
