"""The one base of every error a user can fix: every command prints its message as one sentence.

Raise a subclass (``SubmissionError``, ``AnswerFileError``, ``ModelAccessError``, ``CannotGrade``,
``BatchError``, ``ReleaseError``, ``SandboxUnavailable``, ...) with a one-sentence message; ``hw4.cli.main``
(which also runs the staff commands) turns any of them into ``hw4 <command>: <message>`` and exit status 2,
never a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; its message is one sentence."""


class MissingFile(UserError, FileNotFoundError):
    """A file or folder the user named, or that a command needs, is not there."""
