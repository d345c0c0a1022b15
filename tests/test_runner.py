"""The runner (``write_answers``), as a student meets it: partial work, skipped lines, helpful errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hw4.runner import write_answers
from hw4.safe_pickle import load_answers

ROOT = Path(__file__).resolve().parents[1]
PARTIAL = '''
import torch
import IPython.display as ipd
FRAMES_PER_SECOND = clip_latent(model, "drums").shape[-1] / 5.94
model, model_config = load_model("embedded")
ipd.display(ipd.Audio([0.0], rate=44100))

def generate_inpainting_mask(reference, mask_start_s, mask_end_s):
    mask = torch.zeros_like(reference)
    mask[..., int(mask_start_s * FRAMES_PER_SECOND):int(mask_end_s * FRAMES_PER_SECOND)] = 1
    return mask
'''


def test_partial_submission_gets_a_pickle_and_a_hint_about_skipped_names(tmp_path, capsys):
    submission = tmp_path / "homework4_stub.py"
    submission.write_text(PARTIAL)
    answers = write_answers(submission, tmp_path / "homework4.pkl", progress=False)
    out = capsys.readouterr().out
    # Listed: the skipped line that leaves a name of generate_inpainting_mask undefined; the other two are counted.
    listed = out.split("compute them inside the functions.\n", 1)[1].split("\n2 statements skipped")[0]
    assert "FRAMES_PER_SECOND = clip_latent" in listed and "load_model" not in listed and "\n" not in listed.strip()
    assert "2 statements skipped (plots, checks, model loading): expected" in out
    assert "Q1 to_d: 0/4 cases answered, self-check TODO" in out
    assert "Q2 generate_inpainting_mask: 0/6 cases answered, self-check FAIL - NameError" in out
    assert load_answers(tmp_path / "homework4.pkl")["questions"].keys() == answers.questions.keys()
    error = next(iter(answers.questions["q2_mask"].errors.values()))
    assert "FRAMES_PER_SECOND" in error and "compute it inside the function" in error
    assert "to_d is not defined" in next(iter(answers.questions["q1_to_d"].errors.values()))
    assert f"Upload these two files to Gradescope:\n  {(tmp_path / 'homework4.pkl').resolve()}\n  {submission.resolve()}" in out


@pytest.mark.slow
def test_globals_the_notebook_defines_reach_the_functions(tmp_path, capsys, solution_answers):
    """``device`` and a ``HOP`` read from the model at the top level work, and the summary does not contradict itself."""
    from autograder.grade import grade

    source = (ROOT / "solutions" / "homework4.py").read_text().replace(
        "model.pretransform.downsampling_ratio)", "HOP)").replace("x.new_ones([x.shape[0]])",
                                                                  "torch.ones(x.shape[0], device=device)")
    assert source.count("HOP)") == 2 and "device=device" in source
    header = ('import torch\nfrom hw4.model import load_model\nMODEL = "embedded"\n'
              'model, model_config = load_model(MODEL)\nSAMPLE_RATE = model.sample_rate\n'
              'HOP = model.pretransform.downsampling_ratio\n'
              'device = "cuda" if torch.cuda.is_available() else "cpu"\n')
    submission = tmp_path / "homework4_stub.py"
    submission.write_text(header + source)
    answers = write_answers(submission, tmp_path / "homework4.pkl", progress=False)
    out = capsys.readouterr().out
    assert grade(answers, solution_answers).total == 100
    assert "SAMPLE_RATE = model.sample_rate" not in out  # kept, not skipped
    assert "load_model(MODEL)" not in out  # skipped (it loads a model), and nothing reads a name it would set
    assert "1 statements skipped (plots, checks, model loading): expected" in out
    constants = next(line for line in out.splitlines() if line.startswith("Constants"))
    assert "HOP" in constants and "SAMPLE_RATE" not in constants and "MODEL" not in constants


@pytest.mark.slow
def test_given_the_notebook_the_runner_writes_the_script_it_names(tmp_path, capsys):
    import nbformat

    from solutions.build import source_notebook

    nbformat.write(source_notebook(), tmp_path / "homework4_stub.ipynb")
    write_answers(tmp_path / "homework4_stub.py", output=None, progress=False)
    out = capsys.readouterr().out
    script, pickle = tmp_path / "homework4_stub.py", tmp_path / "homework4.pkl"
    assert script.is_file() and pickle.is_file()
    assert out.rstrip().endswith(f"{pickle.resolve()}\n  {script.resolve()}")
    # The solution notebook: every self-check passes, and its plots, checks and model loading are one line.
    answered = [line for line in out.splitlines() if "cases answered" in line]
    assert len(answered) == 6 and all(line.endswith("cases answered, self-check PASS") for line in answered)
    assert re.search(r"^\d+ statements skipped \(plots, checks, model loading\): expected$", out, re.M)
    assert "compute them inside the functions" not in out


@pytest.mark.slow
def test_submission_with_a_catalogued_mistake_is_named_beside_answered(tmp_path, capsys):
    """The self-check's verdict is check()'s: the slip is named, and the sampler that inherits it passes."""
    source = (ROOT / "solutions" / "homework4.py").read_text()
    assert source.count("return (x - denoised)") == 1
    submission = tmp_path / "homework4_stub.py"
    submission.write_text(source.replace("return (x - denoised)", "return (denoised - x)"))
    write_answers(submission, tmp_path / "homework4.pkl", progress=False)
    answered = [line for line in capsys.readouterr().out.splitlines() if "cases answered" in line]
    assert answered[0] == "Q1 to_d: 4/4 cases answered, self-check FAIL (to_d_sign_flipped)"
    assert all(line.endswith("self-check PASS") for line in answered[1:]) and len(answered) == 6


def test_a_skipped_statement_matters_when_it_would_set_a_name_a_function_reads():
    from hw4.runner import defines, skipped_that_matter
    from hw4.submission import import_submission

    assert defines("cell 2, line 1: HOP, RATE = rates(model)  (not a definition: skipped)", "RATE")
    assert not defines("cell 2, line 1: plot(RATE == 3)  (not a definition: skipped)", "RATE")
    assert not defines("line 4: SEPARATE = f()  (not a definition: skipped)", "RATE")
    report = import_submission("import torch\nRATE = torch.load('r.pt')\nHOP = torch.load('h.pt')\n"
                               "class Sampler:\n    def rate(self):\n        return [RATE for _ in range(2)]\n")
    matter = skipped_that_matter(report)
    assert len(matter) == 1 and "RATE = torch.load('r.pt')" in matter[0]


def test_submit_without_a_notebook_says_so_in_one_sentence(tmp_path, monkeypatch, capsys):
    from hw4.cli import main
    from hw4.runner import submit

    monkeypatch.chdir(tmp_path)
    assert main(["submit"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hw4 submit: Could not find homework4_stub.ipynb") and "Traceback" not in err
    assert submit() is None and capsys.readouterr().out.startswith("Nothing was written: Could not find")
    assert list(tmp_path.iterdir()) == []


def test_empty_submission_gets_a_warning(tmp_path, capsys):
    submission = tmp_path / "homework4_stub.py"
    submission.write_text("")
    write_answers(submission, tmp_path / "homework4.pkl", progress=False, quiet=True)
    err = capsys.readouterr().err
    assert "defines none of the assignment's functions (to_d, " in err and "homework4_stub.py" in err
