"""Saving and loading homework4.pkl: the runner (and the reference cache) call dump_answers, the grader load_answers.

An answers file is a pickle of built-in types only (``hw4.plain_data``: each numpy array is a record of
``bytes``, a dtype string and a shape), so ``load_answers`` admits no global name at all and nothing from a
file can run.  What a pickle without globals can still do is bounded:

* a static pass over the opcodes (``pickletools.genops``; nothing is built) counts instructions, refuses memo
  indices (the C unpickler sizes its memo table from them), out-of-band buffers and extension codes, and finds
  truncation and trailing bytes;
* the unpickler's ``find_class`` and ``persistent_load`` refuse every request, naming it;
* ``plain_data.from_plain`` walks the result (nesting, values and array bytes counted per visit) and builds
  the arrays.

A file in the format before this one (numpy's own pickling) names numpy's helpers and is refused with one
sentence asking for a re-run.  Every problem ends in ``AnswerFileError`` (a ``ValueError``) whose message is one
sentence for the student; ``UnsafePickleError`` is the subclass for files that ask for anything but plain data.
"""

from __future__ import annotations

import _compat_pickle
import io
import os
import pickle
import pickletools
import stat
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_write
from .errors import UserError
from .files import ANSWERS
from .plain_data import Invalid, from_plain, show, to_plain

__all__ = ["MAX_BYTES", "MAX_OPCODES", "AnswerFileError", "UnsafePickleError", "dump_answers", "load_answers",
           "validate_answers"]

MAX_BYTES = 64 * 1024 * 1024
"""Largest answers file accepted (and written), in bytes."""
MAX_OPCODES = 4_000_000
"""Most pickle instructions in a file (bounds what the unpickler can build before the walk)."""

RUNNER = "runner.ipynb"
PROTOCOL = 4
_AGAIN = f"run {RUNNER} again and submit the file it writes"

# The names numpy's own pickling uses, i.e. what every file of the previous format asks for first.
_OLD_FORMAT = frozenset({(f"numpy.{core}.{module}", name) for core in ("core", "_core")
                         for module, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar"),
                                              ("numeric", "_frombuffer"))}
                        | {("numpy", "ndarray"), ("numpy", "dtype")})


class AnswerFileError(UserError, ValueError):
    """An answers file that cannot be read; the message is one sentence meant for the student."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


class UnsafePickleError(AnswerFileError):
    """An answers file that asks for something other than plain data (it is refused, never run)."""

    def __init__(self, message: str, reason: str = "unsafe", requested: str = "") -> None:
        super().__init__(message, reason)
        self.requested = requested


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def _unsafe(name: str, what: str, requested: str) -> UnsafePickleError:
    return UnsafePickleError(f"{name} was refused because it asks for {what}, which is not plain data: {_AGAIN}.",
                             requested=requested)


def _damaged(name: str, detail: str = "", reason: str = "damaged") -> AnswerFileError:
    extra = f" ({detail})" if detail else ""
    return AnswerFileError(f"{name} is damaged and cannot be read{extra}: {_AGAIN} unchanged.", reason)


# ------------------------------------------------------------------------------------- static scanning

@dataclass
class _Scan:
    """What a static pass over the opcodes found (nothing is built or run)."""

    complete: bool = False  # reached STOP
    truncated: bool = False  # ran out of bytes
    trailing: bool = False  # bytes after STOP
    error: str = ""  # why the opcode stream is malformed
    unsafe: tuple[str, str] | None = None  # (what, requested)
    too_many: bool = False


def _scan(data: bytes) -> _Scan:
    """Walk the opcodes with ``pickletools.genops`` and record the first problem."""
    result, stream = _Scan(), io.BytesIO(data)
    try:
        for count, (opcode, arg, _pos) in enumerate(pickletools.genops(stream), 1):
            name = opcode.name
            if count > MAX_OPCODES:
                result.too_many = True
                return result
            if name in ("EXT1", "EXT2", "EXT4") and result.unsafe is None:
                result.unsafe = (f"registered pickle extension {arg}", f"extension {arg}")
            elif name == "NEXT_BUFFER":
                result.error = "it refers to out-of-band buffers"
                return result
            elif name in ("PUT", "BINPUT", "LONG_BINPUT") and (not isinstance(arg, int) or not 0 <= arg <= count):
                result.error = "it uses an impossible memo index"  # the C unpickler would allocate a table that big
                return result
            elif name == "FRAME" and isinstance(arg, int) and arg > len(data) - stream.tell():
                result.truncated = True
                return result
            elif name == "STOP":
                result.complete, result.trailing = True, stream.tell() != len(data)
                return result
    except Exception:  # genops raises ValueError and friends on any malformed stream
        if stream.tell() >= len(data):
            result.truncated = True
        else:
            result.error = f"invalid pickle data near byte {stream.tell()}"
        return result
    result.truncated = True  # pragma: no cover - genops raises before running out without STOP
    return result


def _looks_like_text(data: bytes) -> bool:
    """Heuristic: mostly printable UTF-8 with no NUL bytes."""
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    text = sample.decode("utf-8", errors="replace")
    if text.count("\ufffd") > 1:
        return False
    return sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t\f") >= 0.95 * max(len(text), 1)


def _check_bytes(data: bytes, name: str, max_bytes: int) -> None:
    """Refuse anything but one complete protocol 2-5 pickle within the limits."""
    if not data:
        raise AnswerFileError(f"{name} is empty: {_AGAIN}.", "empty")
    if len(data) > max_bytes:
        raise AnswerFileError(
            f"{name} is {_size(len(data))}, more than the {_size(max_bytes)} an answers file may have: {_AGAIN}.",
            "too_large")
    header_ok = data[0] == pickle.PROTO[0] and len(data) > 1 and 2 <= data[1] <= 5
    scan = _scan(data)
    if scan.too_many:
        raise AnswerFileError(f"{name} holds more than {MAX_OPCODES:,} pickle instructions, far more than an "
                              f"answers file needs: {_AGAIN}.", "too_large")
    if scan.unsafe is not None and (header_ok or scan.complete):
        raise _unsafe(name, *scan.unsafe)
    if not header_ok:
        if scan.complete and not scan.trailing:
            _unpickle(data, name)  # a protocol 0 or 1 pickle that names a global is refused for that
            proto = data[1] if data[0] == pickle.PROTO[0] and len(data) > 1 else "0 or 1"
            raise AnswerFileError(f"{name} was written with pickle protocol {proto}, which is not accepted: "
                                  f"{_AGAIN}.", "protocol")
        if _looks_like_text(data):
            raise AnswerFileError(f"{name} is a text file, not the answers file {RUNNER} writes: submit the "
                                  "homework4.pkl it creates.", "text")
        raise AnswerFileError(f"{name} is not an answers file (it is not a Python pickle): submit the "
                              f"homework4.pkl {RUNNER} creates.", "not_pickle")
    if scan.truncated:
        raise AnswerFileError(f"{name} is incomplete (the file is cut off): run {RUNNER} again, let it finish and "
                              "submit the whole file.", "truncated")
    if scan.error or not scan.complete:
        raise _damaged(name, scan.error)
    if scan.trailing:
        raise AnswerFileError(f"{name} has extra bytes after the answers: {_AGAIN} unchanged.", "trailing")


# ------------------------------------------------------------------------------------------- loading

class _NoGlobals(pickle.Unpickler):
    """An unpickler that builds built-in types only: every global and persistent id is refused by name."""

    def __init__(self, file: io.BytesIO, answers_name: str) -> None:
        super().__init__(file)
        self.answers_name = answers_name

    def find_class(self, module: str, name: str) -> object:
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        dotted = f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}"  # protocol 2 spells __builtin__
        if (module, name) in _OLD_FORMAT:
            raise UnsafePickleError(f"{self.answers_name} was written by an older version of {RUNNER}, in a "
                                    f"format the grader no longer reads: {_AGAIN}.", "old_format", dotted)
        raise _unsafe(self.answers_name, show(dotted), dotted)

    def persistent_load(self, pid: object) -> object:
        raise _unsafe(self.answers_name, "a persistent object (a pickle persistent id)", "persistent_load")


def _unpickle(data: bytes, name: str) -> object:
    return _NoGlobals(io.BytesIO(data), name).load()


def _read(source: str | os.PathLike[str] | bytes | bytearray | memoryview, max_bytes: int,
          name: str | None) -> tuple[bytes, str]:
    """The file's bytes (never more than ``max_bytes + 1`` read) and the name used in messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or ANSWERS
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"load_answers expects a path or bytes, not {type(source).__name__}")
    path = Path(source)
    label = name or path.name or ANSWERS
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise AnswerFileError(f"{label} is not a regular file: submit the homework4.pkl {RUNNER} writes.",
                                  "not_file")
        if info.st_size > max_bytes:
            raise AnswerFileError(f"{label} is {_size(info.st_size)}, more than the {_size(max_bytes)} an answers "
                                  f"file may have: {_AGAIN}.", "too_large")
        with path.open("rb") as handle:
            return handle.read(max_bytes + 1), label
    except FileNotFoundError:
        raise AnswerFileError(f"{label} was not found: run {RUNNER} and submit the file it writes.",
                              "missing") from None
    except OSError as exc:
        raise AnswerFileError(f"{label} could not be read ({exc.strerror or exc}): {_AGAIN}.",
                              "unreadable") from None


def load_answers(path_or_bytes: str | os.PathLike[str] | bytes | bytearray | memoryview,
                 max_bytes: int = MAX_BYTES, *, name: str | None = None) -> object:
    """Load an answers file without running anything from it; raise ``AnswerFileError`` if it is not plain data.

    ``name`` is how messages call the file (default: the path's file name, or ``homework4.pkl`` for bytes).
    """
    data, label = _read(path_or_bytes, max_bytes, name)
    try:
        _check_bytes(data, label, max_bytes)
        return from_plain(_unpickle(data, label), max_bytes)
    except AnswerFileError:
        raise
    except Invalid as exc:
        raise AnswerFileError(f"{label} holds {exc.what} at {exc.where}, which an answers file may not contain: "
                              f"{_AGAIN}.", exc.reason) from None
    except MemoryError:
        raise AnswerFileError(f"{label} needs more memory than is available to load: {_AGAIN}.", "memory") from None
    except RecursionError:
        raise AnswerFileError(f"{label} is nested too deeply to load: {_AGAIN}.", "too_deep") from None
    except Exception as exc:  # the contract: nothing but AnswerFileError ever leaves this function
        raise _damaged(label, f"{type(exc).__name__} while rebuilding the answers") from exc


# ------------------------------------------------------------------------------------------- writing

def _plain(answers: object) -> object:
    try:
        return to_plain(answers, MAX_BYTES)
    except Invalid as exc:
        raise AnswerFileError(f"The answers hold {exc.what} at {exc.where}, which an answers file may not contain: "
                              "keep only dicts, lists, tuples, str, int, float, bool, None and numeric numpy arrays.",
                              exc.reason) from None


def validate_answers(answers: object) -> None:
    """Raise ``AnswerFileError`` unless ``answers`` is plain answers data within the limits."""
    _plain(answers)


def dump_answers(answers: object, path: str | os.PathLike[str]) -> None:
    """Write ``answers`` to ``path`` as built-in types (arrays as records), pickle protocol 4, atomically."""
    data = pickle.dumps(_plain(answers), protocol=PROTOCOL)
    if len(data) > MAX_BYTES:
        raise AnswerFileError(f"The answers take {_size(len(data))}, more than the {_size(MAX_BYTES)} an answers "
                              "file may have: store fewer or smaller arrays.", "too_large")
    load_answers(data)  # exactly what the grader will do with the file
    atomic_write(path, data)
