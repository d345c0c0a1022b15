"""What an answers file holds, as built-in types only; ``hw4.safe_pickle`` writes and reads it.

Answers are dicts (str keys), lists, tuples, str, int, float, bool, None, numeric numpy arrays and numpy
scalars.  In the file each array is the record ``(data, dtype, shape)``: ``data`` its bytes in C order,
``dtype`` one of ``DTYPES``, ``shape`` a tuple of ints; a numpy scalar is ``(data, dtype, None)``.  ``bytes``
appear nowhere else, so a tuple whose first item is bytes is a record.  ``to_plain`` turns answers into that
form and ``from_plain`` back; both walk every value, counting each visit (a value reached through N
references counts N times) and each array's bytes before it is built, and raise ``Invalid`` on the first
value or limit that an answers file may not hold.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["DTYPES", "MAX_DEPTH", "MAX_INT_BITS", "MAX_NODES", "Invalid", "from_plain", "show", "to_plain"]

MAX_DEPTH = 64
"""Deepest container nesting accepted (the top-level object is depth 0)."""
MAX_NODES = 1_000_000
"""Most values visited when walking the answers; a value reached through N references counts N times."""
MAX_INT_BITS = 256
"""Largest Python int accepted, in bits (answers only hold small metadata ints)."""
MAX_NDIM = 64
PAYLOAD_FACTOR = 4
"""Strings and array bytes summed over every visit may reach ``PAYLOAD_FACTOR * max_bytes``."""

_MULTI_BYTE = ("i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16")
DTYPES = frozenset({"|b1", "|i1", "|u1"} | {order + kind for order in "<>" for kind in _MULTI_BYTE})
"""Every dtype an array may have, spelled as numpy's ``dtype.str``: bool, ints, floats, complex, either byte order."""


class Invalid(Exception):
    """Where in the answers a problem is (``answers['q1']...``), what it is, and a short reason code."""

    def __init__(self, where: str, what: str, reason: str) -> None:
        super().__init__(what)
        self.where = where
        self.what = what
        self.reason = reason


def show(value: object, limit: int = 80) -> str:
    """A short, printable, quoted rendering of an attacker-controlled value."""
    text = ascii(str(value))[1:-1]
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"'{text}'"


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def _describe(obj: object) -> str:
    kind = type(obj)
    module = getattr(kind, "__module__", "") or ""
    qualname = getattr(kind, "__qualname__", kind.__name__)
    return f"an object of type {show(qualname if module == 'builtins' else f'{module}.{qualname}')}"


def _encodable(text: str) -> str:
    """``text`` with lone surrogates (valid in a pickle, not in UTF-8) replaced, so it can be printed and saved."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


class _Walk:
    """A depth-first copy of answers from the allowed types; subclasses turn arrays into records or back."""

    records = False
    """Whether a tuple whose first item is bytes is an array record (only in what a file holds)."""

    def __init__(self, max_bytes: int) -> None:
        self.nodes = 0
        self.payload = 0
        self.max_bytes = max_bytes
        self.payload_limit = PAYLOAD_FACTOR * max_bytes
        self.active: set[int] = set()

    def count(self, where: str, payload: int = 0) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise Invalid(where, f"more than {MAX_NODES:,} values (counting repeated references)", "too_many")
        self.payload += payload
        if self.payload > self.payload_limit:
            raise Invalid(where, f"more than {_size(self.payload_limit)} of data (counting repeated references)",
                          "too_many")

    def text(self, value: str) -> str:
        return value

    def leaf(self, obj: object, where: str) -> object:
        raise Invalid(where, _describe(obj), "type")

    def value(self, obj: object, where: str, depth: int) -> object:
        kind = type(obj)
        if type(obj) is str:
            self.count(where, len(obj))
            return self.text(obj)
        if kind in (float, bool, type(None)):
            self.count(where)
            return obj
        if type(obj) is int:
            self.count(where)
            if obj.bit_length() > MAX_INT_BITS:
                raise Invalid(where, f"an integer larger than {MAX_INT_BITS} bits", "int")
            return obj
        if kind in (dict, list) or (type(obj) is tuple and not (self.records and obj and type(obj[0]) is bytes)):
            return self.container(obj, where, depth)
        return self.leaf(obj, where)

    def container(self, obj: Any, where: str, depth: int) -> object:
        self.count(where)
        if depth >= MAX_DEPTH:
            raise Invalid(where, f"containers nested more than {MAX_DEPTH} levels deep", "too_deep")
        if id(obj) in self.active:
            raise Invalid(where, "a container that contains itself", "cycle")
        self.active.add(id(obj))
        try:
            if type(obj) is dict:
                out: dict[str, object] = {}
                for key, value in obj.items():
                    if type(key) is not str:
                        raise Invalid(where, f"a dict key that is {_describe(key)} instead of a str", "key")
                    out[self.text(key)] = self.value(value, f"{where}[{show(key, 40)}]", depth + 1)
                return out
            items = [self.value(value, f"{where}[{i}]", depth + 1) for i, value in enumerate(obj)]
            return items if type(obj) is list else tuple(items)
        finally:
            self.active.discard(id(obj))


class _ToPlain(_Walk):
    def leaf(self, obj: object, where: str) -> object:
        if type(obj) is not np.ndarray and not isinstance(obj, np.generic):
            return super().leaf(obj, where)
        dtype = obj.dtype
        if dtype.hasobject:
            raise Invalid(where, "a numpy array of Python objects", "dtype")
        if dtype.str not in DTYPES or dtype.fields is not None:
            raise Invalid(where, f"a numpy array of dtype {show(dtype.str)}", "dtype")
        self.count(where, obj.nbytes)
        return (obj.tobytes(), dtype.str, obj.shape if type(obj) is np.ndarray else None)


class _FromPlain(_Walk):
    records = True

    def text(self, value: str) -> str:
        return _encodable(value)

    def leaf(self, obj: object, where: str) -> object:
        if type(obj) is not tuple or not obj or type(obj[0]) is not bytes:
            return super().leaf(obj, where)
        if len(obj) != 3:
            raise Invalid(where, "a damaged numpy array", "array")
        data, dtype, shape = obj
        if type(dtype) is not str or dtype not in DTYPES:
            raise Invalid(where, f"a numpy array of dtype {show(dtype)}", "dtype")
        if shape is not None and (type(shape) is not tuple or len(shape) > MAX_NDIM
                                  or not all(type(d) is int and 0 <= d <= self.max_bytes for d in shape)):
            raise Invalid(where, f"a numpy array of shape {show(shape)}", "array")
        resolved = np.dtype(dtype)
        if len(data) != math.prod(shape or ()) * resolved.itemsize:
            raise Invalid(where, f"a numpy array whose shape {show(shape)} does not match its data", "array")
        self.count(where, len(data))  # counted before it is built: one buffer shared N times counts N times
        flat = np.frombuffer(data, np.uint8) != 0 if resolved.kind == "b" else np.frombuffer(data, resolved).copy()
        return flat[0] if shape is None else flat.reshape(shape)


def to_plain(answers: object, max_bytes: int) -> object:
    """``answers`` with each numpy array and scalar as its record; ``Invalid`` for anything else not allowed."""
    return _ToPlain(max_bytes).value(answers, "answers", 0)


def from_plain(plain: object, max_bytes: int) -> object:
    """The answers a file's built-in data stands for (fresh, writable arrays); ``Invalid`` when it is not."""
    return _FromPlain(max_bytes).value(plain, "answers", 0)
