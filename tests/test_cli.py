"""The ``hw4`` command: staff commands come from the ``hw4.commands`` entry point, and every error a user can
cause is one sentence on stderr with exit status 2."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from autograder import cli as staff
from autograder.batch import BatchError
from autograder.grade import CannotGrade
from autograder.release import ReleaseError, bundle_pyproject
from autograder.sandbox import SandboxUnavailable
from hw4 import cli
from hw4.errors import MissingFile, UserError
from hw4.model import ModelAccessError
from hw4.safe_pickle import AnswerFileError
from hw4.submission import SubmissionError

ROOT = Path(__file__).resolve().parents[1]
STAFF_COMMANDS = ("grade", "grade-all", "references", "gradescope", "release", "build-notebooks", "demo")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def installed(monkeypatch, *targets: str) -> None:
    """Pretend the installed ``hw4.commands`` entry points are ``targets`` (``module:function``)."""
    points = importlib.metadata.EntryPoints(
        importlib.metadata.EntryPoint(f"set{i}", target, cli.COMMANDS_GROUP) for i, target in enumerate(targets))
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group=None: points.select(group=group) if group else points)


def one_sentence(capsys, command: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"hw4 {command}: ") and "Traceback" not in err, err
    return err


def test_pyproject_registers_the_staff_commands_for_the_hw4_command():
    assert PYPROJECT["project"]["scripts"]["hw4"] == "hw4.cli:main"
    group = PYPROJECT["project"]["entry-points"][cli.COMMANDS_GROUP]
    assert list(group.values()) == ["autograder.cli:register"]


def test_the_student_bundle_registers_no_staff_commands():
    bundle = bundle_pyproject(PYPROJECT)
    assert "entry-points" not in bundle["project"] and bundle["project"]["scripts"] == {"hw4": "hw4.cli:main"}


def test_hw4_dispatches_to_the_registered_staff_commands(monkeypatch, tmp_path, capsys):
    installed(monkeypatch, "autograder.cli:register")
    assert cli.installed_commands() == [staff.register]
    empty = tmp_path / "homework4.pkl"
    empty.write_bytes(b"")
    assert cli.main(["grade", str(empty)]) == 2  # reached autograder's grade: the file is judged, not the command
    assert "empty" in one_sentence(capsys, "grade")


@pytest.mark.parametrize("target", [None, "not_installed_package.cli:register"], ids=["none", "package-absent"])
def test_without_the_autograder_staff_commands_are_one_sentence(monkeypatch, capsys, target):
    installed(monkeypatch, *([target] if target else []))
    assert cli.installed_commands() == []
    for command in STAFF_COMMANDS:
        assert cli.main([command, "x"]) == 2
        err = one_sentence(capsys, command)
        assert "course staff" in err and "answers, submit" in err
    help_text = cli.parser().format_help()
    assert "submit" in help_text and not any(c in help_text for c in ("grade", "references", "release"))


def test_a_broken_command_set_is_not_hidden(monkeypatch):
    """Only a package that is absent is skipped; a module of it that fails to import is a bug to see."""
    installed(monkeypatch, "autograder.no_such_module:register")
    with pytest.raises(ModuleNotFoundError):
        cli.installed_commands()


def test_staff_main_lists_every_command():
    help_text = cli.parser([staff.register]).format_help()
    for command in ("answers", "submit", *STAFF_COMMANDS):
        assert command in help_text


@pytest.mark.parametrize("error", [AnswerFileError, SubmissionError, ModelAccessError, CannotGrade, BatchError,
                                   ReleaseError, SandboxUnavailable, MissingFile])
def test_every_user_error_is_one_sentence(monkeypatch, capsys, error):
    assert issubclass(error, UserError)

    def fails(args):
        raise error("Something the user can fix.")

    monkeypatch.setattr(staff, "cmd_references", fails)
    assert staff.main(["references"]) == 2
    assert one_sentence(capsys, "references") == "hw4 references: Something the user can fix.\n"


def test_cli_error_paths(tmp_path, capsys, monkeypatch):
    """Each error a user can reach cheaply, through the real commands."""
    empty = tmp_path / "homework4.pkl"
    empty.write_bytes(b"")
    foreign = tmp_path / "grades.csv"
    foreign.write_text("name,grade\nalice,A\n")
    (tmp_path / "class").mkdir()
    runs = {
        "grade": ["grade", str(tmp_path / "missing.pkl")],  # no such file
        "answers": ["answers", str(tmp_path / "nothing.py"), "-o", str(tmp_path / "x.pkl")],
        "submit": ["submit", str(tmp_path / "nothing.ipynb")],
        "release": ["release", str(tmp_path / "bundle"), "--repository", "no-slash"],
    }
    for command, argv in runs.items():
        assert staff.main(argv) == 2, command
        one_sentence(capsys, command)
    assert staff.main(["grade", str(empty)]) == 2
    assert "empty" in one_sentence(capsys, "grade")
    assert staff.main(["grade-all", str(tmp_path / "nowhere"), "--csv", str(foreign)]) == 2
    assert "not a folder" in one_sentence(capsys, "grade-all")
    assert staff.main(["grade-all", str(tmp_path / "class"), "--csv", str(foreign)]) == 2
    assert "not a grades file" in one_sentence(capsys, "grade-all")


def test_a_real_process_prints_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(tmp_path / "nowhere")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr


def test_results_json_that_cannot_be_written_is_one_sentence(solution_pickle, tmp_path, capsys):
    assert staff.main(["grade", str(solution_pickle), "--no-diagnose",
                       "--json", str(tmp_path / "no" / "such" / "results.json")]) == 2
    assert "Cannot write" in one_sentence(capsys, "grade")
    assert staff.main(["grade", str(solution_pickle), "--no-diagnose", "--json", str(tmp_path / "results.json")]) == 0
    assert '"score": 100' in (tmp_path / "results.json").read_text()
