"""Generate the student notebooks and self-check data from the one copy of the solutions (``hw4 build-notebooks``).

For each assignment (``hw4.assignments``): its template (prose, ``# solution: NAME`` placeholders) + its
solutions file (``solutions/homework4.py``)
  -> nbgrader source notebook (solution cells marked)  -> nbgrader's preprocessors, in-process
  -> its stub (``notebooks/homework4_stub.ipynb``: solutions replaced by ``raise NotImplementedError()``),
  the data files its cases read (its record's ``case_data``: the DDPM one's case schedules), then its self-check
  data (``hw4/data/selfcheck.pkl``). The solution notebook is written to ``build/`` beside
the stub's folder for course staff; the badges of every notebook, ``runner.ipynb``'s included, are refreshed too.
"""

from __future__ import annotations

import ast
import copy
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from hw4 import assignments
from hw4.assignments import HOMEWORK4, Assignment
from hw4.atomic import atomic_open
from hw4.colab import setup_cell_model, setup_cell_source, with_badge
from hw4.kernel_metadata import KERNELSPEC, LANGUAGE_INFO

from . import function_sources, mistakes_of

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "runner.ipynb"
PLACEHOLDER = "# solution: "
SETUP_CELL_PREFIX = "from hw4.colab import setup"
CODE_STUB = {"python": "raise NotImplementedError()"}


def solution_notebook(assignment: Assignment) -> Path:
    """Where the staff's solution notebook of ``assignment`` is written: ``build/`` beside its stub's folder."""
    return assignment.stub.parents[1] / "build" / f"{assignment.key}_solution.ipynb"


def badge_path(stub: Path) -> str:
    """The path a notebook's Colab badge opens: relative to the repository, or just its name outside it."""
    return stub.relative_to(ROOT).as_posix() if stub.is_relative_to(ROOT) else stub.name


def solution_fragments(path: Path = HOMEWORK4.solutions_file) -> set[str]:
    """The solutions' expressions a student must not be shown, without spaces.

    Every operator expression inside a solution region (six characters or more), except those the
    student's skeleton shows anyway (e.g. ``len(sigmas) - 1`` in the loops).
    """
    text = path.read_text()
    regions = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", text, re.S)
    skeleton = "".join(re.sub(r"### BEGIN SOLUTION\n.*?### END SOLUTION", "", text, flags=re.S).split())
    fragments = {"SAMPLE_RATE/model.pretransform.downsampling_ratio", "SAMPLE_RATE/downsampling_ratio",
                 "denoised-x", "(x-denoised)/sigma", "*sigmas[i+1]", "sigmas[k:]"}
    for region in regions:
        tree = ast.parse(textwrap.dedent(region))
        fragments |= {"".join(ast.unparse(n).split()) for n in ast.walk(tree) if isinstance(n, ast.BinOp)}
    return {f for f in fragments if len(f) >= 6 and f not in skeleton}


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop outputs and execution counts so committed notebooks stay diff-friendly; set the language metadata."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata["language_info"] = nbformat.from_dict(LANGUAGE_INFO)
    nb.metadata["kernelspec"] = nbformat.from_dict(KERNELSPEC)
    return nb


def prepare(nb: nbformat.NotebookNode, path: str, repository: str | None = None,
            branch: str | None = None) -> nbformat.NotebookNode:
    """Set the Colab badge of notebook ``path`` and make its setup cell work on a bare Colab runtime, both pointing
    at ``repository``/``branch`` (by default this suite's: ``hw4 release`` passes the student repository's)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = with_badge(cell.source, path, repository, branch)
        elif cell.source.startswith(SETUP_CELL_PREFIX) or cell.source.startswith("# Setup: on Colab"):
            cell.source = setup_cell_source(setup_cell_model(cell.source), repository, branch)
    return clean(nb)


def source_notebook(template: Path = HOMEWORK4.template, stub: Path = HOMEWORK4.stub,
                    solutions: Path = HOMEWORK4.solutions_file, repository: str | None = None,
                    branch: str | None = None) -> nbformat.NotebookNode:
    """The nbgrader source notebook: the template with each placeholder replaced by its solution function
    (badges and setup cell as ``prepare`` sets them)."""
    nb = prepare(nbformat.read(template, as_version=4), badge_path(stub), repository, branch)
    sources = function_sources(solutions)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip().startswith(PLACEHOLDER):
            name = cell.source.strip()[len(PLACEHOLDER):].strip()
            if name not in sources:
                raise KeyError(f"{template} asks for solution {name!r}, which {solutions.name} does not define")
            cell.source = sources[name]
            cell.metadata["nbgrader"] = {"grade": False, "grade_id": name, "locked": False, "schema_version": 3,
                                         "solution": True, "task": False}
    return nb


def generate_stub(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of ``source``: the steps of ``nbgrader generate_assignment`` that change it, in-process.

    Solution cells are locked against deletion, their ``### BEGIN SOLUTION`` regions become ``CODE_STUB``, outputs
    are cleared and the solution cells get nbgrader's checksums (the notebooks have no hidden tests or mark schemes).
    """
    from nbconvert.preprocessors import ClearOutputPreprocessor
    from nbgrader.preprocessors import ClearSolutions, ComputeChecksums, LockCells

    nb = copy.deepcopy(source)
    for step in (LockCells(), ClearSolutions(code_stub=CODE_STUB), ClearOutputPreprocessor(), ComputeChecksums()):
        nb, _ = step.preprocess(nb, {})
    return clean(nb)


def assignment_source(assignment: Assignment, repository: str | None = None,
                      branch: str | None = None) -> nbformat.NotebookNode:
    """The nbgrader source notebook of ``assignment``, from its template and solutions file."""
    return source_notebook(assignment.template, assignment.stub, assignment.solutions_file, repository, branch)


def selfcheck_answers(assignment: Assignment | None = None) -> dict:
    """The self-check cases answered by the solutions and, under ``catalogue``, by every catalogue combination.

    ``mistakes`` holds the catalogue's records without their edits (``hw4.catalogue.Catalogue.to_data``).

    A combination is stored for a question only where its answers differ from those of its entries that belong
    to that question (or from the solutions'), which is where ``hw4.selfcheck`` looks when it is missing. An
    assignment without catalogued mistakes (the lab) gets an empty ``catalogue``.
    """
    from hw4.answers import generate
    from hw4.catalogue import Catalogue, combo_key

    from . import fresh_solutions

    assignment = assignment or assignments.get()
    staff = mistakes_of(assignment)
    catalogue_entries = staff.CATALOGUE if staff is not None else Catalogue(())
    model, _ = assignment.load_model("embedded")
    cases = assignment.self_check_cases
    solved = generate(fresh_solutions(assignment.key), model, cases, progress=False)
    catalogue: dict[str, dict] = {}
    for question in assignment.questions:
        own = lambda combo, q=question: tuple(n for n in combo if catalogue_entries.by_name(n).question == q)  # noqa: E731
        # The question's own combinations first: an earlier mistake that changes nothing here falls back to them.
        for combo in sorted(catalogue_entries.combos_for(question, assignment.before(question)),
                            key=lambda c: own(c) != c):
            assert staff is not None  # an empty catalogue has no combinations
            found = generate(staff.implementation(combo), model, cases, questions=(question,), progress=False)
            answers = found.questions[question].answers
            fallback = catalogue.get(combo_key(own(combo)), {}).get(question, solved.questions[question].answers)
            if not _same_arrays(answers, fallback):
                catalogue.setdefault(combo_key(combo), {})[question] = answers
    # mistakes: names, questions and feedback, what check() names a mistake with (none without a catalogue)
    named = {"mistakes": catalogue_entries.to_data()} if staff is not None else {}
    return {**solved.to_dict(), "catalogue": catalogue, **named}


def same_cells(a: nbformat.NotebookNode, b: nbformat.NotebookNode) -> bool:
    """Whether two notebooks have the same cells (types and sources), language and kernel metadata."""
    return ([(c.cell_type, c.source) for c in a.cells] == [(c.cell_type, c.source) for c in b.cells]
            and all(a.metadata.get(k) == b.metadata.get(k) for k in ("language_info", "kernelspec")))


def _same_arrays(a: dict, b: dict) -> bool:
    """Whether two ``{case: array}`` dicts hold the same cases with arrays the grader would call equal."""
    from hw4.judge import agree

    return a.keys() == b.keys() and all(agree(a[k], b[k]) for k in a)


def same_answers(a: dict, b: dict) -> bool:
    """Whether two answers dicts (with their ``catalogue`` sections) hold arrays the grader would call equal.

    Within ``hw4.compare``'s tolerance, not bit for bit: the committed data was made on one CPU and is
    checked on others, whose float32 sums differ in the last bits.
    """
    qa, qb = a["questions"], b["questions"]
    ca, cb = a.get("catalogue", {}), b.get("catalogue", {})
    return (qa.keys() == qb.keys() and all(_same_arrays(qa[q]["answers"], qb[q]["answers"]) for q in qa)
            and a.get("mistakes") == b.get("mistakes") and ca.keys() == cb.keys()
            and all(ca[k].keys() == cb[k].keys() and all(_same_arrays(ca[k][q], cb[k][q]) for q in ca[k]) for k in ca))


def _current(path: Path, answers: dict) -> bool:
    """Whether the data file at ``path`` reads in today's format and holds ``answers``."""
    from hw4.safe_pickle import AnswerFileError, load_answers

    try:
        found = load_answers(path)
        return isinstance(found, dict) and same_answers(found, answers)
    except AnswerFileError:  # missing, or written in an earlier format
        return False


def _current_arrays(path: Path, arrays: Mapping[str, Any]) -> bool:
    """Whether the ``.npz`` at ``path`` holds ``arrays`` (names, and values the grader would call equal)."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as found:
            return _same_arrays({name: found[name] for name in found.files}, dict(arrays))
    except (OSError, ValueError):  # missing or damaged
        return False


def build_case_data(chosen: tuple[Assignment, ...], check: bool = False) -> list[str]:
    """Write the data files the ``chosen`` assignments' cases read (each record's ``case_data``), where they are
    stale; with ``check``, write nothing. Returns the names of the stale ones."""
    import numpy as np

    files = {path: arrays for a in chosen if a.case_data is not None
             for path, arrays in assignments.resolve(a.case_data)().items()}
    stale = {path: arrays for path, arrays in files.items() if not _current_arrays(path, arrays)}
    if not check:
        for path, arrays in stale.items():  # rewritten only when its arrays change, so binaries do not churn in git
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_open(path, "wb") as handle:
                np.savez_compressed(handle, allow_pickle=False, **arrays)
    return [_shown(path) for path in stale]


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def build_all(check: bool = False, chosen: tuple[Assignment, ...] | None = None, repository: str | None = None,
              branch: str | None = None) -> list[str]:
    """Regenerate every generated file of the ``chosen`` assignments (default: every one, and ``runner.ipynb``),
    badges pointing at ``repository``/``branch`` (by default those of ``hw4/data/install.json``); with ``check``,
    write nothing and return the names of stale ones."""
    from hw4.safe_pickle import dump_answers

    chosen = assignments.every() if chosen is None else chosen
    sources = {a.key: assignment_source(a, repository, branch) for a in chosen}
    outputs = {a.stub: generate_stub(sources[a.key]) for a in chosen}
    if chosen == assignments.every():
        outputs[RUNNER] = prepare(nbformat.read(RUNNER, as_version=4), "runner.ipynb", repository, branch)
    stale = [_shown(p) for p, nb in outputs.items()
             if not p.exists() or not same_cells(nbformat.read(p, as_version=4), nb)]
    case_stale = build_case_data(chosen, check)  # first: the self-check cases read these files
    # Checking, with those files stale, the self-check data that reads them cannot be made: it counts as stale.
    blocked = [a for a in chosen if check and case_stale and a.case_data is not None]
    data = {a.self_check_data: selfcheck_answers(a) for a in chosen if a not in blocked}
    data_stale = {path: answers for path, answers in data.items()
                  if not _current(path, answers)}
    stale += case_stale + [_shown(path) for path in data_stale] + [_shown(a.self_check_data) for a in blocked]
    if check:
        return stale
    for path, nb in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
    for path, nb in {solution_notebook(a): sources[a.key] for a in chosen}.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
    for path, answers in data_stale.items():  # rewritten only when its arrays change, so binaries do not churn in git
        path.parent.mkdir(parents=True, exist_ok=True)
        dump_answers(answers, path)
    return stale
