"""The student's last step: ``submit("homework4_stub.ipynb")`` writes the two files to upload.

The notebook's last cell, ``hw4 submit`` and ``hw4 answers`` all end in ``write_answers``:
convert the notebook to ``homework4_stub.py`` (when given the ``.ipynb``; ``convert=False``, the integrity
re-run's ``hw4 answers --no-convert``, reads its code cells instead and writes nothing beside it), import the
submission (definitions only, with the names the notebook's setup defines provided),
generate answers for every graded case on the CPU, save them with the safe pickle writer,
and print what happened per question and the full paths of the two files to upload.
"""

from __future__ import annotations

import builtins
import dataclasses
import dis
import re
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING

from .answers import generate
from .answers_file import Answers
from .assignments import Assignment, find, for_file, get
from .model import EMBEDDED
from .safe_pickle import dump_answers
from .source import short_error
from .submission import ImportReport, SubmissionError, import_submission, summary

if TYPE_CHECKING:
    from .model import AudioModel

SEARCH_DIRS = (".", "notebooks")


def find_submission(submission: str | Path, assignment: Assignment | None = None) -> Path:
    """The submission path as given, or found under ``notebooks/``; the .ipynb when the .py is missing."""
    path = Path(submission)
    candidates = [path] if path.is_absolute() else [Path(d) / path for d in SEARCH_DIRS]
    if path.suffix == ".py":
        candidates += [c.with_suffix(".ipynb") for c in candidates]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    assignment = assignment or get()
    raise SubmissionError(f"Could not find {submission} in {Path.cwd()} or its notebooks/ folder: pass the path of "
                          f"your {assignment.notebook} (or of the {assignment.script} made from it).")


def convert_notebook(notebook: Path) -> Path:
    """Write ``notebook`` as a Python script next to it (what ``jupyter nbconvert --to script`` writes); its path."""
    import nbformat
    from nbconvert import PythonExporter

    script, _ = PythonExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    target = notebook.with_suffix(".py")
    target.write_text(script, encoding="utf-8")
    return target


def provided_globals(model: AudioModel, model_config: dict, model_name: str) -> dict:
    """The names the notebook's setup defines, which a submission's functions may use as globals."""
    return {"model": model, "model_config": model_config, "SAMPLE_RATE": model.sample_rate, "MODEL": model_name,
            "device": "cpu"}


def _global_reads(code: types.CodeType) -> set[str]:
    """The global names a function's code (and the code nested in it) reads."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_reads(const)
    return names


def undefined_names(module: types.ModuleType) -> set[str]:
    """Global names that the submission's own functions (and methods) read but that its import left undefined."""
    codes = []
    for value in vars(module).values():
        if getattr(value, "__module__", None) != module.__name__:
            continue
        members = vars(value).values() if isinstance(value, type) else (value,)
        codes += [m.__code__ for m in members if isinstance(m, types.FunctionType)]
    reads = set().union(*map(_global_reads, codes))
    return {name for name in reads if name not in vars(module) and not hasattr(builtins, name)}


def defines(statement: str, name: str) -> bool:
    """True when a skipped statement (as the import report shows it) assigns or defines ``name``."""
    return re.search(rf"(?<![\w.]){name}\b[^=()]*(?<![=!<>])=(?!=)|\b(?:def|class)\s+{name}\b", statement) is not None


def skipped_that_matter(report: ImportReport) -> list[str]:
    """The skipped statements that define a name the submission's functions use, or that failed while defining."""
    missing = undefined_names(report.module)
    return [line for line in report.skipped
            if "(failed while defining it:" in line or any(defines(line, name) for name in missing)]


def import_summary(report: ImportReport) -> str:
    """What the import kept; the skipped statements only where one leaves a name the functions use undefined."""
    lines = [summary(dataclasses.replace(report, skipped=[]))]
    matter = skipped_that_matter(report)
    if matter:
        lines.append(f"{len(matter)} skipped top-level statement(s) define something your functions use or failed, "
                     f"so those names are undefined when graded: compute them inside the functions.")
        lines += [f"  {line}" for line in matter]
    if len(report.skipped) > len(matter):
        lines.append(f"{len(report.skipped) - len(matter)} statements skipped (plots, checks, model loading): expected")
    return "\n".join(lines)


def explain_skipped_names(answers: Answers, skipped: list[str]) -> None:
    """Add a hint to ``NameError``s about top-level names the importer skipped (e.g. ``RATE = rate_of(model)``)."""
    for entry in answers.questions.values():
        for case, error in entry.errors.items():
            match = re.match(r"NameError: name '(\w+)' is not defined", error) if isinstance(error, str) else None
            if match and any(defines(line, match.group(1)) for line in skipped):
                entry.errors[case] = (f"{error} - the top-level line that sets {match.group(1)} loads or runs "
                                         f"something, so the runner skipped it: compute it inside the function")


_MISTAKE = re.compile(r"Likely mistake \(([^)]+)\)")


def self_check_verdicts(module: types.ModuleType, assignment: Assignment | None = None,
                        answers: Answers | None = None) -> dict[str, str]:
    """Each question's ``check()`` verdict in a word: PASS, FAIL (with the catalogued mistake) or TODO.

    It is ``hw4.selfcheck.run_checks`` on the submission's functions (its small cases, the embedded model, the
    shipped expected answers): about a second, against the graded answers' minutes, and the only judgement a
    student's machine can make, since the graded cases' references stay with the course staff. A question whose
    graded cases are judged on their own answers (the DDPM's sample quality) is judged on ``answers``, the graded
    ones just computed, by the grader's own judgement (``hw4.selfcheck.graded_judgement``), as its notebook cell is.
    """
    from .judge import judged_alone
    from .selfcheck import graded_judgement, run_checks

    questions = (assignment or get()).questions
    functions = {key: getattr(module, q.function, None) for key, q in questions.items()}
    found = {key: fn for key, fn in functions.items() if callable(fn) and getattr(fn, "__name__", None)
             == questions[key].function}
    verdicts = dict.fromkeys(questions, "TODO")
    if found:
        for key, (message, _) in zip(found, run_checks(*found.values())):
            word = message.split(maxsplit=1)[0]
            mistake = _MISTAKE.search(message)
            verdicts[key] = f"{word} ({mistake.group(1)})" if word == "FAIL" and mistake else word
    for key, q in questions.items():
        entry = answers.questions.get(key) if answers is not None else None
        if entry is not None and entry.answers and all(judged_alone(key, c.name) for c in q.graded):
            judgement = graded_judgement(key, entry.answers)
            verdicts[key] = "PASS" if judgement.passed == len(judgement.cases) else f"FAIL ({judgement.head})"
    return verdicts


def results_summary(answers: Answers, verdicts: dict[str, str] | None = None) -> str:
    """One line per question: how many cases produced an answer, the self-check verdict, and the first error if any."""
    lines = []
    for question, entry in answers.questions.items():
        total = len(entry.answers) + len(entry.errors)
        line = f"{find(question).title}: {len(entry.answers)}/{total} cases answered"
        if verdicts is not None:
            line += f", self-check {verdicts.get(question, 'TODO')}"
        if entry.errors:
            line += f" - {next(iter(entry.errors.values()))}"
        lines.append(line)
    return "\n".join(lines)


def write_answers(
    submission: str | Path | None = None,
    output: str | Path | None = "",
    model: str = EMBEDDED,
    time_limit_s: float | None = None,
    progress: bool = True,
    quiet: bool = False,
    convert: bool = True,
    assignment: str | None = None,
) -> Answers:
    """Import ``submission`` (default: the assignment's ``.py``), answer every graded case of ``assignment``
    (default: the one ``submission`` is named after, else the homework) with ``model``, and write ``output`` (default: its answers file, here).

    A notebook (given, or found where its ``.py`` was asked for) is first converted to the ``.py`` beside it,
    the file to upload; with ``convert=False`` its code cells are read as they are and only ``output`` is
    written (the integrity re-run, whose input folder is read-only). ``output=None`` writes the answers file
    (``homework4.pkl``) beside the submission. ``time_limit_s`` fixes
    the limit of each case; by default it is derived from the reference solution's own time on this machine and
    model (``hw4.answers.case_time_limit``).
    """
    chosen = for_file(submission, assignment)
    path = find_submission(submission or chosen.script, chosen)
    if path.suffix == ".ipynb" and convert:
        path = convert_notebook(path)
        if not quiet:
            print(f"Converted the notebook to {path}.")
    output = path.with_name(chosen.answers_file) if output is None else Path(output or chosen.answers_file)
    loaded, config = chosen.load_model(model)
    report = import_submission(path, extra_globals=chosen.provided_globals(loaded, config, model))
    if not quiet:
        print(import_summary(report))
    functions = chosen.functions
    if not any(callable(getattr(report.module, name, None)) for name in functions):
        print(f"Warning: {path.name} defines none of the assignment's functions ({', '.join(functions)}): "
              f"is it the converted notebook? Every case will fail.", file=sys.stderr)
    answers = generate(report.module, loaded, chosen.graded_cases, time_limit_s=time_limit_s, progress=progress)
    explain_skipped_names(answers, report.skipped)
    dump_answers(answers.to_dict(), output)
    if not quiet:
        try:
            verdicts = self_check_verdicts(report.module, chosen, answers)
        except Exception as err:  # the files are written: a self-check that cannot run must not hide them
            verdicts = None
            print(f"The self-check could not run here ({short_error(err)}); your files are written all the same.")
        print(results_summary(answers, verdicts))
        if verdicts is not None:
            print("Self-check: the notebook's check() on its small cases; a FAIL names the mistake it recognises.")
        print(f"Upload these two files to Gradescope:\n  {output.resolve()}\n  {path}")
    return answers


def submit(notebook: str | Path | None = None, model: str = EMBEDDED, progress: bool = True,
           assignment: str | None = None) -> None:
    """The notebook's last cell: convert the notebook (default: the assignment's) and write its answers file
    (``homework4.pkl``) beside it, one sentence on failure.

    It returns nothing, so that the cell shows only the two paths to upload, not the answers.
    """
    from .safe_pickle import AnswerFileError

    try:
        write_answers(notebook or get(assignment).notebook, output=None, model=model, progress=progress,
                      assignment=assignment)
    except (SubmissionError, AnswerFileError) as err:
        print(f"Nothing was written: {err}")
