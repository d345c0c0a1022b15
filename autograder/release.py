"""``hw4 release``: write the student bundle, everything a student needs and nothing that solves the homework.

The bundle holds the lecture lab and the stub notebook (both always generated afresh from their templates and
``solutions/``, never the working tree's copies, which a TA may have saved solved), ``runner.ipynb``, the runtime
package ``hw4`` (with
the embedded model and the self-check data), the environment files, ``scripts/setup.sh``,
a student README and a ``pyproject.toml`` that packages ``hw4`` only. The ``solutions``
and ``autograder`` packages stay behind, so the bundle can neither show the solutions nor
rebuild the reference answers. Given a repository and/or branch, the notebooks' Colab
badges and setup cells (rendered by ``solutions/build.py``, the one way to render a notebook), the README
(``release_files/README.md``) and the bundle's ``hw4/data/install.json`` (its ``repository``/``branch``) point at
the student repository instead of this one. A bundle whose text would hold any of the solutions' expressions is
refused before anything is written.
"""

from __future__ import annotations

import re
import shutil
import string
from pathlib import Path

import tomli_w

from hw4 import assignments
from hw4.colab import badge_markdown
from hw4.errors import UserError
from hw4.install_settings import InstallSettings, read_settings
from hw4.requirements_check import requirement_name

from .install_files import SETTINGS_PATH, read_pyproject

REPO = Path(__file__).resolve().parents[1]


def _relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


RELEASED = tuple(sorted((a for a in assignments.every() if a.stub.is_relative_to(REPO)), key=lambda a: a.graded))
"""Every assignment kept in this repository, the ungraded ones (the lab) first."""
# Each student notebook is generated from its template and solutions: (stub, template, solutions).
GENERATED = tuple((_relative(a.stub), _relative(a.template), _relative(a.solutions_file)) for a in RELEASED)
STUB = _relative(assignments.HOMEWORK4.stub)
LAB_STUB = _relative(assignments.LECTURE_LAB.stub)
DDPM_STUB = _relative(assignments.DDPM_DIGITS.stub)
RUNNER = "runner.ipynb"
NOTEBOOKS = (*(stub for stub, _, _ in GENERATED), RUNNER)  # the lab comes first
COPIED = ("environment.yml", "requirements-nodeps.txt", "scripts/setup.sh")
PACKAGE = "hw4"
REQUIRED_IN_PACKAGE = ("__init__.py", "colab.py", "runner.py", "embedded/model.safetensors", "embedded/model_config.json",
                       "lab.py", "data/install.json",
                       *(a.self_check_data.relative_to(REPO / PACKAGE).as_posix() for a in RELEASED))
README_TEMPLATE = Path(__file__).resolve().parent / "release_files" / "README.md"
SKIPPED = frozenset({"__pycache__", ".ipynb_checkpoints"})
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".tmp")
STAFF_EXTRA = "staff"  # the optional dependencies of the staff commands, which the bundle leaves out
DESCRIPTION = "Homework 4: sampling from Stable Audio Open - student runtime"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
BRANCH_PATTERN = re.compile(r"^[A-Za-z0-9_./-]+$")
GITIGNORE = ".venv/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n"


class ReleaseError(UserError):
    """The bundle cannot be written; the message says why in one sentence."""


# ------------------------------------------------------------------------------------------- target


def _check_target(repository: str | None, branch: str | None) -> None:
    if repository is not None and not NAME_PATTERN.match(repository):
        raise ReleaseError(f"--repository must look like OWNER/REPO, not {repository!r}.")
    if branch is not None and (not BRANCH_PATTERN.match(branch) or ".." in branch):
        raise ReleaseError(f"--branch {branch!r} is not a plain git branch name.")


# ---------------------------------------------------------------------------------------- notebooks


def student_notebook(root: Path, stub: str, template: str, solutions: str, settings: InstallSettings) -> str:
    """The student notebook ``stub`` generated from ``root``'s template and solutions (nbgrader removes them),
    its badges and setup cell pointing at ``settings``' repository, as ``nbformat`` writes it."""
    import nbformat

    from solutions.build import ROOT, generate_stub, source_notebook

    source = source_notebook(root / template, ROOT / stub, root / solutions, settings.repository, settings.branch)
    return nbformat.writes(generate_stub(source)) + "\n"


def runner_notebook(root: Path, settings: InstallSettings) -> str:
    """``root``'s runner notebook for students: badges and setup cell pointing at ``settings``' repository,
    no outputs."""
    import nbformat

    from solutions.build import prepare

    notebook = prepare(nbformat.read(root / RUNNER, as_version=4), RUNNER, settings.repository, settings.branch)
    return nbformat.writes(notebook) + "\n"


# -------------------------------------------------------------------------------------- pyproject


def bundle_pyproject(pyproject: dict) -> dict:
    """The bundle's pyproject: the repository's, packaging ``hw4`` only, without the staff-only requirements
    (those of the ``staff`` extra, wherever listed) and without ``[tool.hw4]`` (``hw4/data/install.json`` holds it)."""
    project = dict(pyproject["project"])
    project["description"] = DESCRIPTION
    project.pop("entry-points", None)  # the staff commands' registration: the bundle has no autograder
    staff = {requirement_name(r) for r in project.get("optional-dependencies", {}).get(STAFF_EXTRA, [])}
    extras = {}
    for name, requirements in project.get("optional-dependencies", {}).items():
        kept = [r for r in requirements if requirement_name(r) not in staff]
        if kept:
            extras[name] = kept
    project["optional-dependencies"] = extras
    if not extras:
        del project["optional-dependencies"]
    setuptools: dict[str, object] = {"packages": {"find": {"include": [f"{PACKAGE}*"]}}}
    package_data = pyproject.get("tool", {}).get("setuptools", {}).get("package-data", {})
    if PACKAGE in package_data:
        setuptools["package-data"] = {PACKAGE: list(package_data[PACKAGE])}
    return {"build-system": pyproject["build-system"], "project": project, "tool": {"setuptools": setuptools}}


# ------------------------------------------------------------------------------------------- README


def student_readme(repository: str | None, branch: str | None) -> str:
    """The student README (``release_files/README.md``) with the badges of the lab, the homework, the DDPM
    assignment and the runner."""
    lab, homework, ddpm, runner = (badge_markdown(p, repository, branch) for p in (LAB_STUB, STUB, DDPM_STUB, RUNNER))
    return string.Template(README_TEMPLATE.read_text()).substitute(LAB_BADGE=lab, HOMEWORK_BADGE=homework,
                                                                   DDPM_BADGE=ddpm, RUNNER_BADGE=runner)


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
    settings = read_settings(root / SETTINGS_PATH).retargeted(repository, branch)
    pyproject = bundle_pyproject(read_pyproject(root))
    written = {stub: student_notebook(root, stub, template, solutions, settings)
               for stub, template, solutions in GENERATED}
    written[RUNNER] = runner_notebook(root, settings)
    refuse_solution_code({**_package_texts(root), **{n: (root / n).read_text() for n in COPIED}, **written}, root)

    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / PACKAGE, ignore_errors=True)
    shutil.copytree(root / PACKAGE, out / PACKAGE, ignore=_ignore)
    (out / SETTINGS_PATH).write_text(settings.to_json())
    for name in COPIED:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, out / name)
    for name in NOTEBOOKS:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(written[name])
    (out / "pyproject.toml").write_text(tomli_w.dumps(pyproject))
    (out / "README.md").write_text(student_readme(settings.repository, settings.branch))
    if not (out / ".gitignore").exists():
        (out / ".gitignore").write_text(GITIGNORE)
    return out
