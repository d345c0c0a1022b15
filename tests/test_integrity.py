"""``autograder.integrity.verify``: the submitted code is re-run in a sandboxed process and compared with the pickle."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder.integrity import Integrity, child_environment, mismatched_cases, verify
from hw4.safe_pickle import dump_answers, load_answers

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "homework4.py"
HANG_LIMIT_S = 15

# The solutions plus a to_d that tries to reach the grader and leaves a child process behind on its first call,
# and otherwise computes the right answer. WITNESS is a literal, so the runner keeps it; the endless top-level
# loop is skipped like every statement that defines nothing.
HOSTILE = '''
import json
import os
import subprocess
from pathlib import Path

WITNESS = {witness!r}

while True:
    pass


def to_d(x, sigma, denoised):
    if not Path(WITNESS).exists():
        child = subprocess.Popen(["sleep", "600"])
        names = ("HW4_CACHE_DIR", "HW4_RESULTS_DIR", "HF_TOKEN", "HOME", "HTTPS_PROXY", "HF_HUB_OFFLINE",
                 "TRANSFORMERS_OFFLINE")
        seen = {{"cwd": os.getcwd(), "pid": os.getpid(), "child": child.pid,
                 "env": {{k: os.environ.get(k) for k in names}}}}
        for target in (os.environ.get("HW4_CACHE_DIR"), os.environ.get("HW4_RESULTS_DIR"), "."):
            try:
                Path(target, "planted.txt").write_text("written by the submission")
            except Exception:
                pass
        Path(WITNESS).write_text(json.dumps(seen))
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)  # the solution's to_d
    return (x - denoised) / append_dims(sigma, x.ndim)
'''

# A to_d that never returns (the runner's per-case limit is 120 s; the re-run's overall limit is shorter).
ENDLESS = '''
import time


def to_d(x, sigma, denoised):
    while True:
        time.sleep(0.5)
'''


@pytest.fixture(scope="module")
def other_pickle(solution_pickle, model, tmp_path_factory) -> Path:
    """The solution's answers with Q2 from the catalogue's ``mask_inverted`` implementation."""
    from autograder.mistakes import CATALOG
    from hw4.answers import generate

    entry = next(e for e in CATALOG if e.name == "mask_inverted")
    answers = load_answers(solution_pickle)
    answers["questions"]["q2_mask"] = generate(entry.implementation(), model, questions=("q2_mask",),
                                               progress=False)["questions"]["q2_mask"]
    path = tmp_path_factory.mktemp("other") / "homework4.pkl"
    dump_answers(answers, path)
    return path


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie is dead, only not yet reaped


@pytest.fixture(scope="module")
def verdicts(solution_pickle, other_pickle, tmp_path_factory) -> dict:
    """Every re-run of this module, side by side (each is a single-threaded subprocess), from a grader whose
    environment names its cache and results folders and holds secrets, and whose cwd is its results folder."""
    base = tmp_path_factory.mktemp("grader")
    grader_cache, grader_results = base / "cache", base / "results"
    grader_cache.mkdir()
    grader_results.mkdir()
    witness = base / "witness.json"
    hostile, endless, broken = base / "hostile.py", base / "endless.py", base / "broken.py"
    hostile.write_text(SOLUTION.read_text() + HOSTILE.format(witness=str(witness)))
    endless.write_text(SOLUTION.read_text() + ENDLESS)
    broken.write_text("def to_d(x, sigma, denoised)\n    return x\n")  # a syntax error
    runs = {
        "same": (SOLUTION, solution_pickle, {}),
        "other": (SOLUTION, other_pickle, {}),
        "hostile": (hostile, solution_pickle, {}),
        "endless": (endless, solution_pickle, {"time_limit_s": HANG_LIMIT_S}),
        "broken": (broken, solution_pickle, {"time_limit_s": 120}),
    }
    saved = {k: os.environ.get(k) for k in ("HW4_CACHE_DIR", "HW4_RESULTS_DIR", "HF_TOKEN", "HTTPS_PROXY")}
    cwd = os.getcwd()
    os.environ.update(HW4_CACHE_DIR=str(grader_cache), HW4_RESULTS_DIR=str(grader_results), HF_TOKEN="secret",
                      HTTPS_PROXY="http://proxy.invalid:3128")
    os.chdir(grader_results)

    def timed(submission, pickle_path, options):
        started = time.monotonic()
        return verify(submission, pickle_path, **options), time.monotonic() - started

    try:
        with ThreadPoolExecutor(len(runs)) as pool:
            futures = {name: pool.submit(timed, *run) for name, run in runs.items()}
            results = {name: future.result() for name, future in futures.items()}
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {"results": results, "witness": witness, "cache": grader_cache, "grader_results": grader_results,
            "base": base}


def test_solution_reproduces_its_pickle(verdicts):
    result, _ = verdicts["results"]["same"]
    assert isinstance(result, Integrity)
    assert result.ok is True, result.message
    assert result.mismatched == []
    assert "reproduces homework4.pkl" in result.message


def test_pickle_from_another_implementation_is_flagged(verdicts, other_pickle):
    result, _ = verdicts["results"]["other"]
    assert result.ok is False, result.message
    q2_cases = sorted(f"q2_mask/{name}" for name in load_answers(other_pickle)["questions"]["q2_mask"]["answers"])
    assert sorted(result.mismatched) == q2_cases  # exactly the cases of the question that differs
    assert "does NOT reproduce" in result.message and "Q2 generate_inpainting_mask" in result.message
    assert "Q1" not in result.message and "Q3" not in result.message


def test_endless_to_d_is_stopped_at_the_time_limit(verdicts):
    result, seconds = verdicts["results"]["endless"]
    assert result.ok is None and result.mismatched == []
    assert result.message == f"Integrity not checked: re-running endless.py took longer than {HANG_LIMIT_S} s and was stopped."
    assert HANG_LIMIT_S <= seconds < HANG_LIMIT_S + 10


def test_submission_runs_in_a_scratch_directory_and_cannot_touch_the_grader(verdicts):
    result, _ = verdicts["results"]["hostile"]
    assert result.ok is True, result.message  # side effects change nothing about the answers
    seen = json.loads(verdicts["witness"].read_text())  # the hostile to_d did run
    scratch = Path(seen["cwd"])
    # It ran in a scratch directory of its own, with its own cache and HOME, offline, without the grader's
    # secrets or the variables that name the grader's folders ...
    assert scratch != verdicts["grader_results"] and verdicts["base"] not in scratch.parents
    assert Path(seen["env"]["HW4_CACHE_DIR"]).parent == scratch and Path(seen["env"]["HOME"]).parent == scratch
    assert seen["env"]["HW4_RESULTS_DIR"] is None and seen["env"]["HF_TOKEN"] is None
    assert seen["env"]["HTTPS_PROXY"] is None
    assert seen["env"]["HF_HUB_OFFLINE"] == "1" and seen["env"]["TRANSFORMERS_OFFLINE"] == "1"
    # ... so nothing reached the grader's cache or results folder, and the scratch directory is gone,
    assert list(verdicts["cache"].iterdir()) == [] and list(verdicts["grader_results"].iterdir()) == []
    assert not scratch.exists()
    # ... and neither the re-run nor the process it started outlived it.
    deadline = time.monotonic() + 5
    while (_alive(seen["pid"]) or _alive(seen["child"])) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(seen["pid"]) and not _alive(seen["child"])


def test_a_failing_rerun_says_why(verdicts):
    result, _ = verdicts["results"]["broken"]
    assert result.ok is None
    assert result.message.startswith("Integrity not checked: re-running broken.py exited with status 2")
    assert "syntax error" in result.message and len(result.message) < 500


def test_broken_inputs_are_reported_without_a_rerun(tmp_path, solution_pickle):
    missing = verify(tmp_path / "nope.py", solution_pickle)
    assert missing.ok is None and "was not found" in missing.message
    empty = tmp_path / "homework4.pkl"
    empty.write_bytes(b"")
    result = verify(SOLUTION, empty)
    assert result.ok is None and "empty" in result.message


def test_mismatched_cases_compares_case_by_case():
    import numpy as np

    def answers(**cases):
        return {"questions": {"q1_to_d": {"answers": cases, "errors": {}}}}

    a = np.ones((2, 3), dtype=np.float32)
    assert mismatched_cases(answers(x=a, y=a), answers(x=a * (1 + 1e-7), y=a)) == []
    assert mismatched_cases(answers(x=a, y=a), answers(x=a, y=a * 2)) == ["q1_to_d/y"]
    assert mismatched_cases(answers(x=a), answers(x=a, y=a)) == ["q1_to_d/y"]  # answered only in one
    assert mismatched_cases(answers(x=a), {"not": "answers"}) == ["q1_to_d/x"]


def test_child_environment_is_allow_listed(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "secret")
    monkeypatch.setenv("http_proxy", "http://proxy.invalid")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    env = child_environment(tmp_path)
    assert not {"HF_TOKEN", "http_proxy", "AWS_SECRET_ACCESS_KEY"} & set(env)
    assert env["HW4_CACHE_DIR"] == str(tmp_path / "cache") and env["HF_HUB_OFFLINE"] == "1"
    assert str(ROOT) in env["PYTHONPATH"].split(os.pathsep)
