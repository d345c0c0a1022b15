"""Generate the student notebooks and self-check data from the one copy of the solutions (``hw4 build-notebooks``).

For each assignment (``hw4.assignments``): its template (prose, ``# solution: NAME`` placeholders) + its
solutions file (``solutions/homework4.py``)
  -> nbgrader source notebook (solution cells marked)  -> nbgrader's preprocessors, in-process
  -> its stub (``notebooks/homework4_stub.ipynb``: solutions replaced by ``raise NotImplementedError()``)
  and its self-check data (``hw4/data/selfcheck.pkl``). The solution notebook is written to ``build/`` beside
the stub's folder for course staff; the badges of every notebook, ``runner.ipynb``'s included, are refreshed too.
"""

from __future__ import annotations

import ast
import copy
import re
import textwrap
from pathlib import Path

import nbformat

from hw4 import assignments
from hw4.assignments import HOMEWORK4, Assignment
from hw4.colab import setup_cell_source, with_badge

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


def function_sources(path: Path = HOMEWORK4.solutions_file) -> dict[str, str]:
    """The exact source text of every top-level function in the solutions module, by name."""
    text = path.read_text()
    lines = text.splitlines()
    sources = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            end = node.end_lineno
            while end < len(lines) and lines[end].startswith((" ", "\t")) and lines[end].strip().startswith("#"):
                end += 1  # trailing comments inside the body, e.g. "### END SOLUTION"
            sources[node.name] = "\n".join(lines[start:end])
    return sources


# Complete, so that `jupyter nbconvert --to script` writes a .py (with only "name" it writes a .txt).
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}


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
    nb.metadata["kernelspec"] = nbformat.from_dict({"display_name": "Python 3", "language": "python",
                                                    "name": "python3"})
    return nb


def prepare(nb: nbformat.NotebookNode, path: str) -> nbformat.NotebookNode:
    """Set the Colab badge of notebook ``path`` and make its setup cell work on a bare Colab runtime."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = with_badge(cell.source, path)
        elif cell.source.startswith(SETUP_CELL_PREFIX) or cell.source.startswith("# Setup: on Colab"):
            model = "sao" if "model=\"sao\"" in cell.source or "model='sao'" in cell.source else "embedded"
            cell.source = setup_cell_source(model)
    return clean(nb)


def source_notebook(template: Path = HOMEWORK4.template, stub: Path = HOMEWORK4.stub,
                    solutions: Path = HOMEWORK4.solutions_file) -> nbformat.NotebookNode:
    """The nbgrader source notebook: the template with each placeholder replaced by its solution function."""
    nb = prepare(nbformat.read(template, as_version=4), badge_path(stub))
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


def assignment_source(assignment: Assignment) -> nbformat.NotebookNode:
    """The nbgrader source notebook of ``assignment``, from its template and solutions file."""
    return source_notebook(assignment.template, assignment.stub, assignment.solutions_file)


def selfcheck_answers(assignment: Assignment | None = None) -> dict:
    """The self-check cases answered by the solutions and, under ``catalogue``, by every catalogue combination.

    A combination is stored for a question only where its answers differ from those of its entries that belong
    to that question (or from the solutions'), which is where ``hw4.selfcheck`` looks when it is missing. An
    assignment without catalogued mistakes (the lab) gets an empty ``catalogue``.
    """
    from hw4.answers import generate
    from hw4.catalogue import BY_NAME, combo_key, combos_for

    from . import fresh_solutions
    from .variants import implementation

    assignment = assignment or assignments.get()
    model, _ = assignment.load_model("embedded")
    cases = assignment.self_check_cases
    data = generate(fresh_solutions(assignment.key), model, cases, progress=False).to_dict()
    catalogue: dict[str, dict] = {}
    for question in assignment.questions:
        own = lambda combo, q=question: tuple(n for n in combo if BY_NAME[n].question == q)  # noqa: E731
        # The question's own combinations first: an earlier mistake that changes nothing here falls back to them.
        for combo in sorted(combos_for(question, assignment.before(question)), key=lambda c: own(c) != c):
            found = generate(implementation(combo), model, cases, questions=(question,), progress=False)
            answers = found.questions[question].answers
            fallback = catalogue.get(combo_key(own(combo)), {}).get(question, data["questions"][question]["answers"])
            if not _same_arrays(answers, fallback):
                catalogue.setdefault(combo_key(combo), {})[question] = answers
    data["catalogue"] = catalogue
    return data


def same_cells(a: nbformat.NotebookNode, b: nbformat.NotebookNode) -> bool:
    """Whether two notebooks have the same cells (types and sources) and language metadata."""
    return ([(c.cell_type, c.source) for c in a.cells] == [(c.cell_type, c.source) for c in b.cells]
            and a.metadata.get("language_info") == b.metadata.get("language_info"))


def _same_arrays(a: dict, b: dict) -> bool:
    """Whether two ``{case: array}`` dicts hold the same cases with arrays the grader would call equal."""
    from hw4.compare import compare

    return a.keys() == b.keys() and all(compare(a[k], b[k]).passed for k in a)


def same_answers(a: dict, b: dict) -> bool:
    """Whether two answers dicts (with their ``catalogue`` sections) hold arrays the grader would call equal.

    Within ``hw4.compare``'s tolerance, not bit for bit: the committed data was made on one CPU and is
    checked on others, whose float32 sums differ in the last bits.
    """
    qa, qb = a["questions"], b["questions"]
    ca, cb = a.get("catalogue", {}), b.get("catalogue", {})
    return (qa.keys() == qb.keys() and all(_same_arrays(qa[q]["answers"], qb[q]["answers"]) for q in qa)
            and ca.keys() == cb.keys()
            and all(ca[k].keys() == cb[k].keys() and all(_same_arrays(ca[k][q], cb[k][q]) for q in ca[k]) for k in ca))


def _current(path: Path, answers: dict) -> bool:
    """Whether the data file at ``path`` reads in today's format and holds ``answers``."""
    from hw4.safe_pickle import AnswerFileError, load_answers

    try:
        return same_answers(load_answers(path), answers)
    except AnswerFileError:  # missing, or written in an earlier format
        return False


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def build_all(check: bool = False, chosen: tuple[Assignment, ...] | None = None) -> list[str]:
    """Regenerate every generated file of the ``chosen`` assignments (default: every one, and ``runner.ipynb``);
    with ``check``, write nothing and return the names of stale ones."""
    from hw4.safe_pickle import dump_answers

    chosen = assignments.every() if chosen is None else chosen
    sources = {a.key: assignment_source(a) for a in chosen}
    outputs = {a.stub: generate_stub(sources[a.key]) for a in chosen}
    if chosen == assignments.every():
        outputs[RUNNER] = prepare(nbformat.read(RUNNER, as_version=4), "runner.ipynb")
    stale = [_shown(p) for p, nb in outputs.items()
             if not p.exists() or not same_cells(nbformat.read(p, as_version=4), nb)]
    data = {a.self_check_data: selfcheck_answers(a) for a in chosen}
    data_stale = {path: answers for path, answers in data.items()
                  if not _current(path, answers)}
    stale += [_shown(path) for path in data_stale]
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
