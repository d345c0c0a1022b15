"""Every assignment the suite serves, one ``Assignment`` record each, and the registry that finds them.

An assignment is a notebook's worth of questions with everything the suite needs to run it: its files
(answers file, stub notebook, the ``.py`` made from it), where its self-check data lives, how its model is
loaded and which globals its runner provides, whether it is graded, and, by path or name only (``hw4`` never
imports the staff's packages), its solution module, notebook template and mistake catalogue. The homework and the lecture lab are the
two shipped here; a course adds one more with ``register(Assignment(...))``, or, for a command in another
process, by naming a Python file that defines ``ASSIGNMENT`` in ``HW4_ASSIGNMENTS`` (several separated by
``os.pathsep``). Reading a record imports no torch: its model loader is a ``"module:function"`` string
resolved only when a model is asked for.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cases import CaseSet
from .ddpm_questions import DDPM
from .errors import UserError
from .questions import HOMEWORK, LAB, Question, graded_cases, self_check_cases

ENV = "HW4_ASSIGNMENTS"
"""Python files, separated by ``os.pathsep``, each defining ``ASSIGNMENT``: registered on first lookup."""
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(__file__).resolve().parent

Loader = Callable[[str], tuple[Any, dict]]
"""``load(model_name) -> (model, model_config)``."""
Provider = Callable[[Any, dict, str], dict[str, Any]]
"""``provide(model, model_config, model_name) -> globals`` the runner gives a submission."""
CaseData = Callable[[], Mapping[Path, Mapping[str, Any]]]
"""``case_data() -> {path: {name: array}}``: files the cases read, made from the solutions."""


class UnknownAssignment(UserError, KeyError):
    """No assignment is registered under the key asked for."""

    def __str__(self) -> str:
        return str(self.args[0])


def resolve(target: str | Callable[..., Any]) -> Callable[..., Any]:
    """``target`` itself, or the function a ``"module:function"`` string names (imported now)."""
    if callable(target):
        return target
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True, kw_only=True, eq=False)  # compared and hashed by identity: the registry holds one per key
class Assignment:
    """One assignment: its questions, files, self-check data, model, provided globals and (by path) solutions."""

    key: str
    title: str
    questions: Mapping[str, Question]
    graded: bool
    answers_file: str
    stub: Path
    """The student notebook ``hw4 build-notebooks`` writes; its name is the notebook students edit."""
    template: Path
    solutions_file: Path
    self_check_data: Path
    mistakes: Path | None = None
    """The staff file (by path: ``hw4`` never imports it) defining the assignment's mistake catalogue as
    ``CATALOGUE`` and ``implementation(names)``, as ``solutions/mistakes.py`` does; None: no mistake is named."""
    model_loader: str | Loader = "hw4.model:load_model"
    provided: str | Provider = "hw4.runner:provided_globals"
    case_data: str | CaseData | None = None
    """The staff function (``"module:function"``, resolved only by ``hw4 build-notebooks``) that makes from the
    solutions the data files the cases read, ``{path: {name: array}}``, each written as an ``.npz`` before the
    self-check data (whose cases read them); None: the cases read none."""

    @property
    def notebook(self) -> str:
        """The student's notebook, by name."""
        return self.stub.name

    @property
    def script(self) -> str:
        """The student's code: the notebook converted to Python (what nbconvert names it)."""
        return Path(self.notebook).with_suffix(".py").name

    @property
    def graded_cases(self) -> CaseSet:
        """The cases the runner answers and the grader scores."""
        return graded_cases(self.questions)

    @property
    def self_check_cases(self) -> CaseSet:
        """The small cases of the notebook's ``check()``."""
        return self_check_cases(self.questions)

    @property
    def functions(self) -> tuple[str, ...]:
        """The functions the questions ask for, in notebook order."""
        return tuple(q.function for q in self.questions.values())

    def before(self, question: str) -> tuple[str, ...]:
        """The questions that come before ``question`` (a mistake made there may cascade into it)."""
        keys = tuple(self.questions)
        return keys[: keys.index(question)]

    def load_model(self, model_name: str) -> tuple[Any, dict]:
        """The assignment's model and its config (imports what the loader needs, e.g. torch, only now)."""
        return resolve(self.model_loader)(model_name)

    def provided_globals(self, model: Any, model_config: dict, model_name: str) -> dict[str, Any]:
        """The names the notebook's setup defines, which a submission's functions may use as globals."""
        return resolve(self.provided)(model, model_config, model_name)


DEFAULT = "homework4"
"""The assignment every command works on unless told otherwise."""

HOMEWORK4 = Assignment(
    key=DEFAULT, title="Homework 4: sampling from Stable Audio Open", questions=HOMEWORK, graded=True,
    answers_file="homework4.pkl", stub=ROOT / "notebooks" / "homework4_stub.ipynb",
    template=ROOT / "notebooks" / "template" / "homework4.ipynb", solutions_file=ROOT / "solutions/homework4.py",
    self_check_data=PACKAGE / "data" / "selfcheck.pkl",
    mistakes=ROOT / "solutions/mistakes.py")
LECTURE_LAB = Assignment(
    key="lab", title="The lecture lab: inside Stable Audio Open", questions=LAB, graded=False,
    answers_file="lab.pkl", stub=ROOT / "notebooks" / "lab_stub.ipynb",
    template=ROOT / "notebooks" / "template" / "lab.ipynb", solutions_file=ROOT / "solutions/lab.py",
    self_check_data=PACKAGE / "data" / "lab_selfcheck.pkl")
DDPM_DIGITS = Assignment(
    key="ddpm", title="DDPM from scratch on 8x8 digits", questions=DDPM, graded=True,
    answers_file="ddpm.pkl", stub=ROOT / "notebooks" / "ddpm_stub.ipynb",
    template=ROOT / "notebooks" / "template" / "ddpm.ipynb", solutions_file=ROOT / "solutions/ddpm.py",
    self_check_data=PACKAGE / "data" / "ddpm_selfcheck.pkl", mistakes=ROOT / "solutions/ddpm_mistakes.py",
    model_loader="hw4.ddpm_model:load_assignment_model", provided="hw4.ddpm_model:provided_globals",
    case_data="solutions.ddpm_data:case_data")

_REGISTRY: dict[str, Assignment] = {}
_loaded_files: set[str] = set()
_definition_files: dict[str, Path] = {}  # key -> the file it was registered from (load_file)


def register(assignment: Assignment) -> Assignment:
    """Add ``assignment`` (replacing one of the same key); its question keys and functions must be new."""
    others = [a for k, a in _REGISTRY.items() if k != assignment.key]
    taken = {q for a in others for q in a.questions} & set(assignment.questions)
    if taken:
        raise ValueError(f"Assignment {assignment.key!r} reuses question keys of another: {', '.join(sorted(taken))}.")
    _REGISTRY[assignment.key] = assignment
    return assignment


def unregister(key: str) -> None:
    """Remove the assignment ``key`` (tests that registered one clean up with this)."""
    _REGISTRY.pop(key, None)


def load_file(path: str | Path) -> Assignment:
    """Run the Python file ``path`` and register the ``ASSIGNMENT`` it defines."""
    path = Path(path).resolve()
    if not path.is_file():
        raise UserError(f"There is no assignment file {path}.")
    name = f"hw4_assignment_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"{path} (named in {ENV}) is not a Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses defined in the file look their module up here
    spec.loader.exec_module(module)
    found = getattr(module, "ASSIGNMENT", None)
    if not isinstance(found, Assignment):
        raise UserError(f"{path} (named in {ENV}) defines no ASSIGNMENT = Assignment(...).")
    _definition_files[found.key] = path
    return register(found)


def definition_file(key: str) -> Path | None:
    """The Python file the assignment ``key`` was registered from (``load_file``), None for one registered in code
    (the shipped ones): a process that must find it again, such as the sandboxed re-run, is given this file."""
    return _definition_files.get(key) if key in _REGISTRY else None


def _registry() -> dict[str, Assignment]:
    for name in filter(None, os.environ.get(ENV, "").split(os.pathsep)):
        if name not in _loaded_files:
            _loaded_files.add(name)
            load_file(name)
    return _REGISTRY


def every() -> tuple[Assignment, ...]:
    """Every registered assignment: the homework first, then the lab, then any added."""
    return tuple(_registry().values())


def keys() -> tuple[str, ...]:
    """The keys of every registered assignment."""
    return tuple(_registry())


def get(key: str | None = None) -> Assignment:
    """The assignment ``key`` (default: the homework); one sentence naming the known keys when there is none."""
    found = _registry().get(key or DEFAULT)
    if found is None:
        raise UnknownAssignment(f"There is no assignment {key!r}; the known ones are {', '.join(keys())}.")
    return found


def for_file(submission: str | Path | None, key: str | None = None) -> Assignment:
    """The assignment ``key``; without one, the assignment whose notebook or script ``submission`` is named after
    (``ddpm_stub.py`` is the DDPM one's), else the homework: a student need not name what the file says."""
    if key is None and submission is not None:
        name = Path(submission).name
        named = [a for a in every() if name in (a.notebook, a.script)]
        if named:
            return named[0]
    return get(key)


def graded() -> tuple[Assignment, ...]:
    """The assignments the course grades (each gets its reference cache and Gradescope zip)."""
    return tuple(a for a in every() if a.graded)


def owner(question: str) -> Assignment:
    """The assignment that asks ``question``."""
    return next(a for a in every() if question in a.questions)


def questions() -> Iterator[Question]:
    """Every question of every assignment, in order."""
    return (q for a in every() for q in a.questions.values())


def find(question: str) -> Question:
    """The question ``question``, whichever assignment asks it."""
    return owner(question).questions[question]


def by_function(name: str | None) -> Question | None:
    """The question that asks for the function ``name``, if any."""
    return next((q for q in questions() if q.function == name), None)


def before(question: str) -> tuple[str, ...]:
    """The questions of the same assignment that come before ``question``."""
    return owner(question).before(question)


register(HOMEWORK4)
register(LECTURE_LAB)
register(DDPM_DIGITS)
