"""Answers files built to hurt the TA's tools: memory amplification, unencodable and terminal-controlling text.

Each is graded the way a TA grades, through the ``hw4 grade`` command in a fresh process.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hw4.plain_data import to_plain
from hw4.safe_pickle import MAX_BYTES, AnswerFileError, load_answers

pytestmark = pytest.mark.slow  # fresh processes grading hostile files, with their peak memory

ESCAPES = "\x1b[2J\x1b[H\rtotal: 100 / 100\x1b]0;owned\x07\u202e"

# The child's own high-water mark (VmHWM; ru_maxrss would include the RSS of the test process it was forked from).
MEASURED = ("import re, sys\nfrom autograder.cli import main\ncode = main(sys.argv[1:])\n"
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
            "print('peak-kb', hwm, file=sys.stderr)\nsys.exit(code)")


def hw4_grade(path: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """``hw4 grade path`` in a fresh process: its result and that process's own peak resident memory in MB."""
    done = subprocess.run([sys.executable, "-c", MEASURED, "grade", str(path), *args], capture_output=True,
                          timeout=300)
    peak_kb = int(done.stderr.rsplit(b"peak-kb ", 1)[1].split()[0])
    return done, peak_kb / 1024


def test_one_buffer_referenced_many_times_cannot_amplify_memory(tmp_path, isolated_cache, solution_pickle):
    shared = to_plain(np.zeros(4 * 1024 * 1024, np.float32), MAX_BYTES)  # one record, which the pickler memoises
    answers = {"meta": {}, "questions": {"q1_to_d": {"answers": {f"a{i}": shared for i in range(200)}}}}
    path = tmp_path / "homework4.pkl"
    path.write_bytes(pickle.dumps(answers, protocol=4))  # 200 arrays of 16 MB over one buffer
    assert path.stat().st_size < 17 * 1024 * 1024
    with pytest.raises(AnswerFileError, match="counting repeated references"):
        load_answers(path)
    hw4_grade(solution_pickle)  # warm the reference cache, so that the measured run only reads the file
    done, peak_mb = hw4_grade(path)
    assert done.returncode == 2 and b"counting repeated references" in done.stderr
    assert peak_mb < 1024, f"hw4 grade peaked at {peak_mb:.0f} MB"


@pytest.fixture
def hostile_text_pickle(tmp_path, solution_pickle) -> Path:
    """The solution's answers with two cases replaced by errors holding a lone surrogate and escape codes."""
    answers = load_answers(solution_pickle)
    q3 = answers["questions"]["q3_inpaint"]
    first, second = list(q3["answers"])[:2]
    q3["errors"] = {first: "ValueError: \ud800 bad", second: f"RuntimeError: {ESCAPES}"}
    del q3["answers"][first], q3["answers"][second]
    answers["questions"][f"extra{ESCAPES}"] = {}
    path = tmp_path / "homework4.pkl"
    path.write_bytes(pickle.dumps(to_plain(answers, MAX_BYTES), protocol=4))  # unchecked: lone surrogate kept
    return path


def test_unencodable_and_escaping_text_is_graded_and_shown_harmlessly(hostile_text_pickle, isolated_cache,
                                                                        tmp_path):
    results = tmp_path / "results.json"
    done, _ = hw4_grade(hostile_text_pickle, "--json", str(results))
    assert done.returncode == 0, done.stderr.decode()
    table = done.stdout.decode("utf-8")
    assert not any(c in table for c in "\x1b\r\x07\u202e")
    assert table.strip().splitlines()[-1] != "total: 100 / 100"
    assert sum(line.startswith("total:") for line in table.splitlines()) == 1
    assert "\\x1b" in table  # shown, escaped
    written = results.read_text(encoding="utf-8")
    assert "\x1b" not in json.loads(written)["tests"][3]["output"]
