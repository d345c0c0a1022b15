"""``hw4 release``: write the student bundle, everything a student needs and nothing that solves the homework.

The bundle holds the lecture lab and the stub notebook (both always generated afresh from their templates and
``solutions/``, never the working tree's copies, which a TA may have saved solved), ``runner.ipynb``, the runtime
package ``hw4`` (with
the embedded model and the self-check data), the environment files, ``scripts/setup.sh``,
a student README and a ``pyproject.toml`` that packages ``hw4`` only. The ``solutions``
and ``autograder`` packages stay behind, so the bundle can neither show the solutions nor
rebuild the reference answers. Given a repository and/or branch, the notebooks' Colab
badges and setup cells, and the bundle's ``hw4/colab.py`` (``REPOSITORY``/``BRANCH``, the
one setting), point at the student repository instead of this one. A bundle whose
text would hold any of the solutions' expressions is refused before anything is written.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import tomli_w

from hw4 import assignments
from hw4.colab import badge_markdown, with_badge
from hw4.errors import UserError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest's tomli is the same parser
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def _relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


RELEASED = tuple(sorted((a for a in assignments.every() if a.stub.is_relative_to(REPO)), key=lambda a: a.graded))
"""Every assignment kept in this repository, the ungraded ones (the lab) first."""
# Each student notebook is generated from its template and solutions: (stub, template, solutions).
GENERATED = tuple((_relative(a.stub), _relative(a.template), _relative(a.solutions_file)) for a in RELEASED)
STUB = _relative(assignments.HOMEWORK4.stub)
LAB_STUB = _relative(assignments.LECTURE_LAB.stub)
NOTEBOOKS = (*(stub for stub, _, _ in GENERATED), "runner.ipynb")
COPIED = ("environment.yml", "requirements-nodeps.txt", "scripts/setup.sh")
PACKAGE = "hw4"
REQUIRED_IN_PACKAGE = ("__init__.py", "colab.py", "runner.py", "embedded/model.safetensors", "embedded/model_config.json",
                       "lab.py", *(a.self_check_data.relative_to(REPO / PACKAGE).as_posix() for a in RELEASED))
SKIPPED = frozenset({"__pycache__", ".ipynb_checkpoints"})
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".tmp")
STAFF_REQUIREMENTS = ("nbgrader", "tomli-w")
DESCRIPTION = "Homework 4: sampling from Stable Audio Open - student runtime"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
BRANCH_PATTERN = re.compile(r"^[A-Za-z0-9_./-]+$")
GITIGNORE = ".venv/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n"


class ReleaseError(UserError):
    """The bundle cannot be written; the message says why in one sentence."""


# ----------------------------------------------------------------------------------------- settings


def _setting(colab_source: str, name: str) -> str:
    found = re.findall(rf'^{name} = "([^"\n]*)"$', colab_source, flags=re.M)
    if len(found) != 1:
        raise ReleaseError(f'hw4/colab.py must define {name} = "..." exactly once on its own line.')
    return found[0]


def rewrite_colab(colab_source: str, repository: str | None, branch: str | None) -> str:
    """``hw4/colab.py`` with its ``REPOSITORY``/``BRANCH`` lines set to ``repository``/``branch`` (when given)."""
    for name, value in (("REPOSITORY", repository), ("BRANCH", branch)):
        _setting(colab_source, name)
        if value is not None:
            colab_source = re.sub(rf'^{name} = "[^"\n]*"$', lambda _, n=name, v=value: f"{n} = {json.dumps(v)}",
                                  colab_source, flags=re.M)
    return colab_source


def _check_target(repository: str | None, branch: str | None) -> None:
    if repository is not None and not NAME_PATTERN.match(repository):
        raise ReleaseError(f"--repository must look like OWNER/REPO, not {repository!r}.")
    if branch is not None and (not BRANCH_PATTERN.match(branch) or ".." in branch):
        raise ReleaseError(f"--branch {branch!r} is not a plain git branch name.")


# ---------------------------------------------------------------------------------------- notebooks


def _suite_url(repository: str, branch: str) -> str:
    return f"git+https://github.com/{repository}@{branch}"


def rewrite_notebook(notebook: dict, path: str, repository: str | None, branch: str | None,
                     source_repository: str, source_branch: str) -> dict:
    """The notebook ``path`` for students: badges (and the setup cell's pip URL) point at the target repository,
    and code cells carry no outputs."""
    target_repository, target_branch = repository or source_repository, branch or source_branch
    old_url, new_url = _suite_url(source_repository, source_branch), _suite_url(target_repository, target_branch)
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") == "markdown":
            text = with_badge(text, path, target_repository, target_branch)
        elif cell.get("cell_type") == "code":
            text = text.replace(old_url, new_url)
            cell["outputs"], cell["execution_count"] = [], None
        cell["source"] = text.splitlines(keepends=True) if isinstance(source, list) else text
    return notebook


# -------------------------------------------------------------------------------------- pyproject


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def bundle_pyproject(pyproject: dict) -> dict:
    """The bundle's pyproject: the repository's, packaging ``hw4`` only, without the staff-only extras."""
    project = dict(pyproject["project"])
    project["description"] = DESCRIPTION
    project.pop("entry-points", None)  # the staff commands' registration: the bundle has no autograder
    extras = {}
    for name, requirements in project.get("optional-dependencies", {}).items():
        kept = [r for r in requirements if _requirement_name(r) not in STAFF_REQUIREMENTS]
        if kept:
            extras[name] = kept
    project["optional-dependencies"] = extras
    if not extras:
        del project["optional-dependencies"]
    setuptools = {"packages": {"find": {"include": [f"{PACKAGE}*"]}}}
    package_data = pyproject.get("tool", {}).get("setuptools", {}).get("package-data", {})
    if PACKAGE in package_data:
        setuptools["package-data"] = {PACKAGE: list(package_data[PACKAGE])}
    return {"build-system": pyproject["build-system"], "project": project, "tool": {"setuptools": setuptools}}


# ------------------------------------------------------------------------------------------- README


def student_readme(repository: str | None, branch: str | None) -> str:
    """The student README: set up, start with the lab, work in the notebook, make ``homework4.pkl``, submit."""
    lab, stub, runner = (badge_markdown(p, repository, branch) for p in (LAB_STUB, STUB, "runner.ipynb"))
    return f"""# Homework 4: sampling from Stable Audio Open

**Start here:** the lecture lab, {lab} (`notebooks/lab_stub.ipynb`), takes the model apart
piece by piece and has its own self-checks; it is not graded.

Then the homework: {stub}

You write the samplers of a latent diffusion model: the ODE derivative, an Euler sampler,
inpainting masks, inpainting, and style transfer. Everything runs on a CPU with a small embedded
model, so you need neither a GPU nor a Hugging Face account (the real Stable Audio Open is optional).

## Set up

- **Colab:** click a badge above (the lab's first). Each notebook's first cell installs what it needs.
- **Your own machine:** `bash scripts/setup.sh` creates `.venv` and installs everything
  (or, with conda: `conda env create -f environment.yml`, then the two `pip` lines at the top of that file).
  Then `source .venv/bin/activate` and `jupyter lab`.

## Work

1. Run `notebooks/lab_stub.ipynb` from top to bottom, filling in its six small functions.
2. Open `notebooks/homework4_stub.ipynb` and replace every `raise NotImplementedError()` with your code.
3. Run the self-check cell after each question: `check(...)` prints PASS, TODO, or FAIL naming the mistake when
   the course knows it. The self-checks use small cases and judge them as the grader does; the grader uses
   others, so passing them is necessary, not sufficient.

## Make your answers file and submit

Save the notebook and run its last cell (or, in a terminal, `hw4 submit notebooks/homework4_stub.ipynb`).
It converts the notebook to `homework4_stub.py` beside it, runs your functions on every graded case and
writes `homework4.pkl` there too, then prints the full paths of the two files. Only your definitions are
imported: nothing else in the notebook runs. On Colab, download the notebook as `.py`
(File > Download > Download .py) and run `runner.ipynb` ({runner}) after uploading it in the Files sidebar.

Upload **both** files to Gradescope. The grade comes from `homework4.pkl`; the `.py` is re-run to check
that it produces the same answers.
"""


# ------------------------------------------------------------------------------------------- bundle


def _inputs(root: Path) -> None:
    sources = [path for _, *paths in GENERATED for path in paths]
    missing = [p for p in (*NOTEBOOKS, *COPIED, *sources, "pyproject.toml") if not (root / p).is_file()]
    missing += [f"{PACKAGE}/{p}" for p in REQUIRED_IN_PACKAGE if not (root / PACKAGE / p).is_file()]
    if missing:
        raise ReleaseError(f"Cannot write the student bundle: {', '.join(missing)} missing under {root} "
                           f"(run `hw4 build-notebooks` first).")


def _ignore(_folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in SKIPPED or n.endswith(SKIPPED_SUFFIXES) or n.endswith(".egg-info")}


def student_notebook(root: Path, stub: str, template: str, solutions: str) -> dict:
    """The student notebook ``stub`` generated from ``root``'s template and solutions (nbgrader removes them)."""
    import nbformat

    from solutions.build import ROOT, generate_stub, source_notebook

    source = source_notebook(root / template, ROOT / stub, root / solutions)
    return json.loads(nbformat.writes(generate_stub(source)))


def _package_texts(root: Path) -> dict[str, str]:
    texts = {}
    for path in sorted((root / PACKAGE).rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not (set(relative.parts) & SKIPPED) and not path.name.endswith(SKIPPED_SUFFIXES):
            try:
                texts[relative.as_posix()] = path.read_text()
            except UnicodeDecodeError:
                continue
    return texts


def refuse_solution_code(texts: dict[str, str], root: Path) -> None:
    """Raise ``ReleaseError`` when any of ``texts`` (path -> text) holds one of the solutions' expressions."""
    from solutions.build import solution_fragments

    fragments = {f for _, _, solutions in GENERATED for f in solution_fragments(root / solutions)}
    for name, text in texts.items():
        bare = "".join(text.split())
        found = sorted(f for f in fragments if f in bare)
        if found:
            raise ReleaseError(f"Refusing to write the student bundle: {name} holds solution code ({found[0]}); "
                               f"remove it and release again.")


def write_release(output_dir: str | Path, repository: str | None = None, branch: str | None = None,
                  root: str | Path = REPO) -> Path:
    """Write the student bundle into ``output_dir`` (made if needed) from the repository at ``root``.

    Only the bundle's own paths are replaced; anything else in ``output_dir`` (a ``.git``
    folder, say) is left alone. Returns ``output_dir``.
    """
    _check_target(repository, branch)
    root, out = Path(root).resolve(), Path(output_dir).resolve()
    if out == root or root / PACKAGE in (out, *out.parents):
        raise ReleaseError(f"Write the student bundle to a folder of its own, not to {out}.")
    _inputs(root)
    colab_source = (root / PACKAGE / "colab.py").read_text()
    source_repository, source_branch = _setting(colab_source, "REPOSITORY"), _setting(colab_source, "BRANCH")
    pyproject = bundle_pyproject(tomllib.loads((root / "pyproject.toml").read_text()))
    notebooks = {name: json.loads((root / name).read_text()) for name in NOTEBOOKS}
    notebooks.update({stub: student_notebook(root, stub, *sources) for stub, *sources in GENERATED})
    written = {name: json.dumps(rewrite_notebook(nb, name, repository, branch, source_repository, source_branch),
                                indent=1, ensure_ascii=False) + "\n" for name, nb in notebooks.items()}
    refuse_solution_code({**_package_texts(root), **{n: (root / n).read_text() for n in COPIED}, **written}, root)

    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / PACKAGE, ignore_errors=True)
    shutil.copytree(root / PACKAGE, out / PACKAGE, ignore=_ignore)
    (out / PACKAGE / "colab.py").write_text(rewrite_colab(colab_source, repository, branch))
    for name in COPIED:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, out / name)
    for name, text in written.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    (out / "pyproject.toml").write_text(tomli_w.dumps(pyproject))
    (out / "README.md").write_text(student_readme(repository or source_repository, branch or source_branch))
    if not (out / ".gitignore").exists():
        (out / ".gitignore").write_text(GITIGNORE)
    return out
