"""The answers file as types: ``Answers`` holds the ``Meta`` and one ``QuestionAnswers`` per question.

``hw4.answers.generate`` returns an ``Answers``; ``to_dict()`` is the nested dict the pickle
has always held (format ``hw4-answers/1``: ``{"meta": {...}, "questions": {q: {"answers",
"errors", "output"}}}``), written by ``hw4.safe_pickle.dump_answers``. ``parse_answers`` turns
what the safe loader read back into an ``Answers`` once; everything after it reads fields, not
dicts. A file's values are kept as they are (an answer may be a list, an error a number): the
grader compares and reports them case by case.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .errors import UserError

NOT_ANSWERS = ("This file does not hold homework answers: submit the homework4.pkl that runner.ipynb "
               "(or `hw4 answers`) writes.")


class CannotGrade(UserError):
    """The answers file cannot be graded at all; the message says why in one sentence."""


@dataclass
class Meta:
    """What the grader checks before comparing: format, model, cases (values as the file holds them)."""

    format: Any = None
    model_id: Any = None
    cases_version: Any = None
    created: Any = None
    versions: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "model_id": self.model_id, "cases_version": self.cases_version,
                "created": self.created, "versions": self.versions}


@dataclass
class QuestionAnswers:
    """One question's cases: an answer (a numpy array) or an error per case, and what each case printed.

    ``problem`` says why a file's entry for the question could not be read (it was not a dict).
    """

    answers: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None

    def to_dict(self) -> dict[str, dict]:
        return {"answers": self.answers, "errors": self.errors, "output": self.output}


@dataclass
class Answers:
    """A whole answers file: its ``meta`` and its entries by question key."""

    meta: Meta = field(default_factory=Meta)
    questions: dict[str, QuestionAnswers] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The nested dict the pickle holds."""
        return {"meta": self.meta.to_dict(), "questions": {q: e.to_dict() for q, e in self.questions.items()}}


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _question(entry: object) -> QuestionAnswers:
    if not isinstance(entry, dict):
        return QuestionAnswers(problem=f"a {type(entry).__name__}, not a dict")
    return QuestionAnswers(_dict(entry.get("answers", {})), _dict(entry.get("errors", {})),
                           _dict(entry.get("output", {})))


def parse_answers(raw: object) -> Answers:
    """The ``Answers`` in what ``load_answers`` returned; ``CannotGrade`` when it is not an answers file at all."""
    if not isinstance(raw, dict) or not isinstance(raw.get("questions"), dict):
        raise CannotGrade(NOT_ANSWERS)
    meta = raw.get("meta")
    meta = Meta(**{key: meta.get(key) for key in Meta.__dataclass_fields__}) if isinstance(meta, dict) else Meta()
    return Answers(meta, {q: _question(entry) for q, entry in raw["questions"].items()})


def read_answers(path_or_bytes: str | os.PathLike[str] | bytes, *, name: str | None = None) -> Answers:
    """Load an answers file with the safe loader and parse it (``AnswerFileError`` or ``CannotGrade`` on failure)."""
    from .safe_pickle import load_answers

    return parse_answers(load_answers(path_or_bytes, name=name))
