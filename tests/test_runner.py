"""The runner (``write_answers``), as a student meets it: partial work, skipped lines, helpful errors."""

from __future__ import annotations

from pathlib import Path

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
    assert "load_model" in out and "skipped" in out
    assert load_answers(tmp_path / "homework4.pkl")["questions"].keys() == answers.questions.keys()
    error = next(iter(answers.questions["q2_mask"].errors.values()))
    assert "FRAMES_PER_SECOND" in error and "compute it inside the function" in error
    assert "to_d is not defined" in next(iter(answers.questions["q1_to_d"].errors.values()))
    assert f"Upload these two files to Gradescope:\n  {(tmp_path / 'homework4.pkl').resolve()}\n  {submission.resolve()}" in out


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
    assert "model, model_config = load_model(MODEL)" in out  # skipped: it loads a model
    constants = next(line for line in out.splitlines() if line.startswith("Constants"))
    assert "HOP" in constants and "SAMPLE_RATE" not in constants and "MODEL" not in constants


def test_given_the_notebook_the_runner_writes_the_script_it_names(tmp_path, capsys):
    import nbformat

    from solutions.build import source_notebook

    nbformat.write(source_notebook(), tmp_path / "homework4_stub.ipynb")
    write_answers(tmp_path / "homework4_stub.py", output=None, progress=False)
    out = capsys.readouterr().out
    script, pickle = tmp_path / "homework4_stub.py", tmp_path / "homework4.pkl"
    assert script.is_file() and pickle.is_file()
    assert out.rstrip().endswith(f"{pickle.resolve()}\n  {script.resolve()}")


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
    assert "defines none of the homework functions" in err and "homework4_stub.py" in err
