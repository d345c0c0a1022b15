"""Where a student's files are in a submission folder: ``find_submission(folder) -> (answers, code)``.

Used by Gradescope's ``run_autograder`` (the ``submission`` folder) and by ``grade-all`` (a student's folder
of a class export), so both find the same files by the same rules.
"""

from __future__ import annotations

from pathlib import Path

from hw4.files import ANSWERS, SCRIPT


def visible_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, skipping hidden files and macOS zip debris (``__MACOSX``, ``._x``)."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.rglob("*"):
        parts = path.relative_to(folder).parts
        if any(p.startswith(".") or p == "__MACOSX" for p in parts) or not path.is_file():
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


def find_submission(submission_dir: Path) -> tuple[Path | None, Path | None]:
    """``(answers_pickle, code)`` found under ``submission_dir``; either may be None."""
    files = visible_files(submission_dir)
    return _pick(files, ANSWERS, (".pkl",)), _pick(files, SCRIPT, (".py", ".ipynb"))
