"""Reference answers: ``generate(solutions, model, cases)``, cached on disk under a key of all they depend on.

The key covers every source file whose change can change a reference or a catalogued
mistake's answers (``KEY_SOURCES``: the solution code, the code that builds inputs and
runs cases, the mistake catalogue), the cases, the model's config and weights, and the
library versions; a cache entry under any other key is never used. Reading the cache
needs neither torch nor the model, which keeps grading fast.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from hw4.answers_file import Answers, parse_answers
from hw4.assignments import get
from hw4.atomic import atomic_write
from hw4.cases import CaseSet
from hw4.model import EMBEDDED, model_id
from hw4.safe_pickle import dump_answers, load_answers

if TYPE_CHECKING:
    from hw4.model import AudioModel

LIBRARIES = ("torch", "numpy", "stable-audio-tools", "k-diffusion")
# The sources are hashed, not imported: importing them would pull in torch and slow every grade down.
ROOT = Path(__file__).resolve().parents[1]
KEY_SOURCES = (
    "hw4/answers.py", "hw4/cases.py", "hw4/questions.py", "hw4/assignments.py",  # the cases and how they run
    "hw4/case_inputs.py", "hw4/isolation.py", "hw4/process_state.py", "hw4/student_errors.py",
    "hw4/clips.py", "hw4/sounds.py", "hw4/codec.py", "hw4/sampling.py", "hw4/model.py",  # their inputs (the clips
    # are rendered by sounds.py and encoded by the codec: either's change changes every inpainting's reference)
    "solutions/__init__.py", "hw4/catalogue.py",  # the catalogue (with the assignment's own module), cached under it
)


def cache_dir() -> Path:
    """Where references and mistake answers are cached: ``HW4_CACHE_DIR``, else the user's cache folder for
    ``hw4`` (``~/.cache/hw4`` on Linux)."""
    import platformdirs

    return Path(os.environ.get("HW4_CACHE_DIR") or platformdirs.user_cache_dir("hw4"))


def _library_versions() -> str:
    found = []
    for name in LIBRARIES:
        try:
            found.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            found.append(f"{name}=missing")
    return ",".join(found)


def reference_key(model_name: str = EMBEDDED, cases: CaseSet | None = None, assignment: str | None = None) -> str:
    """A digest of everything the reference answers of ``assignment`` (default: the homework) and its catalogue's
    answers depend on: the one cache key (``cases`` default to its graded ones).

    ``autograder.diagnose`` caches each catalogue combination under it, beside the references.
    """
    chosen = get(assignment)
    cases = chosen.graded_cases if cases is None else cases
    digest = hashlib.sha256()
    own = [chosen.solutions_file] + ([chosen.mistakes] if chosen.mistakes is not None else [])
    sources = [path.read_bytes() for path in own] + [(ROOT / name).read_bytes() for name in KEY_SOURCES]
    for part in (*sources, cases.version.encode(), model_id(model_name).encode(), _library_versions().encode()):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:20]


def cache_path(kind: str, key: str) -> Path:
    """The cache file for ``kind`` (``references`` or a catalogue entry) under ``key``."""
    return cache_dir() / key / f"{kind}.pkl"


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def cached(kind: str, key: str) -> Answers | None:
    """Cached answers, or None when absent, unreadable or not matching its checksum (it is then rebuilt)."""
    path = cache_path(kind, key)
    if not path.exists():
        return None
    try:
        data = path.read_bytes()
        recorded = _digest_path(path).read_text().strip()
    except OSError:
        recorded, data = "", b""
    if hashlib.sha256(data).hexdigest() != recorded:
        warnings.warn(f"The cached {kind} in {path.parent} do not match their checksum (changed since they were "
                      f"built); rebuilding them.", stacklevel=2)
        return None
    try:
        return parse_answers(load_answers(data, name=path.name))
    except Exception:  # noqa: BLE001 - a damaged cache entry is rebuilt, never trusted
        return None


def store(kind: str, key: str, answers: Answers) -> None:
    """Write answers and their checksum to the cache, each atomically."""
    path = cache_path(kind, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    dump_answers(answers.to_dict(), path)
    atomic_write(_digest_path(path), hashlib.sha256(path.read_bytes()).hexdigest() + "\n")


def build_references(model: AudioModel | None, cases: CaseSet | None = None, progress: bool = False,
                     assignment: str | None = None) -> Answers:
    """Run the solutions of ``assignment`` (default: the homework) over the cases (uncached)."""
    from hw4.answers import generate
    from solutions import fresh_solutions

    cases = get(assignment).graded_cases if cases is None else cases
    return generate(fresh_solutions(assignment), model, cases, progress=progress)


def load_references(model_name: str = EMBEDDED, cases: CaseSet | None = None, rebuild: bool = False,
                    model: AudioModel | None = None, progress: bool = False, assignment: str | None = None) -> Answers:
    """The reference answers of ``assignment`` (default: the homework): from the cache when its key matches, else
    built (loading its model) and cached."""
    key = reference_key(model_name, cases, assignment)
    found = None if rebuild else cached("references", key)
    if found is not None:
        return found
    if model is None:
        model, _ = get(assignment).load_model(model_name)
    references = build_references(model, cases, progress, assignment)
    store("references", key, references)
    return references
