"""Golden reports: what ``hw4 grade`` prints and the ``results.json`` it writes, for a fixed set of submissions.

The submissions go through the commands a student and a TA run (``hw4 answers``, ``hw4 grade --json``), so
a refactoring of anything in between must leave every line of feedback as it was. Relative errors printed in
the feedback may differ in their last digits on another CPU; they are compared within 5 %, the rest exactly.
To accept a deliberate change of wording, run with ``HW4_UPDATE_GOLDEN=1`` and review the diff of ``tests/golden``.
"""

from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from hw4.cli import main

GOLDEN = Path(__file__).with_name("golden")
ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"relative error ([0-9.]+e[-+][0-9]+)")

# The solutions with three slips: to_d's sign (which every sampler inherits), a rounded mask, and a crash.
MIXED_OVERRIDES = '''

def to_d(x, sigma, denoised):
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    return (denoised - x) / append_dims(sigma, x.ndim)


def generate_inpainting_mask(reference, mask_start_s, mask_end_s):
    start = round(mask_start_s * SAMPLE_RATE / model.pretransform.downsampling_ratio)
    end = round(mask_end_s * SAMPLE_RATE / model.pretransform.downsampling_ratio)
    mask = torch.zeros_like(reference)
    mask[..., start:end] = 1
    return mask


_style_transfer = simple_sample_style_transfer


def simple_sample_style_transfer(model, sigmas, reference, extra_args=None, transfer_strength=0):
    if transfer_strength == 0.3:
        raise ValueError("boom at strength 0.3")
    return _style_transfer(model, sigmas, reference, extra_args, transfer_strength)
'''


def _raw(path: Path) -> dict:
    with open(path, "rb") as f:  # our own runner's output: trusted here
        return pickle.load(f)


def _broken(answers: dict) -> dict:
    """Damage of every kind the grader explains question by question."""
    q = answers["questions"]
    del q["q1_to_d"]
    q["q2_mask"]["answers"]["one_to_two"] = q["q2_mask"]["answers"]["one_to_two"][..., :10]
    q["q3_inpaint"]["answers"]["chord_middle"] = q["q3_inpaint"]["answers"]["chord_middle"].astype(np.float16)
    q["q3_inpaint"]["answers"]["drums_start"] = q["q3_inpaint"]["answers"]["drums_start"].astype(np.int64)
    q["q4_variable_inpaint"]["answers"]["defaults"] = np.full((1, 64, 128), np.nan, dtype=np.float32)
    q["q4_variable_inpaint"]["answers"]["early_window"] = [1.0, 2.0]
    q["q5_style_transfer"]["answers"]["chord_to_guitar"] = q["q5_style_transfer"]["answers"]["chord_to_guitar"] * 1j
    q["q5_style_transfer"]["errors"] = {"drums_to_bass": "RuntimeError: shapes do not match\x1b[31m"}
    del q["q5_style_transfer"]["answers"]["drums_to_bass"]
    q["extra\u202e"] = {"answers": {}}
    return answers


@pytest.fixture(scope="module")
def pickles(tmp_path_factory, isolated_cache, solution_pickle) -> dict[str, Path]:
    """Every golden submission as a ``homework4.pkl`` on disk."""
    folder = tmp_path_factory.mktemp("golden")
    mixed = folder / "mixed.py"
    mixed.write_text((ROOT / "solutions" / "homework4.py").read_text() + MIXED_OVERRIDES)
    made = {"solution": solution_pickle}
    for name, source in (("mixed", mixed), ("stub", ROOT / "notebooks" / "homework4_stub.ipynb")):
        made[name] = folder / f"{name}.pkl"
        assert main(["answers", str(source), "-o", str(made[name]), "-q"]) == 0
    variants = {
        "broken": _broken(_raw(solution_pickle)),
        "other_model": {**_raw(solution_pickle), "meta": {**_raw(solution_pickle)["meta"], "model_id": "sao:x"}},
        "not_answers": [1, 2, 3],
    }
    for name, value in variants.items():
        made[name] = folder / f"{name}.pkl"
        made[name].write_bytes(pickle.dumps(value))
    made["text_file"] = folder / "text_file.pkl"
    made["text_file"].write_text("print('hello')\n")
    return made


def _graded(path: Path, capsys) -> dict:
    results = path.with_suffix(".json")
    status = main(["grade", str(path), "--json", str(results)])
    out, err = capsys.readouterr()
    return {"status": status, "stdout": out.replace(str(path.parent), "<dir>"),
            "stderr": err.replace(str(path.parent), "<dir>"),
            "results.json": json.loads(results.read_text()) if results.exists() else None}


def _split_numbers(value):
    """``value`` with every printed relative error replaced by a marker, and the errors in order."""
    text = json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)
    return NUMBER.sub("relative error <E>", text), [float(n) for n in NUMBER.findall(text)]


@pytest.mark.parametrize("name", ["solution", "mixed", "stub", "broken", "other_model", "not_answers", "text_file"])
def test_reports_match_the_golden_files(name, pickles, capsys):
    got = _graded(pickles[name], capsys)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("HW4_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    want = json.loads(path.read_text())
    got_text, got_errors = _split_numbers(got)
    want_text, want_errors = _split_numbers(want)
    assert got_text == want_text
    assert np.allclose(got_errors, want_errors, rtol=0.05, atol=0), (got_errors, want_errors)


def test_the_golden_set_covers_every_kind_of_feedback():
    """The golden files hold full marks, a named mistake counted once, a crash, damage and refusals."""
    texts = {p.stem: p.read_text() for p in GOLDEN.glob("*.json")}
    assert '"score": 100' in texts["solution"]
    assert "Likely mistake" in texts["mixed"] and "boom at strength 0.3" in texts["mixed"]
    assert "NotImplementedError" in texts["stub"] or "not implemented" in texts["stub"].lower()
    assert "NaN" in texts["broken"] and "complex" in texts["broken"]
    assert all('"status": 2' in texts[n] for n in ("other_model", "not_answers", "text_file"))
