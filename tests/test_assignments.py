"""A third assignment is one record in a file of its own: stub, check(), runner, grading, the integrity re-run,
grade-all and the Gradescope zip serve it.

The toy assignment lives only in a temporary folder (its record, one question ``double(x)`` on a random
tensor, its solutions with ``### BEGIN SOLUTION`` markers, a two-cell template, no model); nothing of the
shared code names it. The subprocess finds it through ``HW4_ASSIGNMENTS``, as a course's command would.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest

from hw4 import assignments as A
from hw4.cases import Case

ROOT = Path(__file__).resolve().parents[1]

DEFINITION = '''
"""A toy assignment: double a tensor."""
from dataclasses import dataclass
from pathlib import Path

from hw4.assignments import Assignment
from hw4.questions import Question, registry

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, kw_only=True)
class DoubleCase:
    name: str
    seed: int
    shape: tuple[int, ...]

    def call(self, fn, inputs):
        return fn(*inputs.normal(self.seed, self.shape, 1))


def no_model(model_name):
    return None, {}


def provided(model, config, model_name):
    return {"MODEL": model_name}


QUESTIONS = registry(Question(key="toy_double", function="double", title="Toy double", points=5,
    graded=(DoubleCase(name="small", seed=1, shape=(2, 3)), DoubleCase(name="tall", seed=2, shape=(8, 1))),
    self_check=(DoubleCase(name="check", seed=3, shape=(4,)),),
    hint="Twice the input, elementwise."))
ASSIGNMENT = Assignment(
    key="toy", title="A toy assignment", questions=QUESTIONS, graded=True, answers_file="toy.pkl",
    stub=HERE / "notebooks" / "toy_stub.ipynb", template=HERE / "template.ipynb",
    solutions_file=HERE / "toy_solutions.py", self_check_data=HERE / "data" / "toy_selfcheck.pkl",
    model_loader=no_model, provided=provided)
'''

SOLUTIONS = '''
import torch


def double(x: torch.Tensor) -> torch.Tensor:
    """Twice ``x``."""
    ### BEGIN SOLUTION
    return x + x
    ### END SOLUTION
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy assignment, written to ``tmp_path`` and registered from its file; unregistered afterwards."""
    (tmp_path / "toy_assignment.py").write_text(DEFINITION)
    (tmp_path / "toy_solutions.py").write_text(SOLUTIONS)
    template = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Toy\nDouble a tensor."),
        nbformat.v4.new_code_cell("import torch"),
        nbformat.v4.new_code_cell("# solution: double"),
        nbformat.v4.new_code_cell("from hw4.selfcheck import check\ncheck(double)"),
    ])
    nbformat.write(template, tmp_path / "template.ipynb")
    monkeypatch.setenv("HW4_CACHE_DIR", str(tmp_path / "cache"))
    assignment = A.load_file(tmp_path / "toy_assignment.py")
    yield assignment
    A.unregister("toy")


def _student(folder: Path, body: str) -> Path:
    path = folder / "toy_stub.py"
    path.write_text(f"import torch\n\n\ndef double(x):\n    {body}\n\n\nprint('plots and checks are skipped')\n")
    return path


def test_the_shipped_assignments_are_two_records():
    assert A.keys()[:2] == ("homework4", "lab") and A.get() is A.HOMEWORK4
    assert [a.key for a in A.graded()][:1] == ["homework4"] and not A.LECTURE_LAB.graded
    assert (A.HOMEWORK4.answers_file, A.HOMEWORK4.notebook, A.HOMEWORK4.script) == (
        "homework4.pkl", "homework4_stub.ipynb", "homework4_stub.py")
    for a in A.every():
        assert a.template.is_file() and a.solutions_file.is_file() and a.self_check_data.is_file() and a.stub.is_file()
    assert all(isinstance(c, Case) for q in A.questions() for c in (*q.graded, *q.self_check))


def test_an_ungraded_assignment_has_no_gradescope_zip(tmp_path):
    from autograder.gradescope_zip import build_zip
    from hw4.errors import UserError

    with pytest.raises(UserError, match="is not graded, so it has no Gradescope autograder"):
        build_zip(tmp_path / "lab.zip", assignment="lab")
    assert not (tmp_path / "lab.zip").exists()


def test_an_unknown_assignment_is_one_sentence(capsys):
    from autograder.cli import main

    with pytest.raises(A.UnknownAssignment) as caught:
        A.get("nope")
    assert str(caught.value) == "There is no assignment 'nope'; the known ones are homework4, lab, ddpm."
    for command in (["answers", "x.py"], ["grade", "x.pkl"], ["gradescope", "x.zip"], ["build-notebooks", "--check"]):
        assert main([*command, "--assignment", "nope"]) == 2
        assert capsys.readouterr().err == f"hw4 {command[0]}: {caught.value}\n"


def test_a_question_key_belongs_to_one_assignment(toy):
    import dataclasses

    with pytest.raises(ValueError, match="reuses question keys"):
        A.register(dataclasses.replace(toy, key="toy2"))


@pytest.mark.slow  # a sandboxed re-run, spawned grade-all workers and Gradescope's run_autograder in a subprocess
def test_a_third_assignment_runs_end_to_end(toy, tmp_path, capsys, monkeypatch):
    from autograder import gradescope_zip, pipeline
    from hw4.runner import write_answers
    from hw4.selfcheck import run_checks
    from solutions import build, fresh_solutions

    # stub generation: the stub and the self-check data, from the template and the solutions
    assert build.build_all(check=True, chosen=(toy,)) == [str(toy.stub), str(toy.self_check_data)]
    build.build_all(chosen=(toy,))
    assert build.build_all(check=True, chosen=(toy,)) == []
    stub = toy.stub.read_text()
    assert "raise NotImplementedError()" in stub and "x + x" not in stub and "BEGIN SOLUTION" not in stub
    assert "x + x" in build.solution_notebook(toy).read_text()

    # self-check: the notebook's check() on its small case, the hint for a wrong answer
    solved = fresh_solutions("toy")
    [(message, passed)] = run_checks(solved.double)
    assert passed and message.startswith("PASS  Toy double: 1/1 checks")
    namespace: dict = {}
    exec("def double(x):\n    return 3 * x\n", namespace)
    [(message, passed)] = run_checks(namespace["double"])
    assert not passed and message.startswith("FAIL  Toy double") and "Hint: Twice the input, elementwise." in message

    # the runner, then grading: full marks for the solution, none for a wrong answer
    right = _student(tmp_path, "return 2 * x")
    answers = write_answers(right, output=None, progress=False, assignment="toy")
    out = capsys.readouterr().out
    assert "Toy double: 2/2 cases answered, self-check PASS" in out and str(tmp_path / "toy.pkl") in out
    assert set(answers.questions) == {"toy_double"}
    report = pipeline.grade_file(tmp_path / "toy.pkl", assignment="toy")
    assert (report.total, report.max_total) == (5, 5) and report.questions[0].title == "Toy double"
    (tmp_path / "wrong").mkdir()
    write_answers(_student(tmp_path / "wrong", "return x"), output=None, progress=False, quiet=True,
                  assignment="toy")
    assert pipeline.grade_file(tmp_path / "wrong" / "toy.pkl", assignment="toy").total == 0
    assert answers.meta.cases_version == toy.graded_cases.version != A.HOMEWORK4.graded_cases.version

    # the integrity re-run: the student's code, re-run in the sandbox for its own assignment, reproduces its file
    from autograder.integrity import verify

    result = verify(right, tmp_path / "toy.pkl", assignment="toy", time_limit_s=300)
    assert result.ok is True, result.message
    assert verify(right, tmp_path / "wrong" / "toy.pkl", assignment="toy", time_limit_s=300).ok is False

    # grade-all: one column per toy question, its files found by the toy's names, graded in spawned workers
    # (which find the toy through HW4_ASSIGNMENTS, as a TA's shell would give it)
    from autograder import batch

    monkeypatch.setenv(A.ENV, str(tmp_path / "toy_assignment.py"))
    (tmp_path / "class" / "alice").mkdir(parents=True)
    shutil.copy(tmp_path / "toy.pkl", tmp_path / "class" / "alice" / "toy.pkl")
    shutil.copy(tmp_path / "wrong" / "toy.pkl", tmp_path / "class" / "bob.pkl")
    batch.grade_all(tmp_path / "class", tmp_path / "grades.csv", jobs=1, progress=False, assignment="toy")
    with (tmp_path / "grades.csv").open(newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert {k: (r["toy_double"], r["total"], r["max_total"], r["status"]) for k, r in rows.items()} == {
        "alice": ("5", "5", "5", "graded"), "bob": ("0", "0", "5", "graded")}

    # one Gradescope zip for the graded assignment, with its references and its key
    built = gradescope_zip.build_zip(tmp_path / "autograder.zip", assignment="toy")
    with zipfile.ZipFile(built) as archive:
        config = json.loads(archive.read("gradescope.json"))
        names = archive.namelist()
    assert config["assignment"] == "toy" and f"cache/{config['reference_key']}/references.pkl" in names
    assert config["definition"] in names  # the toy's record travels with the zip

    # ... and Gradescope's run_autograder, run from the unpacked zip alone (its own code, the toy's record from the
    # zip, no HW4_ASSIGNMENTS), grades the toy and re-runs its code in the sandbox
    autograder = tmp_path / "autograder"
    with zipfile.ZipFile(built) as archive:
        archive.extractall(autograder / "source")
    (autograder / "submission").mkdir()
    shutil.copy(tmp_path / "toy.pkl", autograder / "submission" / "toy.pkl")
    shutil.copy(right, autograder / "submission" / "toy_stub.py")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", A.ENV, "HW4_CACHE_DIR")}
    env.update(HW4_AUTOGRADER_ROOT=str(autograder), HW4_PYTHON=sys.executable)
    subprocess.run(["bash", str(autograder / "source" / "run_autograder")], env=env, check=True, timeout=600)
    results = json.loads((autograder / "results" / "results.json").read_text())
    assert results["score"] == 5, results
    assert results["tests"][-1]["status"] == "passed" and "reproduces toy.pkl" in results["tests"][-1]["output"]


@pytest.mark.slow
def test_a_command_in_another_process_finds_the_assignment_by_its_file(toy, tmp_path):
    """``HW4_ASSIGNMENTS`` registers the toy in a fresh process: the CLI's runner and grader serve it."""
    right = _student(tmp_path, "return x * 2")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HW4_ASSIGNMENTS": str(tmp_path / "toy_assignment.py")}
    script = textwrap.dedent(f"""
        import sys
        from autograder.cli import main
        code = main(["answers", {str(right)!r}, "-o", {str(tmp_path / "toy.pkl")!r}, "-q", "--assignment", "toy"])
        sys.exit(code or main(["grade", {str(tmp_path / "toy.pkl")!r}, "--assignment", "toy"]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Toy double" in result.stdout and "total: 5 / 5" in result.stdout


def test_the_runner_takes_the_assignment_a_file_is_named_after(tmp_path, monkeypatch):
    """On Colab a DDPM student runs runner.ipynb with ``ddpm_stub.py``: without naming the assignment, the DDPM
    cases are answered and ``ddpm.pkl`` is the file to upload; any other name stays with the homework."""
    from hw4 import assignments, runner

    assert assignments.for_file("ddpm_stub.py").key == "ddpm"
    assert assignments.for_file("some/folder/ddpm_stub.ipynb").key == "ddpm"
    assert assignments.for_file("homework4_stub.py").key == assignments.DEFAULT
    assert assignments.for_file("my_answers.py").key == assignments.DEFAULT
    assert assignments.for_file("ddpm_stub.py", "lab").key == "lab"

    chosen = []

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        chosen.append(args[2])
        raise Stop

    (tmp_path / "ddpm_stub.py").write_text("def beta_schedule(beta1, beta2, T, schedule):\n    return None\n")
    monkeypatch.setattr(runner, "generate", stop)
    with pytest.raises(Stop):
        runner.write_answers(tmp_path / "ddpm_stub.py", quiet=True)
    assert chosen == [assignments.get("ddpm").graded_cases]
