"""The ``hw4`` command: ``submit`` and ``answers`` for students; ``grade``, ``grade-all``, ``references``, ``gradescope``,
``release``, ``build-notebooks`` and ``demo`` for course staff.

Every subcommand is a thin wrapper over a Python function of the same job. Errors a
user can fix are printed as one sentence with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import UserError
from .model import EMBEDDED, MODEL_CHOICES

STAFF_ONLY = ("This command is for course staff: it needs the full repository (the autograder and solutions "
              "packages), not the student bundle.")


def _staff(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name and err.name.split(".")[0] in ("autograder", "solutions"):
            raise UserError(STAFF_ONLY) from None
        raise


def cmd_answers(args: argparse.Namespace) -> int:
    from .runner import write_answers

    write_answers(args.submission, args.output, model=args.model, time_limit_s=args.time_limit,
                  progress=not args.quiet, quiet=args.quiet)
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from .runner import write_answers

    write_answers(args.notebook, output=None, model=args.model, progress=not args.quiet)
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    pipeline, grade = _staff("autograder.pipeline"), _staff("autograder.grade")
    report = pipeline.grade_file(args.pickle, args.model, diagnose=not args.no_diagnose)
    message = None
    if args.submission:
        integrity = _staff("autograder.integrity")
        mechanism = "unsandboxed" if args.unsandboxed else None
        message = integrity.verify(args.submission, args.pickle, model=args.model, mechanism=mechanism).message
        report.notes.append(message)
    print(grade.format_table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(grade.gradescope_results(report, message), indent=2))
    return 0


def cmd_references(args: argparse.Namespace) -> int:
    references = _staff("autograder.references")
    refs = references.load_references(args.model, rebuild=args.rebuild, progress=True)
    key = references.reference_key(args.model)
    count = sum(len(q.answers) for q in refs.questions.values())
    print(f"{count} reference answers for {refs['meta']['model_id']} cached at {references.cache_path('references', key)}")
    return 0


def cmd_grade_all(args: argparse.Namespace) -> int:
    batch = _staff("autograder.batch")
    summary = batch.grade_all(args.directory, args.csv, model_name=args.model, jobs=args.jobs, regrade=args.regrade,
                              integrity=args.integrity)
    print(summary)
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    gradescope = _staff("autograder.gradescope_zip")
    print(f"wrote {gradescope.build_zip(args.output, model_name=args.model)}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    release = _staff("autograder.release")
    print(f"wrote the student bundle to {release.write_release(args.output, args.repository, args.branch)}")
    return 0


def cmd_build_notebooks(args: argparse.Namespace) -> int:
    build = _staff("solutions.build")
    stale = build.build_all(check=args.check)
    if args.check and stale:
        raise UserError(f"Generated files are out of date: {', '.join(stale)}; run `hw4 build-notebooks`.")
    print("notebooks and self-check data are up to date" if args.check else "built notebooks and self-check data")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    demo = _staff("autograder.demo")
    return demo.run(Path(args.workdir), model_name=args.model)


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    top = argparse.ArgumentParser(prog="hw4", description="Homework 4: sampling from Stable Audio Open.")
    sub = top.add_subparsers(dest="command", required=True)

    def add(name: str, fn, help: str, model: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(fn=fn)
        if model:
            p.add_argument("--model", choices=MODEL_CHOICES, default=EMBEDDED,
                           help="embedded (offline stand-in, default) or sao (real weights; needs HF_TOKEN)")
        return p

    p = add("answers", cmd_answers, "Write homework4.pkl from a converted notebook (.py) or the .ipynb.")
    p.add_argument("submission", help="homework4_stub.py (from `jupyter nbconvert --to script`) or the .ipynb")
    p.add_argument("-o", "--output", default="homework4.pkl")
    p.add_argument("--time-limit", type=float,
                   help="seconds per case (default: 20 times the reference solution's time here, at least 10)")
    p.add_argument("-q", "--quiet", action="store_true")

    p = add("submit", cmd_submit, "Convert your notebook to .py and write homework4.pkl beside it, in one step.")
    p.add_argument("notebook", nargs="?", default="homework4_stub.ipynb",
                   help="your notebook (default: homework4_stub.ipynb here or in notebooks/)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = add("grade", cmd_grade, "Grade one homework4.pkl and print the table.")
    p.add_argument("pickle")
    p.add_argument("--submission", help="re-run this .py in a sandbox and check it reproduces the pickle")
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
                   help="also re-run each student's code in the sandbox and check it reproduces their pickle")

    p = add("gradescope", cmd_gradescope, "Build the Gradescope autograder zip.")
    p.add_argument("output", help="e.g. autograder.zip")

    p = add("release", cmd_release, "Write the student bundle (no solutions).", model=False)
    p.add_argument("output")
    p.add_argument("--repository", help="OWNER/REPO the Colab badges point at")
    p.add_argument("--branch", help="branch the Colab badges point at")

    p = add("build-notebooks", cmd_build_notebooks, "Regenerate the stub notebook and self-check data.", model=False)
    p.add_argument("--check", action="store_true", help="only report whether they are up to date")

    p = add("demo", cmd_demo, "Build the solution as a submission, run the runner on it, grade it.")
    p.add_argument("--workdir", default="build/demo")
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hw4`` command."""
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except (UserError, FileNotFoundError) as err:  # every fixable error derives from hw4.errors.UserError
        print(f"hw4 {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hw4 {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
