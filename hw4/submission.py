"""Import a student's homework without running it: the runner calls ``import_submission`` on ``homework4_stub``.

Students write their functions in ``homework4_stub.ipynb`` and save it as it is or as a ``.py`` (nbconvert,
Colab, VS Code); the notebook also loads the model, plays audio and runs test loops. Only the top-level
statements that define something are run here: imports (each on its own, a failing one is reported and
skipped), function and class definitions (decorated too), lambda assignments, and assignments computed from
literals, imports, earlier such names and the names the runner provides (``model``, ``SAMPLE_RATE``, ...),
calling only cheap constructors (``torch.tensor``, ``torch.linspace``, ``math.*``, ``np.zeros``, ...; see
``SAFE_CALLS``) and a few harmless ones (``device = "cuda" if torch.cuda.is_available() else "cpu"``). The Python
body of a ``%%capture`` cell nbconvert wrapped in ``get_ipython().run_cell_magic`` counts as top level. Every
other top-level statement (loading a model or a clip, sampling, plotting) is skipped and reported with what it
does, so students no longer have to comment anything out before submitting. Reading the file (and blanking its
magics and shell lines) is ``hw4.source``'s job.
"""

from __future__ import annotations
import __future__

import ast
import linecache
import os
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .source import (
    PYTHON_CELL_MAGICS,
    Source,
    SubmissionError,
    load_source,
    read_source,
    script_source,
    short_error,
)

__all__ = ["ImportReport", "SubmissionError", "import_submission", "read_source", "summary"]
MAX_SNIPPET = 80
MAX_SUMMARY_LINES = 10


@dataclass
class ImportReport:
    """What ``import_submission`` made of a submission."""

    module: types.ModuleType
    skipped: list[str] = field(default_factory=list)
    failed_imports: list[str] = field(default_factory=list)
    provided: list[str] = field(default_factory=list)  # names the runner set (model, SAMPLE_RATE, ...)
    blanked: list[tuple[str, str, str]] = field(default_factory=list)  # (where, line, why) per magic/shell line
    kept: list[tuple[str, str, str]] = field(default_factory=list)  # (where, names, kind) per definition run


def _short(text: str) -> str:
    return text if len(text) <= MAX_SNIPPET else text[: MAX_SNIPPET - 3] + "..."


def _snippet(source: Source, node: ast.stmt) -> str:
    text = source.line(node.lineno).strip()
    if len(text) > MAX_SNIPPET:
        text = _short(text)
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


# Calls a top-level assignment may make: cheap, no side effects, nothing loaded, read, drawn at random or shown.
# Named as imported; ``import torch as t`` then ``t.zeros(3)`` is found by what ``t.zeros`` is.
SAFE_CALLS = frozenset({
    "int", "float", "round", "abs", "min", "max", "len", "str", "bool", "tuple", "list", "dict", "range",
    "torch.cuda.is_available", "torch.backends.mps.is_available", "torch.device", "torch.dtype",
    *(f"torch.{name}" for name in (
        "tensor", "as_tensor", "zeros", "ones", "full", "eye", "linspace", "logspace", "arange",
        "zeros_like", "ones_like", "full_like", "exp", "log", "sqrt", "sin", "cos")),
    *(f"numpy.{name}" for name in (
        "array", "asarray", "zeros", "ones", "full", "eye", "linspace", "logspace", "geomspace",
        "arange", "float32", "float64", "int64", "exp", "log", "sqrt", "sin", "cos", "deg2rad")),
})
SAFE_MODULES = frozenset({"math", "cmath", "fractions"})  # every function of these is cheap and pure
CONSTANT = "constant"
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


def _resolve(node: ast.expr, known: Mapping[str, Any]) -> object:
    """What a dotted name (``np.zeros``) stands for among ``known``'s modules; None for anything else."""
    if isinstance(node, ast.Name):
        return known.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, known)
        if isinstance(base, types.ModuleType):
            return getattr(base, node.attr, None)
    return None


def _safe_call(func: ast.expr, known: Mapping[str, Any]) -> bool:
    """True when ``func`` is one of SAFE_CALLS (by what it is, however imported) or a function of SAFE_MODULES."""
    name = _dotted(func)
    if name in SAFE_CALLS and "." not in name:  # a builtin, unless the submission rebinds it
        return name not in known
    target = _resolve(func, known)
    if target is None:
        return False
    owner = _resolve(func.value, known) if isinstance(func, ast.Attribute) else None
    if getattr(owner, "__name__", None) in SAFE_MODULES or getattr(target, "__module__", None) in SAFE_MODULES:
        return True
    for safe in SAFE_CALLS:
        root, _, attr = safe.rpartition(".")
        loaded = sys.modules.get(root) if root else None
        if loaded is not None and getattr(loaded, attr, None) is target:
            return True
    return False


def _is_computed_constant(node: ast.expr | None, known: Mapping[str, Any]) -> bool:
    """True for an expression of literals and known names (imports, constants, the runner's), calling only safe calls."""
    if node is None:
        return False
    calls = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    for n in ast.walk(node):
        if not isinstance(n, _SAFE_NODES):
            return False
        if isinstance(n, ast.Call) and not _safe_call(n.func, known):
            return False
        if isinstance(n, ast.Name) and n.id not in known and not (id(n) in calls and n.id in SAFE_CALLS):
            return False
    return True


def _definition(node: ast.stmt, known: Mapping[str, Any]) -> str | None:
    """What ``node`` defines (``function``, ``class``, ``import``, ``lambda``, ``constant``), or None if it does work."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "import"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return "function"
    if isinstance(node, ast.ClassDef):
        return "class"
    if isinstance(node, ast.Assign) and all(map(_plain_targets, node.targets)):
        targets, value = node.targets, node.value
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        targets, value = [node.target], node.value
    else:
        return None
    if isinstance(value, ast.Lambda):
        return "lambda" if all(isinstance(t, ast.Name) for t in targets) else None
    return CONSTANT if _is_literal(value) or _is_computed_constant(value, known) else None


# The work a skipped statement does, told by the last part of a name it calls (``torch.load`` -> ``load``).
WORK = (
    (("load", "read", "open", "from_pretrained", "download", "fromfile", "loadtxt"), "loads or reads something"),
    (("rand", "randn", "randint", "randn_like", "rand_like", "normal", "sample", "multinomial"),
     "draws random numbers or samples"),
    (("plot", "imshow", "show", "display", "audio", "play", "figure", "subplots", "specshow"), "plots or plays"),
    (("write", "save", "savefig", "write_text", "dump"), "writes a file"),
)


def _work(node: ast.stmt) -> str | None:
    """What a statement's calls do (``loads or reads something``, ...), by the names they call; None if unknown."""
    called = [(_dotted(n.func) or str(getattr(n.func, "attr", ""))).split(".")[-1].lower()
              for n in ast.walk(node) if isinstance(n, ast.Call)]
    for words, what in WORK:
        if any(name == word or name.startswith(word + "_") or name.endswith("_" + word)
               for name in called for word in words):
            return what
    return None


def _classify(node: ast.stmt, known: Mapping[str, Any]) -> str | None:
    """``None`` for a statement to run, otherwise why it is skipped (``""``: skip silently)."""
    if _definition(node, known) is not None:
        return None
    if isinstance(node, ast.Pass) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
        return ""  # does nothing: a docstring, a note in a string, ``pass``
    if _is_main_block(node):
        return '`if __name__ == "__main__"` block: skipped'
    if any(isinstance(n, ast.Name) and n.id == "get_ipython" for n in ast.walk(node)):
        return "notebook magic: skipped"
    return f"{_work(node) or 'not a definition'}: skipped"


def _future_flags(node: ast.ImportFrom) -> int:
    flags = 0
    for alias in node.names:
        feature = getattr(__future__, alias.name, None)
        flags |= getattr(feature, "compiler_flag", 0)
    return flags


def _names(node: ast.stmt) -> list[str]:
    """The names a definition binds: ``to_d`` of ``def to_d``, ``A, B`` of ``A, B = 1, 2``."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", node)]
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def _python_cell_magic(node: ast.stmt) -> str | None:
    """The body of ``get_ipython().run_cell_magic('capture', '', body)`` (nbconvert's ``%%capture`` cell), if Python."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return None
    call = node.value
    if _dotted(call.func) is not None or not isinstance(call.func, ast.Attribute) or call.func.attr != "run_cell_magic":
        return None
    owner = call.func.value
    if not (isinstance(owner, ast.Call) and _dotted(owner.func) == "get_ipython" and len(call.args) == 3):
        return None
    magic, _, body = (a.value if isinstance(a, ast.Constant) else None for a in call.args)
    return body if magic in PYTHON_CELL_MAGICS and isinstance(body, str) else None


def _statements(tree: ast.Module) -> list[ast.stmt]:
    """The top-level statements, with the Python body of an nbconvert-converted ``%%capture`` cell in its place."""
    out: list[ast.stmt] = []
    for node in tree.body:
        body = _python_cell_magic(node)
        try:
            inner = ast.parse(body) if body is not None else None
        except (SyntaxError, ValueError):
            inner = None
        if inner is None:
            out.append(node)
            continue
        position = {"lineno": node.lineno, "end_lineno": node.lineno, "col_offset": 0,
                    "end_col_offset": node.end_col_offset}
        for statement in inner.body:  # every statement points at the line of the cell magic
            for n in ast.walk(statement):
                if "lineno" in n._attributes:
                    for attribute, value in position.items():
                        setattr(n, attribute, value)
            out.append(statement)
    return out


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
        source = script_source(path_or_source, f"<{name}>", f"{name}.py")
    else:
        source = load_source(path_or_source)
    if source.cells is not None or source.filename.startswith("<") or source.blanked:
        # Tracebacks show the lines that ran, not the notebook's JSON or a Colab export's commented-out cell.
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
        raise SubmissionError(f"{source.display} could not be parsed as Python ({short_error(e)}).") from None

    module = types.ModuleType(name, ast.get_docstring(tree))
    module.__file__ = source.filename
    extra = dict(extra_globals or {})
    report = ImportReport(module, provided=sorted(extra),
                          blanked=[(source.where(n), text.strip(), why) for n, text, why in source.blanked])
    module.__dict__.update(extra)

    flags = 0
    previous = sys.modules.get(name)
    sys.modules[name] = module  # dataclasses and typing look the module up while classes are made
    try:
        for node in _statements(tree):
            kind = _definition(node, module.__dict__)
            reason = None if kind is not None else _classify(node, module.__dict__)
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
                if not is_import:
                    report.kept.append((source.where(node.lineno), ", ".join(_names(node)), kind or ""))
            except (Exception, SystemExit) as e:
                entry = f"{source.where(node.lineno)}: {_snippet(source, node)}"
                if is_import:
                    report.failed_imports.append(f"{entry}  ({short_error(e)})")
                else:
                    report.skipped.append(f"{entry}  (failed while defining it: {short_error(e)})")
    finally:
        if previous is not None:
            sys.modules[name] = previous
        elif sys.modules.get(name) is module:
            del sys.modules[name]
    module.__dict__.update(extra)
    return report


def _defined(report: ImportReport) -> tuple[list[str], list[str], list[str]]:
    """Functions (lambdas too), classes and constants the submission itself defined (not the names provided)."""
    module, provided = report.module, set(report.provided)
    functions: list[str] = []
    classes: list[str] = []
    for key, value in vars(module).items():
        if key.startswith("__") or key in provided:
            continue
        if getattr(value, "__module__", None) == module.__name__ and callable(value):
            (classes if isinstance(value, type) else functions).append(key)
    assigned = [name for _, names, kind in report.kept if kind == CONSTANT for name in names.split(", ")]
    constants = [key for key in dict.fromkeys(assigned) if key in vars(module) and key not in provided
                 and key not in functions and key not in classes]
    return functions, classes, constants


def _capped(lines: list[str]) -> list[str]:
    shown = [f"  {line}" for line in lines[:MAX_SUMMARY_LINES]]
    if len(lines) > MAX_SUMMARY_LINES:
        shown.append(f"  ... and {len(lines) - MAX_SUMMARY_LINES} more")
    return shown


def summary(report: ImportReport) -> str:
    """A few friendly lines for the student: what was kept, what was skipped and why."""
    functions, classes, constants = _defined(report)
    file = os.path.basename(getattr(report.module, "__file__", None) or report.module.__name__)
    out = [f"Imported {file}."]
    if functions:
        out.append(f"Functions: {', '.join(functions)}.")
    else:
        out.append("No functions were found: check that your definitions start at the left margin.")
    if classes:
        out.append(f"Classes: {', '.join(classes)}.")
    if constants:
        out.append(f"Constants: {', '.join(constants)}.")
    if report.provided:
        out.append(f"Provided by the runner (your own lines setting them are overridden): "
                   f"{', '.join(report.provided)}.")
    if report.blanked:
        out.append(f"Blanked {len(report.blanked)} notebook line(s) (shell commands and IPython magics do not run here):")
        out.extend(_capped([f"{where}: {_short(text)}  ({why})" for where, text, why in report.blanked]))
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
