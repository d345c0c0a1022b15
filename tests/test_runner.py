"""The runner (``write_answers``), as a student meets it: partial work, skipped lines, helpful errors."""

from __future__ import annotations

from hw4.runner import write_answers
from hw4.safe_pickle import load_answers

PARTIAL = '''
import torch
import IPython.display as ipd
FRAMES_PER_SECOND = SAMPLE_RATE / model.pretransform.downsampling_ratio
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
    assert load_answers(tmp_path / "homework4.pkl")["questions"].keys() == answers["questions"].keys()
    error = next(iter(answers["questions"]["q2_mask"]["errors"].values()))
    assert "FRAMES_PER_SECOND" in error and "compute it inside the function" in error
    assert "to_d is not defined" in next(iter(answers["questions"]["q1_to_d"]["errors"].values()))



def test_empty_submission_gets_a_warning(tmp_path, capsys):
    submission = tmp_path / "homework4_stub.py"
    submission.write_text("")
    write_answers(submission, tmp_path / "homework4.pkl", progress=False, quiet=True)
    err = capsys.readouterr().err
    assert "defines none of the homework functions" in err and "homework4_stub.py" in err
