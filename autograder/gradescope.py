"""Gradescope: ``build_zip`` writes the autograder zip; ``run_autograder`` grades one submission inside it.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once to build
the image, then ``/autograder/run_autograder`` (a copy of the zip's ``run_autograder``)
for every submission, with the student's files in ``/autograder/submission``. That
script calls ``python -m autograder.gradescope``, which lands in ``run_autograder``
below: find ``homework4.pkl`` -> grade it (diagnosis on) -> re-run the student's
``homework4_stub.py`` for the integrity check, if there is one -> write
``/autograder/results/results.json``. A results file is written whatever happens.

The integrity check never changes the score. Its message is a staff note: a 0-point
test with visibility ``after_published`` (``INTEGRITY_VISIBILITY``), so staff see it at
once and students only once grades are published; it is printed to stdout as well,
which Gradescope shows to staff only. It runs *after* grading, so nothing the
student's code does can touch the grade.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
import traceback
import zipfile
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from hw4.model import EMBEDDED, MODEL_CHOICES
from hw4.safe_pickle import DEFAULT_NAME, AnswerFileError

from .grade import CannotGrade, Report, gradescope_results

ROOT = Path(os.environ.get("HW4_AUTOGRADER_ROOT") or "/autograder")
REPO = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "gradescope_files"
STUB_NAME = "homework4_stub.py"
CONFIG_NAME = "gradescope.json"
CACHE_FOLDER = "cache"

INTEGRITY_TEST = "Integrity check (staff note)"
INTEGRITY_VISIBILITY = "after_published"

MISSING = (f"No {DEFAULT_NAME} was submitted: upload the {DEFAULT_NAME} that runner.ipynb (or `hw4 answers`) "
           f"writes, together with {STUB_NAME}.")
UNEXPECTED = ("The autograder hit an unexpected problem ({kind}) and could not grade this submission; "
              "please tell your course staff.")

# What goes into the zip: these top-level files, and these packages (walked, minus the excluded names).
TOP_FILES = ("pyproject.toml", "requirements-nodeps.txt", "README.md")
PACKAGES = ("hw4", "autograder", "solutions")
EXCLUDED_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis", "build", "dist"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".tmp", ".pkl", ".egg-info", ".zip")
KEPT_DATA = ("hw4/data/",)  # the only place a .pkl is shipped from the source tree (self-check data)
PINNED = ("torch", "torchvision", "torchaudio", "numpy", "stable-audio-tools", "k-diffusion")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
EXECUTABLE = 0o100755 << 16
REGULAR = 0o100644 << 16
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _log(message: str) -> None:
    """A staff-only line: Gradescope shows the autograder's stdout to staff, not to students."""
    print(f"[hw4 autograder] {message}", flush=True)


# ------------------------------------------------------------------------------------------- grading


def _visible_files(folder: Path) -> list[Path]:
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
    files = _visible_files(submission_dir)
    return _pick(files, DEFAULT_NAME, (".pkl",)), _pick(files, STUB_NAME, (".py", ".ipynb"))


def _verifier() -> Callable | None:
    """``autograder.integrity.verify`` when that module exists, else None."""
    try:
        module = importlib.import_module(f"{__package__ or 'autograder'}.integrity")
    except ModuleNotFoundError as err:
        if err.name and err.name.endswith("integrity"):
            return None
        raise
    return getattr(module, "verify", None)


def integrity_test(code: Path | None, pickle_path: Path, model_name: str) -> dict:
    """The staff note (a 0-point test) on whether ``code`` reproduces ``pickle_path``; ``code`` None: none sent."""
    if code is None:
        message, ok = f"No {STUB_NAME} was submitted, so the integrity check did not run.", False
    else:
        verify = _verifier()
        if verify is None:
            message, ok = "The integrity check is not available in this autograder build.", False
        else:
            try:
                result = verify(code, pickle_path, model=model_name)
                message, ok = str(result.message), bool(result.ok)
            except Exception as err:  # noqa: BLE001 - a note for staff, never a reason to lose the grade
                _log("the integrity check raised:\n" + traceback.format_exc())
                message, ok = f"The integrity check could not run ({type(err).__name__}).", False
    _log(f"integrity ({'ok' if ok else 'needs a look'}): {message}")
    return {"name": INTEGRITY_TEST, "score": 0, "max_score": 0, "status": "passed" if ok else "failed",
            "output": message, "visibility": INTEGRITY_VISIBILITY}


def _grade(pickle_path: Path, model_name: str) -> Report:
    from .pipeline import Grader

    return Grader(model_name, diagnose=True).grade_file(pickle_path)


def _results(submission_dir: Path, model_name: str) -> dict:
    pickle_path, code = find_submission(submission_dir)
    if pickle_path is None:
        found = ", ".join(p.relative_to(submission_dir).as_posix() for p in _visible_files(submission_dir))
        _log(f"no answers file among: {found or 'nothing'}")
        return gradescope_results(None, MISSING)
    _log(f"grading {pickle_path.relative_to(submission_dir)} with the {model_name} model")
    try:
        report = _grade(pickle_path, model_name)
    except (AnswerFileError, CannotGrade) as err:
        _log(f"not graded: {err}")
        return gradescope_results(None, str(err))
    results = gradescope_results(report)
    results["tests"].append(integrity_test(code, pickle_path, model_name))
    return results


def default_model(root: Path) -> str:
    """``HW4_MODEL``, else the model the zip was built for (``gradescope.json``), else the embedded one."""
    chosen = os.environ.get("HW4_MODEL")
    if not chosen:
        try:
            chosen = json.loads((Path(root) / "source" / CONFIG_NAME).read_text())["model_name"]
        except (OSError, ValueError, KeyError, TypeError):
            chosen = EMBEDDED
    return chosen


def run_autograder(root: str | Path = ROOT, model_name: str | None = None) -> dict:
    """Grade ``ROOT/submission`` and write ``ROOT/results/results.json``; returns what it wrote.

    Every outcome writes a results file: a missing, unreadable or incompatible answers file
    scores 0 with a one-sentence reason, and so does any unexpected error (its type only;
    the traceback goes to stdout, which students do not see).
    """
    root = Path(root)
    try:
        model_name = model_name or default_model(root)
        results = _results(root / "submission", model_name)
    except Exception as err:  # noqa: BLE001 - whatever happens, the student gets a results file
        _log("unexpected error:\n" + traceback.format_exc())
        results = gradescope_results(None, UNEXPECTED.format(kind=type(err).__name__))
    results["stdout_visibility"] = "hidden"
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    _log(f"score {results['score']}; wrote {out}")
    return results


def prepare(model_name: str = EMBEDDED, catalogue: bool | None = None) -> str:
    """Make sure the references (and, by default for the embedded model, the mistake catalogue) are cached."""
    from hw4 import cases as C

    from .diagnose import Diagnoser
    from .mistakes import MISTAKES
    from .references import cache_path, cached, load_references, reference_key

    key = reference_key(model_name)
    hit = cached("references", key) is not None
    load_references(model_name)
    status = f"references for key {key}: {'found in the cache' if hit else 'built now'} ({cache_path('references', key)})"
    if catalogue if catalogue is not None else model_name == EMBEDDED:
        diagnoser = Diagnoser(key, model_name)
        for entry in MISTAKES:
            for question in C.QUESTIONS[C.QUESTIONS.index(entry.question):]:
                diagnoser.answers_of(entry, question)
        status += f"; mistake catalogue ready ({len(MISTAKES)} entries)"
    return status


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.gradescope``: grade (what ``run_autograder`` calls), or ``--prepare`` the cache."""
    p = argparse.ArgumentParser(prog="python -m autograder.gradescope", description=__doc__.splitlines()[0])
    p.add_argument("--root", default=str(ROOT), help="the /autograder folder (default: $HW4_AUTOGRADER_ROOT)")
    p.add_argument("--model", choices=MODEL_CHOICES, help="default: $HW4_MODEL, else the zip's gradescope.json")
    p.add_argument("--prepare", action="store_true", help="fill the reference cache instead of grading")
    args = p.parse_args(argv)
    if args.prepare:
        print(prepare(args.model or default_model(Path(args.root))))
        return 0
    run_autograder(args.root, args.model)
    return 0


# ------------------------------------------------------------------------------------------- the zip


def _library_pins() -> list[str]:
    pins = []
    for name in PINNED:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def _template(name: str, **values: str) -> str:
    text = (TEMPLATES / name).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise ValueError(f"{TEMPLATES / name}: unfilled placeholders {', '.join(leftover)}")
    return text


def _excluded(relative: Path) -> bool:
    posix = relative.as_posix()
    if any(part.startswith(".") or part in EXCLUDED_DIRS or part.endswith(".egg-info") for part in relative.parts):
        return True
    if posix.endswith(EXCLUDED_SUFFIXES):
        return not (posix.endswith(".pkl") and posix.startswith(KEPT_DATA))
    return False


def source_files(repo: Path = REPO) -> Iterator[tuple[str, Path]]:
    """``(name in the zip, file)`` for the suite's source: top-level files, then the packages."""
    for name in TOP_FILES:
        path = repo / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; the autograder zip needs it.")
        yield name, path
    for package in PACKAGES:
        folder = repo / package
        if not (folder / "__init__.py").is_file():
            raise FileNotFoundError(f"{folder} is not a package; the autograder zip needs it.")
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(repo)
            if path.is_file() and not _excluded(relative):
                yield relative.as_posix(), path


def _cache_files(model_name: str) -> tuple[str, list[tuple[str, Path]]]:
    from .references import cache_dir, load_references, reference_key

    load_references(model_name, progress=True)
    key = reference_key(model_name)
    folder = cache_dir() / key
    files = [(f"{CACHE_FOLDER}/{key}/{p.name}", p) for p in sorted(folder.glob("*.pkl"))]
    if not any(name.endswith("/references.pkl") for name, _ in files):
        raise FileNotFoundError(f"No references.pkl in {folder} after building the references.")
    return key, files


def _write(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.external_attr = EXECUTABLE if executable else REGULAR
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_zip(output: str | Path, model_name: str = EMBEDDED, catalogue: bool = False) -> Path:
    """Write the Gradescope autograder zip to ``output`` and return its path.

    The zip's root becomes ``/autograder/source``: ``setup.sh`` and ``run_autograder``
    (executable), the suite's source, ``constraints.txt`` (the library versions the
    references were computed with), ``gradescope.json`` (model and reference key) and
    ``cache/<key>/`` (the references, plus any cached mistake-catalogue answers; with
    ``catalogue=True`` the whole catalogue is computed first).
    """
    if model_name not in MODEL_CHOICES:
        raise ValueError(f"Unknown model {model_name!r}; choose one of {', '.join(MODEL_CHOICES)}.")
    output = Path(output)
    if catalogue:
        _log(prepare(model_name, catalogue=True))
    key, cache = _cache_files(model_name)
    pins = _library_pins()
    torch_pin = next((p for p in pins if p.startswith("torch==")), "")
    config = {"model_name": model_name, "reference_key": key, "libraries": pins}
    generated: list[tuple[str, str, bool]] = [
        ("setup.sh", _template("setup.sh", TORCH_INDEX=f"--index-url {CPU_INDEX} " if "+cpu" in torch_pin else "",
                               OFFLINE="1" if model_name == EMBEDDED else "0"), True),
        ("run_autograder", _template("run_autograder", MODEL=model_name), True),
        ("constraints.txt", "# Library versions the cached references were computed with (hw4 gradescope).\n"
                            + "".join(f"{p}\n" for p in pins), False),
        (CONFIG_NAME, json.dumps(config, indent=2) + "\n", False),
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    names: set[str] = set()
    with zipfile.ZipFile(tmp, "w") as archive:
        for name, text, executable in generated:
            names.add(name)
            _write(archive, name, text.encode(), executable)
        entries: Iterable[tuple[str, Path]] = [*source_files(), *cache]
        for name, path in entries:
            if name not in names:
                names.add(name)
                _write(archive, name, path.read_bytes())
    tmp.replace(output)
    return output


if __name__ == "__main__":
    sys.exit(main())
