"""Read a submission: a ``.py`` file, or a notebook's code cells joined without IPython magics.

``hw4.submission`` parses and runs what this module reads; ``load_source`` keeps, for a notebook, the cell and
line of every joined line, so that a student is pointed at the right place.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

SUFFIXES = (".py", ".ipynb")
MAX_ERROR = 200


class SubmissionError(UserError):
    """A submission that cannot be imported at all; the message is one sentence for the student."""


@dataclass
class Source:
    """Submission text plus what is needed to point a student at a line."""

    text: str
    filename: str  # given to compile(): the real path, or "<name>" for a source string
    display: str  # the file name as the student knows it
    cells: list[tuple[int, int]] | None = None  # notebook: (cell, line in cell) per joined line

    def where(self, lineno: int | None) -> str:
        """``line 12``, or ``cell 5 line 3`` for a notebook."""
        if lineno is None:
            return "somewhere"
        if self.cells is not None and 1 <= lineno <= len(self.cells):
            cell, line = self.cells[lineno - 1]
            return f"cell {cell} line {line}"
        return f"line {lineno}"

    def line(self, lineno: int | None) -> str:
        """The text of line ``lineno`` (clamped to the first and last line)."""
        lines = self.text.split("\n")
        if lineno is None or not lines:
            return ""
        return lines[min(max(lineno, 1), len(lines)) - 1]


def normalize_newlines(text: str) -> str:
    """``text`` with ``\\r\\n`` and ``\\r`` line ends made ``\\n``."""
    # Python's tokenizer accepts \r\n and \r; str.splitlines would also split on \f and friends.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _is_magic(line: str) -> bool:
    return line.lstrip().startswith(("%", "!"))


def _raw_notebook(text: str) -> dict[str, Any] | None:
    """The notebook as plain JSON when nbformat rejects it (a hand-edited file, say); None if not one."""
    try:
        nb = json.loads(text)
    except ValueError:
        return None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None
    if not all(isinstance(cell, dict) for cell in nb["cells"]):
        return None
    return nb


def _notebook_code(text: str, display: str) -> tuple[str, list[tuple[int, int]]]:
    """Join a notebook's code cells, blanking IPython magics and shell lines in place."""
    import nbformat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
    except Exception as e:  # invalid JSON, unknown nbformat, fails the schema, ...
        nb = _raw_notebook(text)
        if nb is None:
            raise SubmissionError(
                f"{display} could not be read as a Jupyter notebook ({short_error(e)}); "
                "open it in Jupyter, save it and submit it again."
            ) from None

    lines: list[str] = []
    where: list[tuple[int, int]] = []
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(part) for part in source)
        if not isinstance(source, str):
            continue
        cell_lines = normalize_newlines(source).split("\n")
        cell_magic = source.lstrip().startswith("%%")
        continued = False  # a magic line ending in a backslash continues on the next line
        for i, line in enumerate(cell_lines, start=1):
            if cell_magic or continued or _is_magic(line):
                continued = line.rstrip().endswith("\\")
                indent = line[: len(line) - len(line.lstrip())]
                # An indented magic keeps its block non-empty with a ``pass``.
                line = f"{indent}pass" if indent and not cell_magic else ""
            lines.append(line)
            where.append((number, i))
    return "\n".join(lines) + "\n", where


def load_source(path: str | os.PathLike[str]) -> Source:
    """The submission at ``path`` as a ``Source``; ``SubmissionError`` says in one sentence why it cannot be read."""
    p = Path(path)
    display = p.name or str(p)
    if p.suffix.lower() not in SUFFIXES:
        raise SubmissionError(
            f"{display} is not a .py or .ipynb file; submit homework4_stub.ipynb or the "
            "homework4_stub.py made from it by `jupyter nbconvert --to script`."
        )
    if not p.exists():
        raise SubmissionError(f"The submission file {p} does not exist.")
    if not p.is_file():
        raise SubmissionError(f"The submission {p} is a folder, not a .py or .ipynb file.")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise SubmissionError(f"The submission file {p} could not be read ({e.strerror or e}).") from None
    try:
        text = normalize_newlines(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise SubmissionError(
            f"{display} line {line} is not UTF-8 text; save the file as UTF-8 and submit it again."
        ) from None
    filename = os.path.abspath(p)
    if p.suffix.lower() == ".ipynb":
        code, cells = _notebook_code(text, display)
        return Source(code, filename, display, cells)
    return Source(text, filename, display)


def read_source(path: str | os.PathLike[str]) -> str:
    """Python source of a ``.py`` file, or the code cells of a ``.ipynb`` joined without magics.

    Notebook lines are kept in place (magics become blank lines), so the joined
    text has one line per line of code cell, cell after cell.
    """
    return load_source(path).text


def short_error(e: BaseException) -> str:
    """``TypeName: message`` of ``e``, cut to ``MAX_ERROR`` characters."""
    text = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 3] + "..."
