"""``build_zip(output)``: the Gradescope autograder zip (``hw4 gradescope``); ``gradescope_run`` runs inside it.

The zip's root becomes ``/autograder/source``: ``setup.sh`` and ``run_autograder`` from
``gradescope_files/``, the suite's source, ``constraints.txt``
(the library versions the references were computed with), ``gradescope.json`` (assignment, model and
reference key) and the cached references under ``cache/<key>/``. Each graded assignment gets its own zip.
"""

from __future__ import annotations

import json
import string
import zipfile
from collections.abc import Iterable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from hw4.assignments import DEFAULT, get
from hw4.atomic import atomic_open
from hw4.errors import MissingFile, UserError
from hw4.install_settings import SETTINGS
from hw4.model import EMBEDDED, MODEL_CHOICES
from hw4.requirements_check import requirement_name

from .gradescope_run import CONFIG_NAME, _log, prepare

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "gradescope_files"
CACHE_FOLDER = "cache"

# What goes into the zip: these top-level files, and these packages (walked, minus the excluded names).
TOP_FILES = ("pyproject.toml", "requirements-nodeps.txt", "README.md")
PACKAGES = ("hw4", "autograder", "solutions")
EXCLUDED_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis", "build", "dist"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".tmp", ".pkl", ".egg-info", ".zip")
KEPT_DATA = ("hw4/data/",)  # the only place a .pkl is shipped from the source tree (self-check data)
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
EXECUTABLE = 0o100755 << 16
REGULAR = 0o100644 << 16
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def pinned_libraries() -> tuple[str, ...]:
    """The libraries whose installed versions ``constraints.txt`` pins: the torch family setup pins together,
    those the reference key names, and the --no-deps pins."""
    from .references import LIBRARIES

    torch = [requirement_name(pin) for pin in SETTINGS.torch]
    return tuple(dict.fromkeys([*torch, *LIBRARIES, *map(requirement_name, SETTINGS.no_deps)]))


def _library_pins() -> list[str]:
    pins = []
    for name in pinned_libraries():
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def _template(name: str, **values: str) -> str:
    """``gradescope_files/name`` with its ``${KEY}`` placeholders filled (a missing one raises ``KeyError``)."""
    return string.Template((TEMPLATES / name).read_text()).substitute(values)


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
            raise MissingFile(f"{path} is missing; the autograder zip needs it.")
        yield name, path
    for package in PACKAGES:
        folder = repo / package
        if not (folder / "__init__.py").is_file():
            raise MissingFile(f"{folder} is not a package; the autograder zip needs it.")
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(repo)
            if path.is_file() and not _excluded(relative):
                yield relative.as_posix(), path


def _cache_files(model_name: str, assignment: str) -> tuple[str, list[tuple[str, Path]]]:
    from .references import cache_dir, load_references, reference_key

    load_references(model_name, progress=True, assignment=assignment)
    key = reference_key(model_name, assignment=assignment)
    folder = cache_dir() / key
    files = [(f"{CACHE_FOLDER}/{key}/{p.name}", p) for p in sorted([*folder.glob("*.pkl"), *folder.glob("*.pkl.sha256")])]
    if not any(name.endswith("/references.pkl") for name, _ in files):
        raise MissingFile(f"No references.pkl in {folder} after building the references.")
    return key, files


def _write(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.external_attr = EXECUTABLE if executable else REGULAR
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_zip(output: str | Path, model_name: str = EMBEDDED, catalogue: bool = False,
              assignment: str = DEFAULT) -> Path:
    """Write the Gradescope autograder zip of ``assignment`` (default: the homework) to ``output``; its path.

    The zip's root becomes ``/autograder/source``: ``setup.sh`` and ``run_autograder``
    (executable), the suite's source, ``constraints.txt`` (the library versions the
    references were computed with), ``gradescope.json`` (assignment, model and reference key) and
    ``cache/<key>/`` (the references, plus any cached mistake-catalogue answers; with
    ``catalogue=True`` the whole catalogue is computed first).
    """
    if model_name not in MODEL_CHOICES:
        raise ValueError(f"Unknown model {model_name!r}; choose one of {', '.join(MODEL_CHOICES)}.")
    chosen = get(assignment)
    if not chosen.graded:
        raise UserError(f"{chosen.title} ({chosen.key}) is not graded, so it has no Gradescope autograder.")
    output = Path(output)
    if catalogue:
        _log(prepare(model_name, catalogue=True, assignment=chosen.key))
    key, cache = _cache_files(model_name, chosen.key)
    pins = _library_pins()
    torch_pin = next((p for p in pins if p.startswith("torch==")), "")
    config = {"assignment": chosen.key, "model_name": model_name, "reference_key": key, "libraries": pins}
    generated: list[tuple[str, str, bool]] = [
        ("setup.sh", _template("setup.sh", TORCH_INDEX=f"--index-url {CPU_INDEX} " if "+cpu" in torch_pin else "",
                               TORCH=" ".join(requirement_name(pin) for pin in SETTINGS.torch),
                               OFFLINE="1" if model_name == EMBEDDED else "0"), True),
        ("run_autograder", _template("run_autograder", MODEL=model_name), True),
        ("constraints.txt", "# Library versions the cached references were computed with (hw4 gradescope).\n"
                            + "".join(f"{p}\n" for p in pins), False),
        (CONFIG_NAME, json.dumps(config, indent=2) + "\n", False),
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    names: set[str] = set()
    with atomic_open(output, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
        for name, text, executable in generated:
            names.add(name)
            _write(archive, name, text.encode(), executable)
        entries: Iterable[tuple[str, Path]] = [*source_files(), *cache]
        for name, path in entries:
            if name not in names:
                names.add(name)
                _write(archive, name, path.read_bytes())
    return output
