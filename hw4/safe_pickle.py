"""Safe saving and loading of homework4.pkl answers: the runner calls dump_answers, the autograder load_answers.

An answers file is a pickle (protocol 2 to 5, written with numpy 1.x or 2.x) of plain data: dict (str keys),
list, tuple, str, int, float, bool, None, numeric numpy arrays and numpy scalars.  ``load_answers`` never
executes anything from the file:

* the raw bytes are first scanned opcode by opcode (nothing is built): size, header, truncation, trailing
  data, memo indices, persistent ids, extension codes and every ``GLOBAL``/``INST`` name are checked;
* the unpickler's ``find_class`` only hands out private stand-ins for the handful of names numpy uses to
  pickle arrays, dtypes and scalars (see ``ALLOWED_GLOBALS``); those stand-ins check their arguments and
  rebuild arrays with ``np.frombuffer`` from validated (dtype, shape, bytes) triples, so no numpy-private
  function is ever called and numpy 1.x (``numpy.core``) and 2.x (``numpy._core``) files load the same way;
* the result is walked (counting visits, not unique objects) and rebuilt from the allowed types only.

Every problem ends in ``AnswerFileError`` (a ``ValueError``) whose message is one sentence for the student;
``UnsafePickleError`` is the subclass for files that ask for something other than plain data.
"""

from __future__ import annotations

import _compat_pickle
import io
import math
import os
import pickle
import pickletools
import stat
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write
from .errors import UserError
from .files import ANSWERS

__all__ = [
    "ALLOWED_GLOBALS",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_INT_BITS",
    "MAX_NODES",
    "MAX_OPCODES",
    "AnswerFileError",
    "UnsafePickleError",
    "dump_answers",
    "load_answers",
    "validate_answers",
]

MAX_BYTES = 64 * 1024 * 1024
"""Largest answers file accepted (and written), in bytes."""
MAX_DEPTH = 64
"""Deepest container nesting accepted (the top-level object is depth 0)."""
MAX_NODES = 1_000_000
"""Most values visited when walking the answers; a value reached through N references counts N times."""
MAX_OPCODES = 4_000_000
"""Most pickle opcodes in a file (bounds what the unpickler can build before validation)."""
MAX_INT_BITS = 256
"""Largest Python int accepted, in bits (answers only hold small metadata ints)."""
PAYLOAD_FACTOR = 4
"""Strings and array bytes summed over every visit may reach ``PAYLOAD_FACTOR * max_bytes``."""
MAX_NDIM = 64

RUNNER = "runner.ipynb"
PROTOCOL = 4

_AGAIN = f"run {RUNNER} again and submit the file it writes"

# numpy dtype specs (the first argument numpy pickles ``np.dtype`` with) that an answers file may use.
_NUMERIC_SPECS = frozenset(
    {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"}
)
_ALLOWED_DTYPE_STRS = frozenset(
    {np.dtype(s).str for s in _NUMERIC_SPECS}
    | {np.dtype(s).newbyteorder(">").str for s in _NUMERIC_SPECS}
    | {np.dtype(s).newbyteorder("<").str for s in _NUMERIC_SPECS}
)


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


# --------------------------------------------------------------------------------------------- helpers


def _show(value: object, limit: int = 80) -> str:
    """A short, printable, quoted rendering of an attacker-controlled string."""
    text = ascii(str(value))[1:-1]
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"'{text}'"


def _size(n: int) -> str:
    """Human-readable byte count."""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def _dotted(module: str, name: str) -> str:
    """``module.name`` as Python 3 spells it (protocol 2 writes e.g. ``__builtin__.eval``, ``commands.Popen``)."""
    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
    return f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}"


def _unsafe(name: str, what: str, requested: str) -> UnsafePickleError:
    return UnsafePickleError(
        f"{name} was refused because it asks for {what}, which is not plain data: {_AGAIN}.",
        requested=requested,
    )


def _damaged(name: str, detail: str = "", reason: str = "damaged") -> AnswerFileError:
    extra = f" ({detail})" if detail else ""
    return AnswerFileError(f"{name} is damaged and cannot be read{extra}: {_AGAIN} unchanged.", reason)


# ------------------------------------------------------------------------------------- static scanning

# Names (module, qualname) that find_class resolves; "__builtin__" is how protocol 2 spells "builtins".
_RECONSTRUCT = "reconstruct"
_NDARRAY = "ndarray"
_DTYPE = "dtype"
_SCALAR = "scalar"
_FROMBUFFER = "frombuffer"
_ENCODE = "encode"
_BYTES = "bytes"

ALLOWED_GLOBALS: dict[tuple[str, str], str] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DTYPE,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    # Protocol 2 has no bytes opcode: non-empty bytes are written as _codecs.encode(str, "latin1") and
    # empty bytes (the data of an empty array) as bytes().  Both get argument-checked stand-ins.
    ("_codecs", "encode"): _ENCODE,
    ("builtins", "bytes"): _BYTES,
    ("__builtin__", "bytes"): _BYTES,
}
"""Every global an answers file may name, mapped to the stand-in ``find_class`` returns for it."""

_PUT_OPS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_GLOBAL_OPS = frozenset({"GLOBAL", "INST"})
_PERSID_OPS = frozenset({"PERSID", "BINPERSID"})
_EXT_OPS = frozenset({"EXT1", "EXT2", "EXT4"})


class _Scan:
    """What a static pass over the opcodes found (nothing is built or run)."""

    def __init__(self) -> None:
        self.complete = False  # reached STOP
        self.truncated = False  # ran out of bytes
        self.trailing = False  # bytes after STOP
        self.error: str = ""  # why the opcode stream is malformed
        self.unsafe: tuple[str, str] | None = None  # (what, requested)
        self.too_many = False


def _scan(data: bytes) -> _Scan:
    """Walk the opcodes with ``pickletools.genops`` and record the first problem."""
    result = _Scan()
    stream = io.BytesIO(data)
    total = len(data)
    count = 0
    try:
        for opcode, arg, _pos in pickletools.genops(stream):
            count += 1
            if count > MAX_OPCODES:
                result.too_many = True
                return result
            name = opcode.name
            if name in _GLOBAL_OPS:
                module, _, qualname = str(arg).partition(" ")
                if (module, qualname) not in ALLOWED_GLOBALS and result.unsafe is None:
                    dotted = _dotted(module, qualname)
                    result.unsafe = (_show(dotted), dotted)
            elif name in _PERSID_OPS and result.unsafe is None:
                result.unsafe = ("a persistent object (a pickle persistent id)", "persistent_load")
            elif name in _EXT_OPS and result.unsafe is None:
                result.unsafe = (f"registered pickle extension {arg}", f"extension {arg}")
            elif name == "NEXT_BUFFER":
                result.error = "it refers to out-of-band buffers"
                return result
            elif name in _PUT_OPS and (not isinstance(arg, int) or arg < 0 or arg > count):
                # The C unpickler sizes its memo table from this index: a huge one is a memory bomb.
                result.error = "it uses an impossible memo index"
                return result
            elif name == "FRAME" and isinstance(arg, int) and arg > total - stream.tell():
                result.truncated = True
                return result
            elif name == "STOP":
                result.complete = True
                result.trailing = stream.tell() != total
                return result
    except Exception:  # genops raises ValueError and friends on any malformed stream
        if stream.tell() >= total:
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
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t\f")
    return printable >= 0.95 * max(len(text), 1)


def _check_bytes(data: bytes, name: str, max_bytes: int) -> None:
    """Refuse anything but one complete protocol 2-5 pickle of allowed opcodes and globals."""
    if not data:
        raise AnswerFileError(f"{name} is empty: {_AGAIN}.", "empty")
    if len(data) > max_bytes:
        raise AnswerFileError(
            f"{name} is {_size(len(data))}, more than the {_size(max_bytes)} an answers file may have: {_AGAIN}.",
            "too_large",
        )
    header_ok = data[0] == pickle.PROTO[0] and len(data) > 1 and 2 <= data[1] <= 5
    scan = _scan(data)
    if scan.too_many:
        raise AnswerFileError(
            f"{name} holds more than {MAX_OPCODES:,} pickle instructions, far more than an answers file needs: "
            f"{_AGAIN}.",
            "too_large",
        )
    if scan.unsafe is not None and (header_ok or scan.complete):
        raise _unsafe(name, scan.unsafe[0], scan.unsafe[1])
    if not header_ok:
        if scan.complete and not scan.trailing:
            proto = data[1] if data[0] == pickle.PROTO[0] and len(data) > 1 else "0 or 1"
            raise AnswerFileError(
                f"{name} was written with pickle protocol {proto}, which is not accepted: {_AGAIN}.",
                "protocol",
            )
        if _looks_like_text(data):
            raise AnswerFileError(
                f"{name} is a text file, not the answers file {RUNNER} writes: submit the homework4.pkl it creates.",
                "text",
            )
        raise AnswerFileError(
            f"{name} is not an answers file (it is not a Python pickle): submit the homework4.pkl {RUNNER} creates.",
            "not_pickle",
        )
    if scan.truncated:
        raise AnswerFileError(
            f"{name} is incomplete (the file is cut off): run {RUNNER} again, let it finish and submit the whole file.",
            "truncated",
        )
    if scan.error or not scan.complete:
        raise _damaged(name, scan.error, "damaged")
    if scan.trailing:
        raise AnswerFileError(f"{name} has extra bytes after the answers: {_AGAIN} unchanged.", "trailing")


# ------------------------------------------------------------------------------ find_class stand-ins


class _Frozen:
    """Base for the objects find_class hands out: no ``__dict__``, and BUILD on them is refused."""

    __slots__ = ("_answers_name",)

    def __init__(self, answers_name: str) -> None:
        self._answers_name = answers_name

    def __setstate__(self, state: object) -> None:
        raise _damaged(self._answers_name, "it tries to change a numpy helper")

    def __reduce__(self) -> object:
        raise TypeError(f"{type(self).__name__} cannot be pickled")


class _ArrayToken(_Frozen):
    """What ``numpy.ndarray`` resolves to: only good as the first argument of ``_reconstruct``."""

    __slots__ = ()


class _Constructor(_Frozen):
    """A callable stand-in for one allowed global; every call checks its arguments."""

    __slots__ = ("_fn", "_label")

    def __init__(self, answers_name: str, fn: Callable[..., object], label: str) -> None:
        super().__init__(answers_name)
        self._fn = fn
        self._label = label

    def __call__(self, *args: object) -> object:
        return self._fn(*args)

    def __repr__(self) -> str:
        return f"<safe stand-in for {self._label}>"


class _DTypeSpec:
    """What ``numpy.dtype(spec, align, copy)`` returns while loading; BUILD sets its byte order once."""

    __slots__ = ("_loader", "_spec", "_endian", "_state_set", "_used")

    def __init__(self, loader: _SafeUnpickler, spec: str) -> None:
        self._loader = loader
        self._spec = spec
        self._endian = "="
        self._state_set = False
        self._used = False

    def __setstate__(self, state: object) -> None:
        name = self._loader.answers_name
        if self._state_set or self._used or type(state) is not tuple or len(state) not in (8, 9):
            raise _damaged(name, "a numpy dtype has an unexpected state")
        version, endian, subarray, names, fields, elsize, alignment, flags = state[:8]
        if version not in (3, 4) or endian not in ("<", ">", "|", "="):
            raise _damaged(name, "a numpy dtype has an unexpected state")
        if subarray is not None or names is not None or fields is not None:
            raise AnswerFileError(
                f"{name} holds a structured numpy array, but only plain numeric arrays are accepted: {_AGAIN}.",
                "dtype",
            )
        if not all(type(v) is int for v in (elsize, alignment, flags)):
            raise _damaged(name, "a numpy dtype has an unexpected state")
        # Metadata (state[8]) is dropped; any global inside it has already been through find_class.
        self._endian = endian
        self._state_set = True

    def resolve(self) -> np.dtype:
        """The canonical numpy dtype this spec stands for."""
        self._used = True
        dtype = np.dtype(self._spec)
        if dtype.itemsize > 1 and self._endian in ("<", ">"):
            dtype = dtype.newbyteorder(self._endian)
        return dtype


class _PendingArray:
    """Holder for an array while loading: ``_reconstruct``'s result gets its array when BUILD hands it
    (shape, dtype, bytes); ``_frombuffer``'s is born filled.  Real arrays only appear after validation."""

    __slots__ = ("_loader", "array")

    def __init__(self, loader: _SafeUnpickler) -> None:
        self._loader = loader
        self.array: np.ndarray | None = None

    def __setstate__(self, state: object) -> None:
        name = self._loader.answers_name
        if self.array is not None or type(state) is not tuple:
            raise _damaged(name, "a numpy array has an unexpected state")
        if len(state) == 5:
            version, shape, dtype, fortran, raw = state
            if version != 1:
                raise _damaged(name, "a numpy array has an unexpected state")
        elif len(state) == 4:
            shape, dtype, fortran, raw = state
        else:
            raise _damaged(name, "a numpy array has an unexpected state")
        if type(fortran) not in (bool, int) or fortran not in (0, 1):
            raise _damaged(name, "a numpy array has an unexpected state")
        self.array = self._loader.build_array(raw, dtype, shape, "F" if fortran else "C")

    def __reduce__(self) -> object:
        raise TypeError("_PendingArray cannot be pickled")


class _SafeUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` only knows the numpy rebuilding helpers (as checked stand-ins)."""

    def __init__(self, file: io.BytesIO, *, answers_name: str, max_bytes: int) -> None:
        super().__init__(file)
        self.answers_name = answers_name
        self.max_bytes = max_bytes
        self.materialised = 0  # bytes of every array built so far: a buffer referenced N times counts N times
        self._token = _ArrayToken(answers_name)

        def make(fn: Callable[..., object], label: str) -> _Constructor:
            return _Constructor(answers_name, fn, label)

        self._stand_ins: dict[str, object] = {
            _RECONSTRUCT: make(self._reconstruct, "numpy _reconstruct"),
            _NDARRAY: self._token,
            _DTYPE: make(self._dtype, "numpy.dtype"),
            _SCALAR: make(self._scalar, "numpy scalar"),
            _FROMBUFFER: make(self._frombuffer, "numpy _frombuffer"),
            _ENCODE: make(self._encode, "_codecs.encode"),
            _BYTES: make(self._bytes, "bytes"),
        }

    # -- pickle hooks ---------------------------------------------------------------------------------

    def find_class(self, module: str, name: str) -> object:
        """Resolve only the names in ``ALLOWED_GLOBALS``; everything else is refused by name."""
        key = ALLOWED_GLOBALS.get((module, name))
        if key is None:
            dotted = _dotted(str(module), str(name))
            raise _unsafe(self.answers_name, _show(dotted), dotted)
        return self._stand_ins[key]

    def persistent_load(self, pid: object) -> object:
        """Persistent ids are never plain data."""
        raise _unsafe(self.answers_name, "a persistent object (a pickle persistent id)", "persistent_load")

    # -- stand-ins ------------------------------------------------------------------------------------

    def _bad_args(self, what: str) -> AnswerFileError:
        return _damaged(self.answers_name, f"unexpected arguments for {what}")

    def _reconstruct(
        self, subtype: object = None, shape: object = None, typecode: object = None
    ) -> _PendingArray:
        # numpy always writes _reconstruct(ndarray, (0,), b'b') and then BUILDs the real state.
        if (
            subtype is not self._token
            or type(shape) is not tuple
            or shape != (0,)
            or typecode not in (b"b", "b")
        ):
            raise self._bad_args("numpy _reconstruct")
        return _PendingArray(self)

    def _dtype(self, spec: object = None, align: object = False, copy: object = True) -> _DTypeSpec:
        if type(spec) is not str or type(align) not in (bool, int) or type(copy) not in (bool, int):
            raise self._bad_args("numpy.dtype")
        if spec in _NUMERIC_SPECS and not align:
            return _DTypeSpec(self, spec)
        if spec.startswith("O"):
            raise _unsafe(
                self.answers_name, f"a numpy array of Python objects (dtype {_show(spec)})", f"dtype {spec}"
            )
        raise AnswerFileError(
            f"{self.answers_name} holds a numpy array of dtype {_show(spec)}, but only numeric and bool arrays "
            f"are accepted: {_AGAIN}.",
            "dtype",
        )

    def _resolve_dtype(self, dtype: object) -> np.dtype:
        if type(dtype) is not _DTypeSpec or dtype._loader is not self:
            raise self._bad_args("a numpy array")
        return dtype.resolve()

    def _scalar(self, dtype: object = None, raw: object = None) -> np.generic:
        resolved = self._resolve_dtype(dtype)
        if type(raw) is not bytes or len(raw) != resolved.itemsize:
            raise self._bad_args("a numpy scalar")
        if resolved.kind == "b":
            return np.bool_(raw != b"\x00")
        return np.frombuffer(raw, dtype=resolved)[0]

    def _frombuffer(
        self, buf: object = None, dtype: object = None, shape: object = None, order: object = "C"
    ) -> _PendingArray:
        if type(order) is not str or order not in ("C", "F"):
            raise self._bad_args("numpy _frombuffer")
        # Wrapped, so that a BUILD aimed at the result reaches our __setstate__, never ndarray's.
        pending = _PendingArray(self)
        pending.array = self.build_array(buf, dtype, shape, order)
        return pending

    def _encode(self, text: object = None, encoding: object = "utf-8", errors: object = "strict") -> bytes:
        if encoding not in ("latin1", "latin-1"):
            raise _unsafe(
                self.answers_name, f"_codecs.encode with encoding {_show(encoding)}", "_codecs.encode"
            )
        if type(text) is not str or errors != "strict":
            raise self._bad_args("_codecs.encode")
        return text.encode("latin-1")

    def _bytes(self, *args: object) -> bytes:
        if args:  # protocol 2 only ever writes bytes() for b''; bytes(n) would allocate n bytes
            raise self._bad_args("bytes")
        return b""

    # -- arrays ---------------------------------------------------------------------------------------

    def build_array(self, raw: object, dtype: object, shape: object, order: str) -> np.ndarray:
        """A fresh, writable array from checked bytes, dtype and shape (nothing is allocated from lies)."""
        resolved = self._resolve_dtype(dtype)
        if type(shape) is not tuple or len(shape) > MAX_NDIM or not all(type(d) is int for d in shape):
            raise self._bad_args("a numpy array shape")
        if any(d < 0 for d in shape):
            raise self._bad_args("a numpy array shape")
        if any(d > self.max_bytes for d in shape):
            raise self._array_size_error(shape)
        count = math.prod(shape)
        nbytes = count * resolved.itemsize
        if nbytes > self.max_bytes:
            raise self._array_size_error(shape)
        if type(raw) not in (bytes, bytearray):
            raise self._bad_args("a numpy array")
        self.materialised += nbytes
        if self.materialised > PAYLOAD_FACTOR * self.max_bytes:
            raise AnswerFileError(
                f"{self.answers_name} builds more than {_size(PAYLOAD_FACTOR * self.max_bytes)} of arrays while "
                f"loading (counting repeated references), more than an answers file may: {_AGAIN}.",
                "too_large",
            )
        if len(raw) != nbytes:
            raise AnswerFileError(
                f"{self.answers_name} holds a numpy array whose shape {_show(shape)} does not match its data: "
                f"{_AGAIN} unchanged.",
                "array",
            )
        if resolved.kind == "b":
            flat = np.frombuffer(raw, dtype=np.uint8, count=count) != 0
        else:
            flat = np.frombuffer(raw, dtype=resolved, count=count).copy()
        return flat.reshape(shape, order=order)

    def _array_size_error(self, shape: tuple[Any, ...]) -> AnswerFileError:
        return AnswerFileError(
            f"{self.answers_name} declares a numpy array of shape {_show(shape)}, larger than the "
            f"{_size(self.max_bytes)} an answers file may hold: {_AGAIN}.",
            "too_large",
        )


# ------------------------------------------------------------------------------------------ validation


class _Invalid(Exception):
    """Internal: where in the answers a problem is, and what it is."""

    def __init__(self, where: str, what: str, reason: str) -> None:
        super().__init__(what)
        self.where = where
        self.what = what
        self.reason = reason


_SCALAR_TYPES = (str, float, bool, type(None))


class _Walker:
    """Recursive checker that rebuilds the answers from allowed types, counting every visit."""

    def __init__(self, max_bytes: int) -> None:
        self.nodes = 0
        self.payload = 0
        self.payload_limit = PAYLOAD_FACTOR * max_bytes
        self.active: set[int] = set()

    def _count(self, where: str, payload: int = 0) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Invalid(
                where, f"more than {MAX_NODES:,} values (counting repeated references)", "too_many"
            )
        self.payload += payload
        if self.payload > self.payload_limit:
            raise _Invalid(
                where,
                f"more than {_size(self.payload_limit)} of data (counting repeated references)",
                "too_many",
            )

    def walk(self, obj: object, where: str, depth: int) -> object:
        kind = type(obj)
        if kind is _PendingArray:
            if obj.array is None:
                raise _Invalid(where, "an unfinished numpy array", "array")
            obj = obj.array
            kind = np.ndarray
        if kind is str:
            self._count(where, len(obj))
            return _encodable(obj)
        if kind in _SCALAR_TYPES:
            self._count(where)
            return obj
        if kind is int:
            self._count(where)
            if obj.bit_length() > MAX_INT_BITS:
                raise _Invalid(where, f"an integer larger than {MAX_INT_BITS} bits", "int")
            return obj
        if kind is np.ndarray:
            self._count(where, obj.nbytes)
            _check_dtype(obj.dtype, where)
            return obj
        if isinstance(obj, np.generic):
            self._count(where)
            _check_dtype(obj.dtype, where)
            return obj
        if kind in (dict, list, tuple):
            return self._walk_container(obj, where, depth)
        raise _Invalid(where, _describe(obj), "type")

    def _walk_container(self, obj: Any, where: str, depth: int) -> object:
        self._count(where)
        if depth >= MAX_DEPTH:
            raise _Invalid(where, f"containers nested more than {MAX_DEPTH} levels deep", "too_deep")
        ident = id(obj)
        if ident in self.active:
            raise _Invalid(where, "a container that contains itself", "cycle")
        self.active.add(ident)
        try:
            if type(obj) is dict:
                out: dict[str, object] = {}
                for key, value in obj.items():
                    if type(key) is not str:
                        raise _Invalid(where, f"a dict key that is {_describe(key)} instead of a str", "key")
                    out[_encodable(key)] = self.walk(value, f"{where}[{_show(key, 40)}]", depth + 1)
                return out
            items = [self.walk(value, f"{where}[{i}]", depth + 1) for i, value in enumerate(obj)]
            return items if type(obj) is list else tuple(items)
        finally:
            self.active.discard(ident)


def _encodable(text: str) -> str:
    """``text`` with lone surrogates (valid in a pickle, not in UTF-8) replaced, so it can be printed and saved."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def _check_dtype(dtype: np.dtype, where: str) -> None:
    if dtype.hasobject:
        raise _Invalid(where, "a numpy array of Python objects", "dtype")
    if dtype.str not in _ALLOWED_DTYPE_STRS or dtype.fields is not None or dtype.subdtype is not None:
        raise _Invalid(where, f"a numpy array of dtype {_show(dtype.str)}", "dtype")


def _describe(obj: object) -> str:
    kind = type(obj)
    if kind in (_ArrayToken, _Constructor, _DTypeSpec):
        return "a bare numpy helper object"
    module = getattr(kind, "__module__", "") or ""
    qualname = getattr(kind, "__qualname__", kind.__name__)
    dotted = qualname if module == "builtins" else f"{module}.{qualname}"
    return f"an object of type {_show(dotted)}"


def _walk(obj: object, max_bytes: int) -> object:
    try:
        return _Walker(max_bytes).walk(obj, "answers", 0)
    except RecursionError as exc:  # pragma: no cover - MAX_DEPTH keeps the walk far from the limit
        raise _Invalid("answers", "containers nested too deeply", "too_deep") from exc


def validate_answers(obj: object, *, max_bytes: int = MAX_BYTES) -> None:
    """Raise ``AnswerFileError`` unless ``obj`` is plain answers data within the limits."""
    try:
        _walk(obj, max_bytes)
    except _Invalid as exc:
        raise AnswerFileError(
            f"The answers hold {exc.what} at {exc.where}, which an answers file may not contain: "
            "keep only dicts, lists, tuples, str, int, float, bool, None and numeric numpy arrays.",
            exc.reason,
        ) from None


# ---------------------------------------------------------------------------------------- public API


def _read(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview, max_bytes: int, name: str | None
) -> tuple[bytes, str]:
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
            raise AnswerFileError(
                f"{label} is not a regular file: submit the homework4.pkl {RUNNER} writes.", "not_file"
            )
        if info.st_size > max_bytes:
            raise AnswerFileError(
                f"{label} is {_size(info.st_size)}, more than the {_size(max_bytes)} an answers file may have: "
                f"{_AGAIN}.",
                "too_large",
            )
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise AnswerFileError(
            f"{label} was not found: run {RUNNER} and submit the file it writes.", "missing"
        ) from None
    except OSError as exc:
        raise AnswerFileError(
            f"{label} could not be read ({exc.strerror or exc}): {_AGAIN}.", "unreadable"
        ) from None
    return data, label


def load_answers(
    path_or_bytes: str | os.PathLike[str] | bytes | bytearray | memoryview,
    max_bytes: int = MAX_BYTES,
    *,
    name: str | None = None,
) -> object:
    """Load an answers file without running anything from it; raise ``AnswerFileError`` if it is not plain data.

    ``name`` is how messages call the file (default: the path's file name, or ``homework4.pkl`` for bytes).
    """
    data, label = _read(path_or_bytes, max_bytes, name)
    _check_bytes(data, label, max_bytes)
    try:
        loaded = _SafeUnpickler(io.BytesIO(data), answers_name=label, max_bytes=max_bytes).load()
        return _walk(loaded, max_bytes)
    except AnswerFileError:
        raise
    except _Invalid as exc:
        raise AnswerFileError(
            f"{label} holds {exc.what} at {exc.where}, which an answers file may not contain: {_AGAIN}.",
            exc.reason,
        ) from None
    except MemoryError:
        raise AnswerFileError(
            f"{label} needs more memory than is available to load: {_AGAIN}.", "memory"
        ) from None
    except RecursionError:
        raise AnswerFileError(f"{label} is nested too deeply to load: {_AGAIN}.", "too_deep") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        LookupError,
        struct.error,
        OverflowError,
    ) as exc:
        raise _damaged(label, f"{type(exc).__name__} while rebuilding the answers") from exc
    except Exception as exc:  # the contract: nothing but AnswerFileError ever leaves this function
        raise _damaged(label, f"{type(exc).__name__} while rebuilding the answers") from exc


def dump_answers(obj: object, path: str | os.PathLike[str]) -> None:
    """Validate ``obj`` like the grader will, then write it to ``path`` with pickle protocol 4 (atomically)."""
    validate_answers(obj)
    data = pickle.dumps(obj, protocol=PROTOCOL)
    if len(data) > MAX_BYTES:
        raise AnswerFileError(
            f"The answers take {_size(len(data))}, more than the {_size(MAX_BYTES)} an answers file may have: "
            "store fewer or smaller arrays.",
            "too_large",
        )
    load_answers(data)  # exactly what the grader will do with the file
    atomic_write(path, data)
