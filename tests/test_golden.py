"""Golden reports: what ``hw4 grade`` prints and the ``results.json`` it writes, for a fixed set of submissions.

The submissions go through the commands a student and a TA run (``hw4 answers``, ``hw4 grade --json``), so
a refactoring of anything in between must leave every line of feedback as it was. Relative errors printed in
the feedback may differ in their last digits on another CPU; they are compared within 5 %, the rest exactly.
The embedded model's id (a digest of its weights) is written as ``<model>``, so retraining the model changes no
golden file. To accept a deliberate change of wording, run with ``HW4_UPDATE_GOLDEN=1`` and review the diff of
``tests/golden``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import damaged

from autograder.cli import main  # the staff commands (grade) and the student ones (answers)
from hw4.model import model_id
from hw4.safe_pickle import dump_answers, load_answers

pytestmark = pytest.mark.slow  # hw4 answers on whole submissions

GOLDEN = Path(__file__).with_name("golden")
ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"relative error ([0-9.]+e[-+][0-9]+)")

# The solutions with three slips, as a student would type them: to_d's sign (which every sampler inherits), a
# rounded mask, and a crash at one strength.
SLIPS = (("return (x - denoised)", "return (denoised - x)"), ("int(mask_", "round(mask_"),
         ("    k = int(transfer_strength", "    assert transfer_strength != 0.3, 'boom at strength 0.3'\n"
                                          "    k = int(transfer_strength"))


def _with_slips(source: str) -> str:
    for old, new in SLIPS:
        assert old in source, old
        source = source.replace(old, new)
    return source


def _raw(path: Path) -> dict:
    return load_answers(path)


@pytest.fixture(scope="module")
def pickles(tmp_path_factory, isolated_cache, solution_pickle) -> dict[str, Path]:
    """Every golden submission as a ``homework4.pkl`` on disk."""
    folder = tmp_path_factory.mktemp("golden")
    mixed = folder / "mixed.py"
    mixed.write_text(_with_slips((ROOT / "solutions" / "homework4.py").read_text()))
    made = {"solution": solution_pickle}
    stub = folder / "homework4_stub.ipynb"  # a copy: the runner writes the converted .py beside the notebook
    shutil.copy(ROOT / "notebooks" / "homework4_stub.ipynb", stub)
    for name, source in (("mixed", mixed), ("stub", stub)):
        made[name] = folder / f"{name}.pkl"
        assert main(["answers", str(source), "-o", str(made[name]), "-q"]) == 0
    variants = {
        "broken": damaged(_raw(solution_pickle)),
        "other_model": {**_raw(solution_pickle), "meta": {**_raw(solution_pickle)["meta"], "model_id": "sao:x"}},
        "not_answers": [1, 2, 3],
    }
    for name, value in variants.items():
        made[name] = folder / f"{name}.pkl"
        dump_answers(value, made[name])
    made["text_file"] = folder / "text_file.pkl"
    made["text_file"].write_text("print('hello')\n")
    return made


def _graded(path: Path, capsys) -> dict:
    results = path.with_suffix(".json")
    status = main(["grade", str(path), "--json", str(results)])
    out, err = capsys.readouterr()
    neutral = lambda text: text.replace(str(path.parent), "<dir>").replace(model_id(), "<model>")  # noqa: E731
    return {"status": status, "stdout": neutral(out), "stderr": neutral(err),
            "results.json": json.loads(neutral(results.read_text())) if results.exists() else None}


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


def test_grading_a_correct_submission_never_imports_torch(pickles, isolated_cache):
    """With the references cached, ``hw4 grade`` of full marks only reads arrays: no torch, no model (fast)."""
    import subprocess
    import sys

    env = {**os.environ, "HW4_CACHE_DIR": str(isolated_cache)}
    assert main(["grade", str(pickles["solution"])]) == 0  # the references are cached from here on
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "hw4", "grade", str(pickles["solution"])],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and "total: 100 / 100" in done.stdout, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    assert "numpy" in imported and not imported & {"torch", "k_diffusion", "stable_audio_tools"}
