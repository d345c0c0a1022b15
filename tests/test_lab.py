"""The lecture lab: built like the homework, checked by the same machinery, runnable headless, released first."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path

import nbformat
import pytest
import torch
from test_notebooks import execute, text_output

from hw4 import assignments as A
from hw4 import questions as Q
from hw4.colab import colab_url, setup_cell_source
from hw4.plots import PLAYER_RATE
from hw4.selfcheck import run_checks
from solutions.build import assignment_source, function_sources

ROOT = Path(__file__).resolve().parents[1]
LAB_PATH = "notebooks/lab_stub.ipynb"


def lab_source() -> nbformat.NotebookNode:
    return assignment_source(A.LECTURE_LAB)


def solution_lines() -> list[str]:
    """The lines between the solution markers of solutions/lab.py."""
    lines, inside = [], False
    for line in A.LECTURE_LAB.solutions_file.read_text().splitlines():
        if line.strip() in ("### BEGIN SOLUTION", "### END SOLUTION"):
            inside = line.strip() == "### BEGIN SOLUTION"
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


def test_lab_stub_holds_no_solution_code():
    text = A.LECTURE_LAB.stub.read_text()
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    code = "\n".join(c.source for c in nbformat.read(A.LECTURE_LAB.stub, as_version=4).cells if c.cell_type == "code")
    assert len(solution_lines()) >= 6
    for line in solution_lines():
        assert line not in code, line
    assert code.count("raise NotImplementedError()") == len(Q.LAB) == 6
    for name in (q.function for q in Q.LAB.values()):
        assert f"def {name}(" in code and f"check({name})" in code, name
    assert set(function_sources(A.LECTURE_LAB.solutions_file)) == {q.function for q in Q.LAB.values()}


def test_lab_opens_from_its_badge_and_sets_itself_up():
    cells = nbformat.read(A.LECTURE_LAB.stub, as_version=4).cells
    assert f"({colab_url(LAB_PATH)})" in cells[0].source and "colab-badge.svg" in cells[0].source
    assert any(c.cell_type == "code" and c.source == setup_cell_source("embedded") for c in cells)
    assert any(c.cell_type == "code" and "load_model(MODEL)" in c.source for c in cells)


def test_lab_questions_are_never_graded():
    assert set(Q.LAB).isdisjoint(tuple(Q.HOMEWORK)) and set(Q.LAB) == set(A.LECTURE_LAB.self_check_cases.cases)


def _lab_solutions() -> types.ModuleType:
    module = types.ModuleType("lab_solutions")
    exec(compile(A.LECTURE_LAB.solutions_file.read_text(), str(A.LECTURE_LAB.solutions_file), "exec"), module.__dict__)
    return module


def test_lab_checks_pass_the_solutions_and_name_a_wrong_one():
    lab = _lab_solutions()
    results = run_checks(*(getattr(lab, name) for name in (q.function for q in Q.LAB.values())))
    assert len(results) == 6 and all(passed and message.startswith("PASS") for message, passed in results), results

    def corrupt_vp(x0, noise, sigma):  # the flow-matching weight where the square root belongs
        return (1 - sigma) * x0 + sigma * noise

    [(message, passed)] = run_checks(corrupt_vp)
    assert not passed and message.startswith("FAIL  Lab corrupt_vp") and "Hint: Variance preserving" in message


def test_lab_check_says_todo_and_names_a_crash():
    def cosine_sigma(t, T, s=0.008):
        raise NotImplementedError()

    def cfg_combine(uncond, cond, cfg_scale):
        return uncond @ torch.ones(3)

    (todo, _), (crash, passed) = run_checks(cosine_sigma, cfg_combine)
    assert todo == "TODO  Lab cosine_sigma: not implemented yet."
    assert not passed and crash.startswith("FAIL  Lab cfg_combine: RuntimeError") and "line" in crash


@pytest.mark.slow
def test_lab_solution_runs_and_every_check_passes(tmp_path):
    nb = execute(lab_source(), tmp_path)
    out = text_output(nb)
    assert out.count("PASS") == 6, out
    assert "FAIL" not in out and "TODO" not in out and "first" not in out
    [guidance] = re.findall(r"relative difference from the model's guidance: (\S+)", out)
    assert float(guidance) < 1e-4, "cfg_combine must reproduce the model's own guidance"
    [library] = re.findall(r"relative difference from generate_diffusion_cond: (\S+)", out)
    assert float(library) < 1e-4, "sampling by hand must reproduce the library's one call"
    assert not re.search(r"^42$", out, re.M), "generate_diffusion_cond's seed print reaches the output"
    stderr = [o["text"] for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("name") == "stderr"]
    assert not stderr, f"the lab prints on stderr (progress bars?): {stderr[:2]}"
    [seconds] = re.findall(r"audio: \(1, 2, (\d+)\), (\S+) s", out)
    assert int(seconds[0]) / 44100 == pytest.approx(float(seconds[1]), abs=0.005), "the printed length is the clip's"
    [round_trip] = re.findall(r"latent of the decoded audio vs the clip's latent: relative error (\S+)", out)
    # 0.30 for the drums clip: what the codec gives any library drums clip (its undelayed channel too); the codec's
    # old mono mix comb-filtered the clip's stereo delay into a quieter latent that round-tripped at 0.28
    assert float(round_trip) < 0.35, "the band codec's round trip, measured in latent space, is close"


@pytest.mark.slow
def test_lab_stub_runs_top_to_bottom(tmp_path):
    out = text_output(execute(nbformat.read(A.LECTURE_LAB.stub, as_version=4), tmp_path))
    assert out.count("TODO") == 6, out
    assert "Traceback" not in out and "FAIL" not in out
    assert out.count("first") == 5, out  # every demo that needs a blank says so instead of failing


def test_readme_lists_the_lab_first_as_start_here():
    from hw4.colab import badge_markdown

    readme = (ROOT / "README.md").read_text()
    lab, homework = badge_markdown(LAB_PATH), badge_markdown("notebooks/homework4_stub.ipynb")
    assert lab in readme and readme.index(lab) < readme.index(homework)
    assert "start here" in readme[: readme.index(lab)].lower()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    from autograder.release import write_release

    return write_release(tmp_path_factory.mktemp("out") / "bundle", "someone/hw4-student", "fall-2026")


@pytest.mark.slow
def test_release_ships_the_lab_first_with_its_badge_on_the_released_repository(bundle):
    from autograder.release import NOTEBOOKS

    assert NOTEBOOKS[0] == LAB_PATH and (bundle / "hw4" / "data" / "lab_selfcheck.pkl").is_file()
    target = colab_url(LAB_PATH, "someone/hw4-student", "fall-2026")
    notebook = json.loads((bundle / LAB_PATH).read_text())
    assert f"({target})" in "".join(notebook["cells"][0]["source"])
    readme = (bundle / "README.md").read_text()
    assert target in readme and readme.index(target) < readme.index("homework4_stub.ipynb")
    assert "start here" in readme[: readme.index(target)].lower()
    code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    assert not any(line in code for line in solution_lines())
    assert not (bundle / "solutions").exists()


def test_lab_helpers(model):
    from hw4 import lab

    assert lab.device_for("embedded") == "cpu"
    assert lab.sample_size(model, 6.0) == 128 * 2048 and lab.sample_size(model, 0.0) == 2 * 2048  # whole patches of 2
    player = lab.play(torch.full((1, 2, 4096), 3.0), 44100, "loud")
    assert player.rate == PLAYER_RATE < 44100 and "loud" in player._repr_html_()  # compact, as the homework's
    schedules = {"a": torch.tensor([10.0, 1.0, 0.0]), "b": torch.tensor([5.0, 0.0])}
    assert lab.plot_schedules(schedules).axes[0].get_yscale() == "log"
    assert len(lab.plot_curves(torch.arange(3), {"x": torch.arange(3)}, "t", "x", "y").axes[0].lines) == 1
