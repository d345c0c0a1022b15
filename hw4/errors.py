"""The one base of every error a user can fix: the ``hw4`` command prints its message as one sentence.

Raise a subclass (``SubmissionError``, ``AnswerFileError``, ``ModelAccessError``, ``CannotGrade``,
``BatchError``, ...) with a one-sentence message; ``hw4.cli.main`` turns any of them into
``hw4 <command>: <message>`` and exit status 2, never a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; its message is one sentence."""
