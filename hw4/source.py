"""Read a submission however it was made, with IPython magics and shell lines blanked in place.

A ``.ipynb`` (its code cells joined), or a ``.py`` from nbconvert (Jupyter, JupyterLab), Colab's Download .py
(magics commented out, ``!pip`` lines kept verbatim) or VS Code's and PyCharm's ``# %%`` cells; any line ends, a
byte-order mark. Every form goes through ``blank_magics``, one cell at a time. ``hw4.submission`` parses and
runs what this module reads; ``load_source`` keeps, for a notebook, the cell and line of every joined line, so
that a student is pointed at the right place, and every line it blanked.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, field
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
    blanked: list[tuple[int, str, str]] = field(default_factory=list)  # (line, text, reason) per magic blanked

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


# Cell magics whose body is Python run in the notebook's own namespace: the body is kept, only the magic is blanked.
# Every other cell magic (%%bash, %%writefile, %%html, %%timeit, ...) blanks its whole cell.
PYTHON_CELL_MAGICS = frozenset({"capture", "time", "prun", "debug"})
COLAB_HEADER = "# Commented out IPython magic to ensure Python compatibility."
_COLAB_MAGIC = re.compile(r"# (\s*%[A-Za-z%].*)$")  # a magic Colab's export commented out, indentation kept
# ``# %%`` (VS Code), ``#%%`` (PyCharm), ``# In[3]:`` (nbconvert); not Colab's commented-out ``# %%capture``.
_CELL_MARKER = re.compile(r"#(?: ?%%(?:\s.*)?| In\[[ 0-9]*\]:)$")


def _is_magic(line: str) -> bool:
    return line.lstrip().startswith(("%", "!"))


def _statement_starts(lines: list[str]) -> list[bool]:
    """For each line, whether it starts a statement (not inside brackets, a string or a ``\\`` continuation).

    A magic line is only one where a statement starts: ``% y`` continuing ``("a %s"`` is Python.
    """
    starts: list[bool] = []
    depth, quote, continued = 0, "", False
    for line in lines:
        starts.append(depth == 0 and not quote and not continued)
        if starts[-1] and _is_magic(line):
            continued = line.rstrip().endswith("\\")
            continue
        i, n, comment = 0, len(line), False
        while i < n:
            c = line[i]
            if quote:
                if c == "\\":
                    i += 1
                elif line.startswith(quote, i):
                    i += len(quote) - 1
                    quote = ""
            elif c == "#":
                comment = True
                break
            elif c in "\"'":
                quote = line[i:i + 3] if line.startswith(c * 3, i) else c
                i += len(quote) - 1
            elif c in "([{":
                depth += 1
            elif c in ")]}":
                depth = max(depth - 1, 0)
            i += 1
        if len(quote) == 1:
            quote = ""  # an unclosed one-line string is a syntax error the parser reports
        continued = not quote and not comment and line.rstrip().endswith("\\")
    return starts


def _cell_magic_name(line: str) -> str | None:
    """``capture`` for ``%%capture -n``; None for a line that is no cell magic."""
    stripped = line.strip()
    return stripped[2:].split(" ")[0] if stripped.startswith("%%") else None


def _cell_magic(lines: list[str], starts: list[bool]) -> int | None:
    """The index of a cell magic (``%%name``) on the cell's first line of code, if there is one."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return i if starts[i] and stripped.startswith("%%") else None
    return None


def blank_magics(lines: list[str]) -> tuple[list[str], list[tuple[int, str, str]]]:
    """One cell's lines with IPython magics and shell lines blanked in place: ``(lines, [(index, text, reason)])``.

    An indented one becomes ``pass`` so that its block stays non-empty. A ``%%`` cell magic on the cell's first
    line of code blanks the whole cell, unless its body is Python (``PYTHON_CELL_MAGICS``, e.g. ``%%capture``).
    """
    starts = _statement_starts(lines)
    out, blanked = list(lines), []
    magic = _cell_magic(lines, starts)
    whole_cell = magic is not None and _cell_magic_name(lines[magic]) not in PYTHON_CELL_MAGICS
    continued = False  # a magic line ending in a backslash continues on the next line
    for i, line in enumerate(lines):
        if whole_cell and magic is not None and i > magic:
            reason = f"in a {lines[magic].strip().split(' ')[0]} cell"
        elif continued or (starts[i] and _is_magic(line)):
            reason = "shell command" if line.lstrip().startswith("!") else "IPython magic"
            continued = line.rstrip().endswith("\\")
        else:
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out[i] = f"{indent}pass" if indent and not whole_cell else ""
        if line.strip():
            blanked.append((i, line, reason))
    return out, blanked


def _restore_colab_magics(lines: list[str]) -> list[str]:
    """Colab's Download .py comments magics out (and a cell magic's whole cell): put them back, to blank them alike."""
    out = list(lines)
    i = 0
    while i < len(out):
        match = _COLAB_MAGIC.match(out[i])
        if match is None:
            i += 1
            continue
        out[i] = match.group(1)
        i += 1
        if _cell_magic_name(out[i - 1]) in PYTHON_CELL_MAGICS:  # another cell magic's body stays commented out
            while i < len(out) and out[i].startswith("#"):  # the cell's body, commented out line by line
                out[i] = out[i][2:] if out[i].startswith("# ") else ""
                i += 1
    return out


def _script_code(text: str) -> tuple[str, list[tuple[int, str, str]]]:
    """A ``.py`` file with magics and shell lines blanked, cell by cell where it marks cells (``# %%``, ``# In[1]:``)."""
    lines = text.split("\n")
    if COLAB_HEADER in lines:
        lines = _restore_colab_magics(lines)
    cuts = [0, *(i for i, line in enumerate(lines) if _CELL_MARKER.match(line.rstrip())), len(lines)]
    out: list[str] = []
    blanked: list[tuple[int, str, str]] = []
    for begin, end in zip(cuts, cuts[1:]):
        cell, found = blank_magics(lines[begin:end])
        out += cell
        blanked += [(begin + i + 1, line, reason) for i, line, reason in found]
    return "\n".join(out), blanked


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


def _notebook_code(text: str, display: str) -> tuple[str, list[tuple[int, int]], list[tuple[int, str, str]]]:
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
    blanked: list[tuple[int, str, str]] = []
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(part) for part in source)
        if not isinstance(source, str):
            continue
        cell_lines, found = blank_magics(normalize_newlines(source).split("\n"))
        blanked += [(len(lines) + i + 1, line, reason) for i, line, reason in found]
        lines += cell_lines
        where += [(number, i) for i in range(1, len(cell_lines) + 1)]
    return "\n".join(lines) + "\n", where, blanked


def script_source(text: str, filename: str, display: str) -> Source:
    """Python source text (any line ends, a byte-order mark) read as a ``.py`` file is."""
    code, blanked = _script_code(normalize_newlines(text).removeprefix("\ufeff"))
    return Source(code, filename, display, None, blanked)


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
        code, cells, blanked = _notebook_code(text, display)
        return Source(code, filename, display, cells, blanked)
    return script_source(text, filename, display)


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
