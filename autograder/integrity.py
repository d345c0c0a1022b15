"""``verify(submission, pickle)``: does the submitted code reproduce the submitted ``homework4.pkl``?

The submission is re-run with ``python -m hw4 answers`` in a *separate process*, never in the
grader's: in a fresh scratch directory (its cwd, ``HOME``, ``TMPDIR`` and ``HW4_CACHE_DIR``), with an
allow-listed environment (no proxies, no tokens, no variable of the grader's such as its cache
or results paths; Hugging Face offline), a wall-clock limit that kills the whole process group,
and resource limits (memory, file size, CPU time, no core files). The submitted pickle is read
*before* the re-run, so nothing the re-run writes can change what it is compared with, and both
files are read with the safe loader.

This is process isolation, not a filesystem jail: code that knows an absolute path could still
write there with the grader's permissions. Run untrusted code in a container (Gradescope's is one).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hw4 import cases as C
from hw4.answers import DEFAULT_TIME_LIMIT_S
from hw4.compare import compare
from hw4.model import EMBEDDED
from hw4.safe_pickle import MAX_BYTES, AnswerFileError, load_answers

STDERR_TAIL = 300
# Variables the re-run may inherit; everything else (tokens, proxies, the grader's own HW4_* paths) is dropped.
ALLOWED_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "LD_LIBRARY_PATH", "VIRTUAL_ENV", "CONDA_PREFIX", "SYSTEMROOT")
ALLOWED_ENV_PREFIXES = ("LC_",)


@dataclass
class Integrity:
    """The outcome: ``ok`` True (reproduced), False (``mismatched`` cases differ) or None (could not check)."""

    ok: bool | None
    message: str
    mismatched: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ the re-run


def _hf_hub_cache() -> str | None:
    """The grader's Hugging Face cache, so that ``--model sao`` finds its weights offline under another HOME."""
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        return None
    return str(constants.HF_HUB_CACHE)


def child_environment(scratch: Path) -> dict[str, str]:
    """The re-run's environment: allow-listed variables, offline Hugging Face, everything writable in ``scratch``."""
    env = {k: v for k, v in os.environ.items() if k in ALLOWED_ENV or k.startswith(ALLOWED_ENV_PREFIXES)}
    package_root = str(Path(__file__).resolve().parent.parent)  # import the grader's own hw4, wherever it is
    env.update(
        PYTHONPATH=os.pathsep.join([package_root, *filter(None, [os.environ.get("PYTHONPATH")])]),
        PYTHONDONTWRITEBYTECODE="1",
        HOME=str(scratch / "home"),
        TMPDIR=str(scratch / "tmp"),
        HW4_CACHE_DIR=str(scratch / "cache"),
        MPLCONFIGDIR=str(scratch / "tmp"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        OMP_NUM_THREADS="1",
    )
    hub_cache = _hf_hub_cache()
    if hub_cache:
        env["HF_HUB_CACHE"] = hub_cache
    return env


def _limits(memory_limit_mb: int, cpu_limit_s: int) -> None:
    """Runs in the child between fork and exec (``preexec_fn``): only ``setrlimit`` calls.

    Memory is capped with RLIMIT_DATA, not RLIMIT_AS. Measured with torch 2.9.1+cu128 on Linux: a full
    ``hw4 answers`` run on the embedded model peaks at about 5.3 GB of *virtual* memory (VmPeak; the CUDA
    build maps large libraries and reservations) but only about 1.1 GB of data segment (VmData) and 0.9 GB
    resident. ``import torch`` alone already fails under RLIMIT_AS of 4 GB ("libtorch_nvshmem.so: failed to
    map segment"), so RLIMIT_AS would measure the build, not the student's allocations. RLIMIT_DATA
    (counting brk and private writable mappings since Linux 4.7) lets torch import under 1 GB and makes a
    3 GB torch or numpy allocation fail with an ordinary MemoryError/RuntimeError.
    """
    limit = memory_limit_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 * MAX_BYTES, 2 * MAX_BYTES))  # no file larger than this
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit_s, cpu_limit_s + 5))  # a backstop to the wall clock
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the re-run and anything it started in its session
    except (ProcessLookupError, PermissionError):
        pass


def _tail(log: Path) -> str:
    """The last lines of the re-run's output, short, on one line."""
    try:
        text = log.read_bytes()[-4000:].decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    tail = " / ".join(lines[-3:])
    return tail[-STDERR_TAIL:]


def rerun(submission: Path, output: Path, scratch: Path, log: Path, model: str, time_limit_s: float,
          memory_limit_mb: int, case_time_limit_s: float) -> tuple[str | None, float]:
    """Run ``hw4 answers`` on a copy of ``submission`` in ``scratch``; ``(None, seconds)`` or ``(why it failed, s)``."""
    for sub in ("home", "tmp", "cache"):
        (scratch / sub).mkdir()
    copy = scratch / f"homework4_stub{submission.suffix}"  # a fixed name: it can't shadow a module
    shutil.copyfile(submission, copy)
    command = [sys.executable, "-m", "hw4", "answers", str(copy), "-o", str(output), "--model", model,
               "--time-limit", f"{case_time_limit_s:g}", "--quiet"]
    cpu_limit = 2 * int(time_limit_s) + 30  # CPU seconds; model loading may use a few threads
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=scratch, env=child_environment(scratch), stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=lambda: _limits(memory_limit_mb, cpu_limit))
        try:
            code = process.wait(timeout=time_limit_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.wait()
            return f"took longer than {time_limit_s:g} s and was stopped", time.monotonic() - started
        except BaseException:
            _kill_group(process)
            process.wait()
            raise
        _kill_group(process)  # leave nothing behind that it started
    seconds = time.monotonic() - started
    if code != 0:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        tail = _tail(log)
        return f"{how}" + (f" ({tail})" if tail else ""), seconds
    if not output.is_file():
        return "finished without writing an answers file", seconds
    return None, seconds


# ------------------------------------------------------------------------------------------ comparison


def case_answers(answers: object) -> tuple[dict[str, object], dict[str, str]]:
    """``{"question/case": answer}`` and ``{"question/case": error}`` from an answers dict of any shape."""
    found: dict[str, object] = {}
    errors: dict[str, str] = {}
    questions = answers.get("questions") if isinstance(answers, dict) else None
    if not isinstance(questions, dict):
        return found, errors
    for question, entry in questions.items():
        if not isinstance(entry, dict):
            continue
        for kind, target in (("answers", found), ("errors", errors)):
            values = entry.get(kind)
            if isinstance(values, dict):
                target.update({f"{question}/{name}": value for name, value in values.items()})
    return found, errors


def mismatched_cases(produced: object, submitted: object) -> list[str]:
    """Cases answered by one file and not the other, or whose arrays differ beyond ``hw4.compare`` tolerance."""
    mine, _ = case_answers(produced)
    theirs, _ = case_answers(submitted)
    different = []
    for name in sorted(set(mine) | set(theirs), key=_case_order):
        a, b = mine.get(name), theirs.get(name)
        if a is None and b is None:
            continue  # neither file answered it (both raised)
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or not compare(a, b).passed:
            different.append(name)
    return different


def _case_order(name: str) -> tuple[int, str]:
    question = name.split("/", 1)[0]
    return (C.QUESTIONS.index(question) if question in C.QUESTIONS else len(C.QUESTIONS), name)


def _by_question(cases: list[str]) -> str:
    counts: dict[str, int] = {}
    for name in cases:
        question = name.split("/", 1)[0]
        counts[question] = counts.get(question, 0) + 1
    return ", ".join(f"{C.TITLES.get(q, q)}: {n} case{'s' * (n != 1)}" for q, n in counts.items())


def _meta_note(produced: object, submitted: object) -> str:
    """Why everything may differ: the files were made with another model or another set of cases."""
    def meta(answers: object) -> dict:
        found = answers.get("meta") if isinstance(answers, dict) else None
        return found if isinstance(found, dict) else {}

    mine, theirs = meta(produced), meta(submitted)
    for key, what in (("model_id", "model"), ("cases_version", "set of cases")):
        if mine.get(key) != theirs.get(key):
            return f" (the pickle was made with another {what}: {theirs.get(key)!r}, the re-run used {mine.get(key)!r})"
    return ""


def _memory_errors(answers: object) -> int:
    _, errors = case_answers(answers)
    return sum(("MemoryError" in str(e) or "allocate" in str(e)) for e in errors.values())


def verify(submission: str | os.PathLike[str], pickle_path: str | os.PathLike[str], model: str = EMBEDDED,
           time_limit_s: float = 600, memory_limit_mb: int = 6000,
           case_time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> Integrity:
    """Re-run ``submission`` in a sandboxed process and compare its answers with ``pickle_path``, case by case."""
    submission, pickle_path = Path(submission), Path(pickle_path)
    name = pickle_path.name
    if not submission.is_file():
        return Integrity(None, f"Integrity not checked: the submission {submission.name} was not found.")
    try:
        submitted = load_answers(pickle_path)  # read first: the re-run can't touch what it is compared with
    except AnswerFileError as err:
        return Integrity(None, f"Integrity not checked: {err}")
    with tempfile.TemporaryDirectory(prefix="hw4-integrity-", ignore_cleanup_errors=True) as scratch_dir, \
            tempfile.TemporaryDirectory(prefix="hw4-integrity-out-", ignore_cleanup_errors=True) as out_dir:
        output, log = Path(out_dir) / "rerun.pkl", Path(out_dir) / "rerun.log"
        failure, seconds = rerun(submission, output, Path(scratch_dir), log, model, time_limit_s, memory_limit_mb,
                                 case_time_limit_s)
        if failure is None:
            try:
                produced = load_answers(output, name="the re-run's answers")
            except AnswerFileError as err:
                failure = f"wrote answers that could not be read ({err})"
    if failure is not None:
        return Integrity(None, f"Integrity not checked: re-running {submission.name} {failure}.")
    mismatched = mismatched_cases(produced, submitted)
    total = len(set(case_answers(produced)[0]) | set(case_answers(submitted)[0]))
    if not mismatched:
        return Integrity(True, f"Integrity: the submitted code reproduces {name} ({total} cases checked, "
                               f"re-run in {seconds:.0f} s).")
    note = _meta_note(produced, submitted)
    if _memory_errors(produced):
        note = f" (some cases ran out of the {memory_limit_mb} MB memory limit of the re-run)"
    return Integrity(False, f"Integrity: the submitted code does NOT reproduce {name}: {len(mismatched)} of {total} "
                            f"cases differ ({_by_question(mismatched)}){note}.", mismatched)
