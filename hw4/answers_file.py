"""The answers file as types: ``Answers`` holds the ``Meta`` and one ``QuestionAnswers`` per question.

``hw4.answers.generate`` returns an ``Answers``; ``to_dict()`` is the nested dict the pickle
has always held (format ``hw4-answers/1``: ``{"meta": {...}, "questions": {q: {"answers",
"errors", "output"}}}``), written by ``hw4.safe_pickle.dump_answers``. ``parse_answers`` turns
what the safe loader read back into an ``Answers`` once; everything after it reads fields, not
dicts. A file's answers, errors and output are kept as they are (an answer may be a list, an error a
number): the grader compares and reports them case by case. A ``Meta`` field the file holds with another
type than the runner writes reads as None, which matches no reference.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .errors import UserError

NOT_ANSWERS = ("This file does not hold homework answers: submit the homework4.pkl that runner.ipynb "
               "(or `hw4 answers`) writes.")


class CannotGrade(UserError):
    """The answers file cannot be graded at all; the message says why in one sentence."""


@dataclass
class Meta:
    """What the grader checks before comparing: format, model and cases; when the file was made, and with which
    library versions (by library name)."""

    format: str | None = None
    model_id: str | None = None
    cases_version: str | None = None
    created: str | None = None
    versions: dict[str, str] | None = None

    def to_dict(self) -> dict[str, object]:
        return {"format": self.format, "model_id": self.model_id, "cases_version": self.cases_version,
                "created": self.created, "versions": self.versions}


@dataclass
class QuestionAnswers:
    """One question's cases: an answer (a numpy array) or an error per case, and what each case printed.

    ``problem`` says why a file's entry for the question could not be read (it was not a dict).
    """

    answers: dict[str, object] = field(default_factory=dict)
    errors: dict[str, object] = field(default_factory=dict)
    output: dict[str, object] = field(default_factory=dict)
    problem: str | None = None

    def to_dict(self) -> dict[str, dict[str, object]]:
        return {"answers": self.answers, "errors": self.errors, "output": self.output}


@dataclass
class Answers:
    """A whole answers file: its ``meta`` and its entries by question key."""

    meta: Meta = field(default_factory=Meta)
    questions: dict[str, QuestionAnswers] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """The nested dict the pickle holds."""
        return {"meta": self.meta.to_dict(), "questions": {q: e.to_dict() for q, e in self.questions.items()}}


def _dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _meta(raw: object) -> Meta:
    if not isinstance(raw, dict):
        return Meta()
    versions = raw.get("versions")
    if not (isinstance(versions, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in versions.items())):
        versions = None
    return Meta(_text(raw.get("format")), _text(raw.get("model_id")), _text(raw.get("cases_version")),
                _text(raw.get("created")), versions)


def _question(entry: object) -> QuestionAnswers:
    if not isinstance(entry, dict):
        return QuestionAnswers(problem=f"a {type(entry).__name__}, not a dict")
    return QuestionAnswers(_dict(entry.get("answers", {})), _dict(entry.get("errors", {})),
                           _dict(entry.get("output", {})))


def parse_answers(raw: object) -> Answers:
    """The ``Answers`` in what ``load_answers`` returned; ``CannotGrade`` when it is not an answers file at all."""
    if not isinstance(raw, dict) or not isinstance(raw.get("questions"), dict):
        raise CannotGrade(NOT_ANSWERS)
    return Answers(_meta(raw.get("meta")), {q: _question(entry) for q, entry in raw["questions"].items()})


def read_answers(path_or_bytes: str | os.PathLike[str] | bytes, *, name: str | None = None) -> Answers:
    """Load an answers file with the safe loader and parse it (``AnswerFileError`` or ``CannotGrade`` on failure)."""
    from .safe_pickle import load_answers

    return parse_answers(load_answers(path_or_bytes, name=name))
