"""Import a student's homework without running it: the runner calls ``import_submission`` on ``homework4_stub``.

Students write their functions in ``homework4_stub.ipynb`` and convert it with
``jupyter nbconvert --to script``; the notebook also loads the model, plays audio
and runs test loops. Only the top-level statements that define something are run
here: imports (each on its own, a failing one is reported and skipped), function
and class definitions, and assignments computed from literals, imports, earlier
such names and the names the runner provides (``model``, ``SAMPLE_RATE``, ...), with no
call but a few harmless ones (``HOP = model.pretransform.downsampling_ratio``,
``device = "cuda" if torch.cuda.is_available() else "cpu"``). Every other top-level
statement (loading a model or a clip, sampling, plotting) is skipped and reported,
so students no longer have to comment anything out before submitting.
"""

from __future__ import annotations
import __future__

import ast
import json
import linecache
import os
import sys
import types
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError

SUFFIXES = (".py", ".ipynb")
MAX_SNIPPET = 80
MAX_ERROR = 200
MAX_SUMMARY_LINES = 10


class SubmissionError(UserError):
    """A submission that cannot be imported at all; the message is one sentence for the student."""


@dataclass
class ImportReport:
    """What ``import_submission`` made of a submission."""

    module: types.ModuleType
    skipped: list[str] = field(default_factory=list)
    failed_imports: list[str] = field(default_factory=list)
    provided: list[str] = field(default_factory=list)  # names the runner set (model, SAMPLE_RATE, ...)


@dataclass
class _Source:
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
        lines = self.text.split("\n")
        if lineno is None or not lines:
            return ""
        return lines[min(max(lineno, 1), len(lines)) - 1]


def _normalize_newlines(text: str) -> str:
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
                f"{display} could not be read as a Jupyter notebook ({_short(e)}); "
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
        cell_lines = _normalize_newlines(source).split("\n")
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


def _load(path: str | os.PathLike[str]) -> _Source:
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
        text = _normalize_newlines(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise SubmissionError(
            f"{display} line {line} is not UTF-8 text; save the file as UTF-8 and submit it again."
        ) from None
    filename = os.path.abspath(p)
    if p.suffix.lower() == ".ipynb":
        code, cells = _notebook_code(text, display)
        return _Source(code, filename, display, cells)
    return _Source(text, filename, display)


def read_source(path: str | os.PathLike[str]) -> str:
    """Python source of a ``.py`` file, or the code cells of a ``.ipynb`` joined without magics.

    Notebook lines are kept in place (magics become blank lines), so the joined
    text has one line per line of code cell, cell after cell.
    """
    return _load(path).text


def _short(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 3] + "..."


def _snippet(source: _Source, node: ast.stmt) -> str:
    text = source.line(node.lineno).strip()
    if len(text) > MAX_SNIPPET:
        text = text[: MAX_SNIPPET - 3] + "..."
    elif (node.end_lineno or node.lineno) > node.lineno:
        text += " ..."
    return text


def _is_literal(node: ast.expr | None) -> bool:
    if node is None:
        return False
    try:
        ast.literal_eval(node)
    except Exception:
        return False
    return True


def _plain_targets(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Starred):
        return _plain_targets(node.value)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_plain_targets(elt) for elt in node.elts)
    return False


def _is_main_block(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    names = [p for p in parts if isinstance(p, ast.Name) and p.id == "__name__"]
    mains = [p for p in parts if isinstance(p, ast.Constant) and p.value == "__main__"]
    return len(parts) == 2 and len(names) == 1 and len(mains) == 1


# Calls a top-level assignment may make: cheap, no side effects, nothing loaded.
SAFE_CALLS = frozenset({
    "int", "float", "round", "abs", "min", "max", "len", "str", "bool", "tuple", "list", "dict", "range",
    "torch.cuda.is_available", "torch.backends.mps.is_available", "torch.device",
})
_SAFE_NODES = (ast.Constant, ast.Name, ast.Attribute, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
               ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.Dict, ast.Set, ast.Call, ast.keyword,
               ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.expr_context)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _is_computed_constant(node: ast.expr | None, known: Mapping[str, Any]) -> bool:
    """True for an expression of literals and known names (imports, constants, the runner's), calling only SAFE_CALLS."""
    if node is None:
        return False
    calls = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    for n in ast.walk(node):
        if not isinstance(n, _SAFE_NODES):
            return False
        if isinstance(n, ast.Call) and _dotted(n.func) not in SAFE_CALLS:
            return False
        if isinstance(n, ast.Name) and n.id not in known and not (id(n) in calls and n.id in SAFE_CALLS):
            return False
    return True


def _classify(node: ast.stmt, known: Mapping[str, Any]) -> str | None:
    """``None`` for a statement to run, otherwise why it is skipped (``""``: skip silently)."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return None
    if isinstance(node, ast.Assign) and all(map(_plain_targets, node.targets)) and (
            _is_literal(node.value) or _is_computed_constant(node.value, known)):
        return None
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and (
            _is_literal(node.value) or _is_computed_constant(node.value, known)):
        return None
    if isinstance(node, ast.Pass) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
        return ""  # does nothing: a docstring, a note in a string, ``pass``
    if _is_main_block(node):
        return '`if __name__ == "__main__"` block: skipped'
    if any(isinstance(n, ast.Name) and n.id == "get_ipython" for n in ast.walk(node)):
        return "notebook magic: skipped"
    return "not a definition: skipped"


def _future_flags(node: ast.ImportFrom) -> int:
    flags = 0
    for alias in node.names:
        feature = getattr(__future__, alias.name, None)
        flags |= getattr(feature, "compiler_flag", 0)
    return flags


def import_submission(
    path_or_source: str | os.PathLike[str],
    name: str = "homework4_stub",
    extra_globals: dict[str, Any] | None = None,
) -> ImportReport:
    """Import a submission's definitions without running the rest of it.

    ``path_or_source`` is a path (any ``os.PathLike``, or a ``str`` without a
    newline) to a ``.py`` or ``.ipynb`` file, or Python source (a ``str`` with a
    newline). ``extra_globals`` are set in the module before its definitions run
    (defaults and decorators can use them) and again after (they win over a
    student's own ``SAMPLE_RATE`` or ``model``). Raises ``SubmissionError`` when
    the file is missing, unreadable or not valid Python.
    """
    if isinstance(path_or_source, str) and "\n" in path_or_source:
        source = _Source(_normalize_newlines(path_or_source), f"<{name}>", f"{name}.py")
    else:
        source = _load(path_or_source)
    if source.cells is not None or source.filename.startswith("<"):
        # Tracebacks show the lines that ran, not the notebook's JSON.
        lines = [line + "\n" for line in source.text.split("\n")]
        linecache.cache[source.filename] = (len(source.text), None, lines, source.filename)

    try:
        tree = ast.parse(source.text, filename=source.filename)
    except SyntaxError as e:
        where = source.where(e.lineno) if e.lineno else ""
        at = f" {where}" if where else ""
        line = source.line(e.lineno).strip() if e.lineno else ""
        shown = f": `{line}`" if line else ""
        raise SubmissionError(f"{source.display}{at} has a syntax error ({e.msg}){shown}") from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise SubmissionError(f"{source.display} could not be parsed as Python ({_short(e)}).") from None

    module = types.ModuleType(name, ast.get_docstring(tree))
    module.__file__ = source.filename
    extra = dict(extra_globals or {})
    report = ImportReport(module, provided=sorted(extra))
    module.__dict__.update(extra)

    flags = 0
    previous = sys.modules.get(name)
    sys.modules[name] = module  # dataclasses and typing look the module up while classes are made
    try:
        for node in tree.body:
            reason = _classify(node, module.__dict__)
            if reason is not None:
                if reason:
                    report.skipped.append(
                        f"{source.where(node.lineno)}: {_snippet(source, node)}  ({reason})"
                    )
                continue
            is_import = isinstance(node, (ast.Import, ast.ImportFrom))
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                flags |= _future_flags(node)
            try:
                code = compile(
                    ast.Module(body=[node], type_ignores=[]),
                    source.filename,
                    "exec",
                    flags=flags,
                    dont_inherit=True,
                )
                exec(code, module.__dict__)
            except (Exception, SystemExit) as e:
                entry = f"{source.where(node.lineno)}: {_snippet(source, node)}"
                if is_import:
                    report.failed_imports.append(f"{entry}  ({_short(e)})")
                else:
                    report.skipped.append(f"{entry}  (failed while defining it: {_short(e)})")
    finally:
        if previous is not None:
            sys.modules[name] = previous
        elif sys.modules.get(name) is module:
            del sys.modules[name]
    module.__dict__.update(extra)
    return report


def _defined(module: types.ModuleType, provided: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Functions, classes and constants the submission itself defined (not the names the runner provided)."""
    functions: list[str] = []
    classes: list[str] = []
    constants: list[str] = []
    for key, value in vars(module).items():
        if key.startswith("__") or key in provided:
            continue
        if getattr(value, "__module__", None) == module.__name__ and callable(value):
            (classes if isinstance(value, type) else functions).append(key)
        elif key.isupper() and isinstance(
            value, (int, float, complex, str, bytes, bool, tuple, list, dict, set)
        ):
            constants.append(key)
    return functions, classes, constants


def _capped(lines: list[str]) -> list[str]:
    shown = [f"  {line}" for line in lines[:MAX_SUMMARY_LINES]]
    if len(lines) > MAX_SUMMARY_LINES:
        shown.append(f"  ... and {len(lines) - MAX_SUMMARY_LINES} more")
    return shown


def summary(report: ImportReport) -> str:
    """A few friendly lines for the student: what was kept, what was skipped and why."""
    functions, classes, constants = _defined(report.module, report.provided)
    file = os.path.basename(getattr(report.module, "__file__", None) or report.module.__name__)
    out = [f"Imported {file}."]
    if functions:
        out.append(f"Functions: {', '.join(functions)}.")
    else:
        out.append("No functions were found: check that your definitions start at the left margin.")
    if classes:
        out.append(f"Classes: {', '.join(classes)}.")
    if constants:
        out.append(f"Constants (UPPER_CASE names): {', '.join(constants)}.")
    if report.provided:
        out.append(f"Provided by the runner (your own lines setting them are overridden): "
                   f"{', '.join(report.provided)}.")
    if report.skipped:
        out.append(
            f"Skipped {len(report.skipped)} top-level statement(s); only imports, functions, classes and "
            "constants computed without loading anything are run, so this is expected for model loading, "
            "tests and displays:"
        )
        out.extend(_capped(report.skipped))
    if report.failed_imports:
        out.append(f"{len(report.failed_imports)} import(s) failed here and were skipped:")
        out.extend(_capped(report.failed_imports))
    return "\n".join(out)
