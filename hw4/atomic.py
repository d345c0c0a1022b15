"""``atomic_write(path, data)`` and ``atomic_open(path)``: a reader sees the old file or the new one, never half.

The data goes to a temporary file beside ``path`` (same folder, so ``os.replace`` is atomic), which then
replaces ``path``; on any failure the temporary file is removed and ``path`` is left as it was. The new file
gets the permissions an ordinary ``open`` would give it (the umask's), so e.g. Gradescope can read
``results.json``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def temporary_name(path: Path) -> Path:
    """A hidden file name beside ``path``, unique to this process and call."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


@contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", fsync: bool = False, **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file for writing (``mode`` "w" or "wb", ``open``'s ``kwargs``); it replaces ``path``
    when the block ends without an exception (``fsync``: flushed to disk first)."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes a whole file: mode 'w' or 'wb', not {mode!r}")
    target = Path(path)
    temporary = temporary_name(target)
    try:
        with open(temporary, mode.replace("w", "x"), **kwargs) as handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()


def atomic_write(path: str | os.PathLike[str], data: bytes | str, fsync: bool = False) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; returns ``path``."""
    if isinstance(data, str):
        with atomic_open(path, "w", fsync=fsync, encoding="utf-8") as handle:
            handle.write(data)
    else:
        with atomic_open(path, "wb", fsync=fsync) as handle:
            handle.write(data)
    return Path(path)
