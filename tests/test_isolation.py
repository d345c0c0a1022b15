"""The isolation primitive on its own: plain callables, no questions or model; each ending is reported as such."""

from __future__ import annotations

import ast
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from hw4.isolation import Outcome, Task, can_fork, run_lanes

pytestmark = pytest.mark.skipif(not can_fork(), reason="forked children need Linux without CUDA")


def _task(call, seconds=None, label="t"):
    return Task(call, lambda err: f"{type(err).__name__}: {err}", seconds, name="fn", label=label)


def _run(lanes, fork=True, grace_s=0.5):
    """``lanes``: lane -> list of callables; returns lane -> list of outcomes in the lane's order."""
    found: dict[str, dict[int, Outcome]] = {lane: {} for lane in lanes}
    run_lanes({lane: list(range(len(calls))) for lane, calls in lanes.items()},
              lambda lane, i: _task(lanes[lane][i], seconds=0.5, label=f"{lane}{i}"),
              lambda lane, i, outcome: found[lane].__setitem__(i, outcome), fork=fork, parallel=2, grace_s=grace_s)
    return {lane: [found[lane][i] for i in range(len(calls))] for lane, calls in lanes.items()}


def _loop_forever():
    while True:
        pass


def _ignore_the_limit():
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass


def _print_and_read():
    print("x" * 5000)
    return np.array([len(sys.stdin.read())])


def test_each_ending_is_named_and_the_parent_survives():
    parent_cwd = os.getcwd()
    (returned, raised, timed_out, overran, exited, printed), = _run({"a": [
        lambda: np.arange(3), lambda: 1 / 0, _loop_forever, _ignore_the_limit, lambda: os._exit(7), _print_and_read,
    ]}).values()
    assert returned.ended == "returned" and returned.value.tolist() == [0, 1, 2] and returned.error is None
    assert raised.ended == "raised" and raised.error.startswith("ZeroDivisionError")
    assert timed_out.ended == "timed_out" and "0.5 s time limit" in timed_out.error
    for skipped in (overran, exited, printed):  # the lane stops after its first timeout
        assert skipped.ended == "skipped" and skipped.error.startswith("skipped after a2: took longer")
    assert os.getcwd() == parent_cwd


def test_an_ignored_limit_an_exit_and_printing_in_lanes_of_their_own():
    outcomes = _run({"overran": [_ignore_the_limit], "exited": [lambda: os._exit(7)], "printed": [_print_and_read],
                     "after": [lambda: np.zeros(1)]})
    (overran,), (exited,), (printed,), (after,) = outcomes.values()
    assert overran.ended == "overran" and "kept running after it" in overran.error
    assert exited.ended == "exited" and exited.error.startswith("fn ended the process (exit code 7")
    assert printed.value.tolist() == [0] and len(printed.output) == 2000  # input() sees end-of-file; output capped
    assert after.ended == "returned"


def test_in_process_the_same_endings_except_what_only_a_child_can_contain():
    (returned, raised, timed_out, skipped), = _run({"a": [lambda: np.ones(2), lambda: 1 / 0, _loop_forever,
                                                          lambda: np.ones(1)]}, fork=False).values()
    assert [o.ended for o in (returned, raised, timed_out, skipped)] == ["returned", "raised", "timed_out", "skipped"]


def test_the_primitive_knows_nothing_of_questions():
    tree = ast.parse((Path(__file__).resolve().parents[1] / "hw4" / "isolation.py").read_text())
    ours = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}
    assert ours == {"process_state"}
