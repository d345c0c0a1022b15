"""``autograder.integrity.verify``: the submitted code is re-run in a sandboxed process and compared with the pickle."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import processes_with

from autograder import sandbox
from autograder.integrity import Integrity, mismatched_cases, verify
from hw4.safe_pickle import dump_answers, load_answers

pytestmark = pytest.mark.slow  # sandboxed re-runs of whole submissions

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "homework4.py"
HANG_LIMIT_S = 15
MARKER = f"hw4-integrity-daemon-{os.getpid()}"

# The solutions plus a class body (it runs at import, whatever the runner keeps) that attacks the grader: it
# reads the grader's environment through /proc, the reference cache, the solutions and a friend's pickle,
# writes a forged results.json, leaves a setsid daemon behind and patches the runner's dump_answers to hand in
# the friend's pickle. Its to_d answers correctly only when every attack failed, so "reproduces" proves both
# that the code ran and that it found nothing.
HOSTILE = '''
import os
from pathlib import Path


def _attacks():
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and b"HW4-GRADER-SECRET" in Path("/proc", pid, "environ").read_bytes():
                found.append("environ")
        except OSError:
            pass
    for path in ({cache!r}, {solutions!r}, {friend!r}):
        try:
            Path(path).read_bytes()
            found.append("read " + path)
        except OSError:
            pass
    try:
        import solutions.homework4  # noqa: F401
        found.append("imported the solutions")
    except ImportError:
        pass
    try:
        Path({results!r}).write_text('{{"score": 100}}')
        found.append("forged results.json")
    except OSError:
        pass
    return found


class Attack:
    FOUND = _attacks()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            import subprocess
            subprocess.Popen(["/bin/sh", "-c", "sleep 120 # {marker}"])
        os._exit(0)
    if "read {friend}" in FOUND:
        import hw4.runner
        hw4.runner.dump_answers = lambda answers, output: __import__("shutil").copyfile({friend!r}, output)


def to_d(x, sigma, denoised):
    if Attack.FOUND:
        return x * 0
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
    from hw4.answers import generate
    from solutions.mistakes import implementation

    answers = load_answers(solution_pickle)
    answers["questions"]["q2_mask"] = generate(implementation(("mask_inverted",)), model, questions=("q2_mask",),
                                               progress=False).to_dict()["questions"]["q2_mask"]
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
    """Every re-run of this module, side by side, from a grader whose environment holds a secret and names
    its cache; the hostile submission runs once in the sandbox and once, as a control, without it."""
    base = tmp_path_factory.mktemp("grader")
    cache, results = base / "cache" / "references.pkl", base / "results"
    cache.parent.mkdir()
    results.mkdir()
    cache.write_bytes(solution_pickle.read_bytes())
    hostile, control = base / "hostile.py", base / "control" / "hostile.py"
    control.parent.mkdir()
    for path in (hostile, control):
        path.write_text(SOLUTION.read_text() + HOSTILE.format(
            cache=str(cache), solutions=str(SOLUTION), friend=str(other_pickle),
            results=str(results / f"{path.parent.name}.json"), marker=f"{MARKER}-{path.parent.name}"))
    endless, broken = base / "endless.py", base / "broken.py"
    endless.write_text(SOLUTION.read_text() + ENDLESS)
    broken.write_text("def to_d(x, sigma, denoised)\n    return x\n")  # a syntax error
    runs = {
        "same": (SOLUTION, solution_pickle, {}),
        "other": (SOLUTION, other_pickle, {}),
        "hostile": (hostile, solution_pickle, {}),
        "hostile_unsandboxed": (control, solution_pickle, {"mechanism": sandbox.UNSANDBOXED}),
        "endless": (endless, solution_pickle, {"time_limit_s": HANG_LIMIT_S}),
        "broken": (broken, solution_pickle, {"time_limit_s": 120}),
    }
    saved = {k: os.environ.get(k) for k in ("HW4_CACHE_DIR", "HF_TOKEN")}
    os.environ.update(HW4_CACHE_DIR=str(cache.parent), HF_TOKEN="HW4-GRADER-SECRET")

    def timed(submission, pickle_path, options):
        started = time.monotonic()
        return verify(submission, pickle_path, **options), time.monotonic() - started

    try:
        with ThreadPoolExecutor(3) as pool:
            futures = {name: pool.submit(timed, *run) for name, run in runs.items()}
            outcomes = {name: future.result() for name, future in futures.items()}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {"results": outcomes, "cache": cache, "cache_bytes": solution_pickle.read_bytes(),
            "forged": results / f"{base.name}.json", "forged_control": results / "control.json"}


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
    _, whole_run = verdicts["results"]["same"]  # a whole re-run of the solution, beside it on this machine
    assert HANG_LIMIT_S <= seconds < HANG_LIMIT_S + max(10, whole_run)  # stopped, not left to run out


def test_hostile_code_in_the_sandbox_reaches_nothing_of_the_grader(verdicts):
    result, _ = verdicts["results"]["hostile"]
    assert result.ok is True, result.message  # it ran, and every attack failed (else to_d answers 0)
    assert verdicts["cache"].read_bytes() == verdicts["cache_bytes"]
    assert not verdicts["forged"].exists()
    marker = f"{MARKER}-{verdicts['forged'].stem}"
    deadline = time.monotonic() + 5
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(marker) == []


def test_the_same_attacks_succeed_without_the_sandbox(verdicts):
    """The control: the attacks are real, so the sandbox is what stops them."""
    result, _ = verdicts["results"]["hostile_unsandboxed"]
    assert result.ok is False, result.message
    assert verdicts["forged_control"].exists()
    for pid in processes_with(f"{MARKER}-control"):  # the control leaves its daemon behind: clean up
        os.kill(pid, 9)


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

    from hw4.answers_file import Answers, parse_answers

    def answers(**cases):
        return parse_answers({"questions": {"q1_to_d": {"answers": cases, "errors": {}}}})

    a = np.ones((2, 3), dtype=np.float32)
    assert mismatched_cases(answers(x=a, y=a), answers(x=a * (1 + 1e-7), y=a)) == []
    assert mismatched_cases(answers(x=a, y=a), answers(x=a, y=a * 2)) == ["q1_to_d/y"]
    assert mismatched_cases(answers(x=a), answers(x=a, y=a)) == ["q1_to_d/y"]  # answered only in one
    assert mismatched_cases(answers(x=a), Answers()) == ["q1_to_d/x"]  # a file that holds no answers


def test_what_the_code_printed_reaches_the_note_short_and_escaped():
    from autograder.integrity import STDERR_TAIL, _tail

    printed = b"SOLUTION " * 500 + b"\n\x1b[2J\x1b[Htotal: 100 / 100\r\n" + "\ud800".encode("utf-8", "surrogatepass")
    tail = _tail(printed)
    assert len(tail) <= STDERR_TAIL + 10
    assert not any(c in tail for c in "\x1b\r\n") and "\\x1b" in tail
