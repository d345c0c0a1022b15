"""The ``hw4`` command: ``submit`` and ``answers`` for students, plus whatever command sets are installed.

Staff commands (``grade``, ``grade-all``, ``references``, ...) live in ``autograder.cli``, which registers
itself under the ``hw4.commands`` entry-point group (``pyproject.toml``); this module never names it, so the
student bundle, which has no autograder, simply has no staff commands. Every subcommand is a thin wrapper
over a Python function of the same job. Errors a user can fix (``hw4.errors.UserError``) are printed as one
sentence with exit status 2, never as a traceback. Every subcommand takes ``--assignment KEY``
(``hw4.assignments``; default: the homework).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable

from .assignments import DEFAULT, ENV, get
from .errors import UserError
from .files import ANSWERS, NOTEBOOK, SCRIPT
from .model import EMBEDDED, MODEL_CHOICES

COMMANDS_GROUP = "hw4.commands"
"""Entry-point group: each entry is a ``register(add)`` function that adds its commands with ``add``."""
STAFF_ONLY = ("is not a command here (this installation has: {commands}); the course staff's commands need the "
              "full repository (the autograder and solutions packages), not the student bundle, installed by "
              "`bash scripts/setup.sh` (or run them as `python -m autograder`).")

Command = Callable[[argparse.Namespace], int]
AddCommand = Callable[..., argparse.ArgumentParser]
"""``add(name, fn, help, model=True, assignment=True) -> parser``: adds subcommand ``name`` running ``fn(args)``,
with ``--model`` and ``--assignment`` unless told not to."""
Register = Callable[[AddCommand], None]


def cmd_answers(args: argparse.Namespace) -> int:
    from .runner import write_answers

    write_answers(args.submission, args.output or "", model=args.model, time_limit_s=args.time_limit,
                  progress=not args.quiet, quiet=args.quiet, convert=not args.no_convert, assignment=args.assignment)
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from .runner import write_answers

    write_answers(args.notebook or get(args.assignment).notebook, output=None, model=args.model,
                  progress=not args.quiet, assignment=args.assignment)
    return 0


def register(add: AddCommand) -> None:
    """The student's commands."""
    p = add("answers", cmd_answers, f"Write {ANSWERS} from a converted notebook (.py) or the .ipynb.")
    p.add_argument("submission", help=f"{SCRIPT} (from `jupyter nbconvert --to script`) or the .ipynb")
    p.add_argument("-o", "--output", help=f"default: the assignment's answers file here ({ANSWERS})")
    p.add_argument("--time-limit", type=float,
                   help="seconds per case (default: 20 times the reference solution's time here, at least 10)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--no-convert", action="store_true",
                   help="read a .ipynb's code cells as they are instead of writing the .py beside it")

    p = add("submit", cmd_submit, f"Convert your notebook to .py and write {ANSWERS} beside it, in one step.")
    p.add_argument("notebook", nargs="?",
                   help=f"your notebook (default: the assignment's, {NOTEBOOK}, here or in notebooks/)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def installed_commands() -> list[Register]:
    """The ``register`` functions of the ``hw4.commands`` entry points whose package is installed here."""
    from importlib.metadata import entry_points

    found = []
    for entry in entry_points(group=COMMANDS_GROUP):
        try:
            found.append(entry.load())
        except ModuleNotFoundError as err:  # registered by an installation whose package is not here
            if err.name != entry.module.split(".")[0]:
                raise
    return found


def parser(registers: Iterable[Register] = ()) -> argparse.ArgumentParser:
    """The command-line interface: the student's commands and those of ``registers``."""
    top = argparse.ArgumentParser(prog="hw4", description="Homework 4: sampling from Stable Audio Open.")
    sub = top.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Command, help: str, model: bool = True, assignment: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(fn=fn)
        if assignment:
            p.add_argument("--assignment", default=DEFAULT, metavar="KEY",
                           help=f"which assignment (default: {DEFAULT}; others are registered by {ENV})")
        if model:
            p.add_argument("--model", choices=MODEL_CHOICES, default=EMBEDDED,
                           help="embedded (offline stand-in, default) or sao (real weights; needs HF_TOKEN)")
        return p

    for register_commands in (register, *registers):
        register_commands(add)
    top.set_defaults(commands=tuple(sub.choices))
    return top


def main(argv: list[str] | None = None, registers: Iterable[Register] | None = None) -> int:
    """Entry point of the ``hw4`` command; ``registers`` default to the installed command sets."""
    argv = sys.argv[1:] if argv is None else list(argv)
    registers = installed_commands() if registers is None else list(registers)
    top = parser(registers)
    commands = top.get_default("commands")
    word = next((a for a in argv if not a.startswith("-")), None)
    if not registers and word is not None and word not in commands:
        print(f"hw4 {word}: {word!r} {STAFF_ONLY.format(commands=', '.join(commands))}", file=sys.stderr)
        return 2
    args = top.parse_args(argv)
    try:
        if getattr(args, "assignment", None):
            get(args.assignment)  # an unknown key is one sentence before anything loads
        return args.fn(args)
    except UserError as err:  # every error a user can fix derives from hw4.errors.UserError
        print(f"hw4 {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hw4 {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
