"""One line for the student about what went wrong in their code: the exception, and the innermost line of their
files that raised it (``describe_error``) or that was running when the time ran out (``where_in_student_code``)."""

from __future__ import annotations

import linecache
import traceback
from types import FrameType

from .isolation import TimeLimitExceeded

MAX_ERROR = 500  # characters of one error line


def _line(filename: str, lineno: int | None) -> str:
    return f" (line {lineno}: {linecache.getline(filename, lineno).strip()})" if lineno and \
        linecache.getline(filename, lineno).strip() else ""


def where_in_student_code(frame: FrameType | None, files: frozenset[str]) -> str:
    """`` (line N: code)`` for the innermost frame of ``frame``'s stack that runs the student's code, else ``""``."""
    while frame is not None:
        if frame.f_code.co_filename in files:
            return _line(frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return ""


def describe_error(err: BaseException, files: frozenset[str] = frozenset(), function: str = "") -> str:
    """One line for the student: the exception and the innermost line of their code (``files``) that raised it.

    ``function`` is the homework function that was called: a ``NotImplementedError`` raised by another function
    it calls is reported as that dependency.
    """
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if f.filename in files] or [
        f for f in frames if "hw4" not in f.filename.replace("\\", "/").split("/")]
    if isinstance(err, NotImplementedError):
        if function and mine and mine[-1].name not in (function, "<module>"):
            return f"calls {mine[-1].name}, which is not implemented yet (it still raises NotImplementedError)"
        return "not implemented yet (the function still raises NotImplementedError)"
    if isinstance(err, TimeLimitExceeded):
        return str(err)
    where = f" (line {mine[-1].lineno}: {mine[-1].line})" if mine and mine[-1].line else ""
    if isinstance(err, SystemExit):
        return f"called sys.exit() or exit(){where}: a homework function must return its answer"[:MAX_ERROR]
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {message}{where}"[:MAX_ERROR]
