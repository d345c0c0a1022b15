"""``printable(text)``: make a string from a student's file or code safe to show a TA or a student.

Used wherever such text reaches a terminal, a CSV cell or ``results.json`` (error messages recorded in an
answers file, the integrity re-run's output): control and format characters (terminal escape codes,
carriage returns, bidirectional overrides) are written as ``\\x1b``-style escapes, lone surrogates are
replaced, and long text is cut.
"""

from __future__ import annotations

import unicodedata

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object, limit: int | None = None) -> str:
    """``text`` on one line with every control, format or unassigned character escaped, at most ``limit`` long."""
    out = "".join(_escape(c) if unicodedata.category(c) in UNSAFE_CATEGORIES else c for c in str(text))
    if limit is not None and len(out) > limit:
        out = out[: max(limit - 3, 0)] + "..."
    return out
