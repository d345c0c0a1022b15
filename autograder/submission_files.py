"""Where a student's files are in a submission folder: ``find_submission(folder) -> (answers, code)``.

``code`` holds the student's ``.py`` and notebook, each when present: the ``.py`` is ``homework4_stub.py``
(any case) or the folder's only ``.py``; the notebook is the one named like that ``.py`` or
``homework4_stub.ipynb`` (any case), or, when no ``.py`` was sent, the folder's only ``.ipynb``. A notebook
beside a ``.py`` of another name (``runner.ipynb``, say) is not the student's code. Used by Gradescope's ``run_autograder`` (the ``submission`` folder) and by ``grade-all`` (a student's folder
of a class export), so both find the same files by the same rules.
"""

from __future__ import annotations

from pathlib import Path

from hw4.assignments import Assignment, get


def hidden(relative: Path) -> bool:
    """Whether a path (relative to a submission folder) is hidden or macOS zip debris (``__MACOSX``, ``._x``)."""
    return any(part.startswith(".") or part == "__MACOSX" for part in relative.parts)


def visible_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, skipping hidden files and macOS zip debris (``__MACOSX``, ``._x``)."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.rglob("*"):
        if hidden(path.relative_to(folder)) or not path.is_file():
            continue
        found.append(path)
    return sorted(found, key=lambda p: (len(p.relative_to(folder).parts), str(p)))


def _pick(files: list[Path], name: str, suffixes: tuple[str, ...]) -> Path | None:
    """The file called ``name`` (shallowest first), else one whose name matches ignoring case, else the only
    file with one of ``suffixes``; None when there is none or it is ambiguous."""
    for match in (lambda p: p.name == name, lambda p: p.name.lower() == name.lower()):
        hits = [p for p in files if match(p)]
        if hits:
            return hits[0]
    for suffix in suffixes:
        hits = [p for p in files if p.suffix.lower() == suffix]
        if len(hits) == 1:
            return hits[0]
        if hits:
            return None
    return None


def why_no_answers(submission_dir: Path, assignment: Assignment | None = None) -> str:
    """Why ``find_submission`` found no answers file in ``submission_dir``, in words (a grades file's message)."""
    answers = (assignment or get()).answers_file
    others = [p for p in visible_files(submission_dir) if p.suffix.lower() == ".pkl"]
    if len(others) < 2:
        return f"no {answers} found"
    names = ", ".join(p.relative_to(submission_dir).as_posix() for p in others[:5]) + (", ..." if len(others) > 5 else "")
    return f"no {answers} found, and {len(others)} other .pkl files ({names}): rename the one to grade to {answers}"


def _notebook_beside(files: list[Path], script: Path | None, notebook: str) -> Path | None:
    """The notebook that goes with ``script`` (see the module's docstring), or the only one when none was sent."""
    if script is None:
        return _pick(files, notebook, (".ipynb",))
    names = {notebook.lower(), script.with_suffix(".ipynb").name.lower()}
    return next((p for p in files if p.name.lower() in names and p.suffix.lower() == ".ipynb"), None)


def find_submission(submission_dir: Path, assignment: Assignment | None = None) -> tuple[Path | None, tuple[Path, ...]]:
    """``(answers_pickle or None, code)`` found under ``submission_dir`` by ``assignment``'s file names (default:
    the homework's): ``code`` is the ``.py`` then the notebook, each when present (empty when neither was sent)."""
    assignment = assignment or get()
    files = visible_files(submission_dir)
    script = _pick(files, assignment.script, (".py",))
    notebook = _notebook_beside(files, script, assignment.notebook)
    return _pick(files, assignment.answers_file, (".pkl",)), tuple(p for p in (script, notebook) if p is not None)
