"""Run a callable in a forked child process under a time limit, capture its printing, report how it ended.

It knows nothing of questions or cases: a ``Task`` is a callable that returns a numpy array, how to describe what
it raised, and its limit; ``run_lanes`` runs lanes of tasks (each lane's in order, lanes side by side) and says
how each ended in an ``Outcome``. In a forked child (``can_fork()``) whatever the callable changes or breaks ends
with the child: it starts from the parent's state, its soft limit raises ``TimeLimitExceeded`` (a
``BaseException``) and tells the parent, which kills the child's process group at once, or ``grace_s`` after the
limit if the child stays silent; an ``os._exit``, a signal or a crash is reported with its exit code. Without
fork (``fork=False``) tasks run here, the process state (``hw4.process_state``) is restored after each, but an
ignored limit or an exit cannot be contained.

Why a plain ``os.fork`` and not pebble's ``ProcessPool`` or ``concurrent.futures`` with a fork context: their
pools send results back pickled, and the parent must not unpickle what code in the child may write on the pipe
(here: a JSON header and a ``.npy`` read with ``allow_pickle=False``); their timeout stops the worker from outside
(SIGTERM, then SIGKILL) and not the processes it started, with no message naming the line that was running, where
here the soft limit fires inside the child and the parent kills its process group; a worker runs many tasks unless
it is limited to one; and the lanes (in order, skipped after a stop) would still be written on top.
``multiprocessing`` also refuses children in daemonic processes, where a plain fork works.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, Generic, Literal, NoReturn, TypeVar, get_args

import numpy as np
import torch

from .process_state import GENERATION_THREADS, saved_state

Ending = Literal["returned", "raised", "timed_out", "exited", "overran", "skipped"]
ENDINGS: tuple[str, ...] = get_args(Ending)
STOPPING = ("timed_out", "exited", "overran")  # a lane's later tasks are skipped after one of these
MAX_CAPTURED_OUTPUT = 2000  # characters of a task's printing kept
MAX_MESSAGE = 500  # characters of a skipped task's message

K = TypeVar("K")
T = TypeVar("T")


class TimeLimitExceeded(BaseException):
    """A task ran past its time limit (a ``BaseException``: ``except Exception`` cannot swallow it)."""


def _nowhere(frame: FrameType | None) -> str:
    return ""


@dataclass(frozen=True)
class Task:
    """One call to run: ``call()`` returns the value, ``describe(err)`` is the one-line error of what it raised;
    ``seconds`` its limit (None: none), ``where(frame)`` what the time-limit message adds about the running code,
    ``name`` who ended the process in that message, ``label`` how a skipped task names this one."""

    call: Callable[[], np.ndarray]
    describe: Callable[[BaseException], str]
    seconds: float | None = None
    where: Callable[[FrameType | None], str] = _nowhere
    name: str = "the task"
    label: str = "an earlier task"


@dataclass
class Outcome:
    """How a task ended: its value or its error (one of them), its captured printing."""

    value: np.ndarray | None = None
    error: str | None = None
    output: str = ""
    ended: Ending = "returned"

    @property
    def stops(self) -> bool:
        """Whether its lane's later tasks are skipped: it ran out of time or ended its process."""
        return self.ended in STOPPING


def can_fork() -> bool:
    """Whether tasks run in forked children: Linux, one generation thread, and CUDA not initialised.

    A forked child cannot use CUDA, and one that starts OpenMP threads after its parent did hangs (measured).
    """
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and GENERATION_THREADS == 1 and not torch.cuda.is_initialized())


def usable_cpus() -> int:
    """How many CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# ------------------------------------------------------------------------------------------ in this process


@contextlib.contextmanager
def time_limit(seconds: float | None, on_expiry: Callable[[str], None] | None = None,
               where: Callable[[FrameType | None], str] = _nowhere) -> Iterator[None]:
    """Raise ``TimeLimitExceeded`` in the block after ``seconds``, and again every second while it is ignored.

    Needs SIGALRM and the main thread (POSIX); elsewhere the block runs unlimited. ``on_expiry`` is told the
    message first (the forked child sends it to the parent, which then kills the child).
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not seconds or not usable:
        yield
        return

    def _expired(signum: int, frame: FrameType | None) -> None:
        message = f"took longer than the {seconds:g} s time limit (an endless loop?){where(frame)}"
        if on_expiry:
            on_expiry(message)
        raise TimeLimitExceeded(message)

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def captured_output() -> Iterator[io.StringIO]:
    """Capture printing and answer ``input()`` with end-of-file; restore dtype, grad mode, threads, RNGs and cwd."""
    captured = io.StringIO()
    with saved_state():
        sys.stdin = io.StringIO("")
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            yield captured


def run_here(task: Task, on_expiry: Callable[[str], None] | None = None) -> Outcome:
    """Run ``task`` in this process under its soft time limit, printing captured."""
    with captured_output() as captured:
        try:
            with time_limit(task.seconds, on_expiry, task.where):
                value = task.call()
            return Outcome(value, None, captured.getvalue()[:MAX_CAPTURED_OUTPUT])
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # noqa: BLE001 - the callable may raise anything, SystemExit included
            return Outcome(None, task.describe(err), captured.getvalue()[:MAX_CAPTURED_OUTPUT],
                           "timed_out" if isinstance(err, TimeLimitExceeded) else "raised")


# ------------------------------------------------------------------------------------------ in a forked child


def _send(conn: Any, header: dict, array: np.ndarray | None = None) -> None:
    conn.send_bytes(json.dumps(header).encode())
    if array is not None:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        conn.send_bytes(buffer.getvalue())


def _child(conn: Any, task: Task) -> NoReturn:
    """The forked child: run the task, send the outcome as JSON (+ a .npy value), and leave without clean-up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it kills the child
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # its own process group: processes it starts are killed with it
    torch.set_num_threads = lambda nthreads: None  # more OpenMP threads after a fork hang (see can_fork)
    code = 0
    try:
        outcome = run_here(task, on_expiry=lambda message: _send(conn, {"timeout": message}))
        _send(conn, {"error": outcome.error, "output": outcome.output, "ended": outcome.ended}, outcome.value)
    except BaseException:  # noqa: BLE001 - the parent reports a child that sent nothing
        code = 1
    os._exit(code)  # no atexit handlers, finalisers or threads the callable left behind


def _receive(conn: Any) -> Outcome:
    header = json.loads(conn.recv_bytes())
    if "timeout" in header:
        return Outcome(None, str(header["timeout"]), "", "timed_out")
    value = None
    if header["error"] is None:
        value = np.load(io.BytesIO(conn.recv_bytes()), allow_pickle=False)
    ended: Ending = header["ended"] if header["ended"] in ENDINGS else "raised"
    return Outcome(value, None if value is not None else str(header["error"]), str(header["output"]), ended)


@dataclass
class _Running(Generic[K, T]):
    """A task running in a forked child: its pid, the pipe it answers on, and when it is killed."""

    pid: int
    reader: Any
    lane: K
    item: T
    task: Task
    deadline: float | None


def _start_forked(lane: K, item: T, task: Task, grace_s: float) -> _Running[K, T]:
    """Fork a child that runs ``task``; it is killed ``grace_s`` after its limit if it has not answered.

    A plain ``os.fork`` (not ``multiprocessing.Process``), so that it also works inside daemonic worker processes.
    """
    reader, writer = multiprocessing.Pipe(duplex=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "multi-threaded, fork() may deadlock": measured fine
        pid = os.fork()
    if pid == 0:
        try:
            reader.close()
            _child(writer, task)
        finally:
            os._exit(1)
    writer.close()
    deadline = time.monotonic() + task.seconds + grace_s if task.seconds else None
    return _Running(pid, reader, lane, item, task, deadline)


def _finish_forked(running: _Running, grace_s: float) -> Outcome:
    """The outcome of a child that answered, ended, or ran out of time; the child and its group are gone after."""
    status = None
    try:
        if running.reader.poll(0):
            try:
                return _receive(running.reader)
            except (EOFError, OSError, ValueError, KeyError, TypeError):
                status = _reap(running.pid, grace_s)
                return Outcome(None, f"{running.task.name} ended the process (exit code {status}: os._exit, a "
                                     f"signal or a crash) instead of returning its answer", "", "exited")
        return Outcome(None, f"took longer than the {running.task.seconds:g} s time limit and kept running after "
                             f"it (an endless loop that ignores the limit?)", "", "overran")
    finally:
        for kill, target in ((os.killpg, running.pid), (os.kill, running.pid)):  # its group, or it before setpgid
            with contextlib.suppress(OSError):
                kill(target, signal.SIGKILL)
        if status is None:
            _reap(running.pid, None)
        running.reader.close()


def _reap(pid: int, timeout_s: float | None) -> int | None:
    """Wait for child ``pid`` (up to ``timeout_s``; None: until it ends) and return its exit code (-N: signal N)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        try:
            done, status = os.waitpid(pid, 0 if deadline is None else os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return os.waitstatus_to_exitcode(status)
        if deadline is not None and time.monotonic() > deadline:
            return None
        time.sleep(0.01)


# ------------------------------------------------------------------------------------------ lanes of tasks


def skipped(task: Task, outcome: Outcome) -> Outcome:
    """The outcome of a task not run because the earlier ``task`` of its lane ended with ``outcome``."""
    return Outcome(None, f"skipped after {task.label}: {outcome.error}"[:MAX_MESSAGE], "", "skipped")


def run_lanes(lanes: Mapping[K, Sequence[T]], task_of: Callable[[K, T], Task],
              done: Callable[[K, T, Outcome], None], *, fork: bool, parallel: int = 1, grace_s: float = 5.0,
              after_here: Callable[[Outcome], None] | None = None) -> None:
    """Run each lane's items in order, the task ``task_of(lane, item)`` built just before it starts, and tell
    ``done`` each outcome; after one that ``stops``, the lane's later items are done as ``skipped``.

    ``fork``: each task in its own forked child, up to ``parallel`` lanes side by side (each child single-threaded,
    so the values are those of a sequential run). Otherwise one after another here, ``after_here(outcome)`` after
    each (to restore what the process state does not cover, and say so in the outcome).
    """
    if fork:
        _run_forked(lanes, task_of, done, parallel, grace_s)
        return
    for lane, items in lanes.items():
        stopped: Outcome | None = None
        for item in items:
            if stopped is not None:
                done(lane, item, stopped)
                continue
            task = task_of(lane, item)
            outcome = run_here(task)
            if after_here:
                after_here(outcome)
            if outcome.stops:
                stopped = skipped(task, outcome)
            done(lane, item, outcome)


def _run_forked(lanes: Mapping[K, Sequence[T]], task_of: Callable[[K, T], Task],
                done: Callable[[K, T, Outcome], None], parallel: int, grace_s: float) -> None:
    waiting = {lane: list(items) for lane, items in lanes.items() if items}
    running: dict[Any, _Running[K, T]] = {}
    try:
        while waiting or running:
            busy = {r.lane for r in running.values()}
            for lane in [k for k in waiting if k not in busy][: parallel - len(running)]:
                item = waiting[lane].pop(0)
                if not waiting[lane]:
                    del waiting[lane]
                child = _start_forked(lane, item, task_of(lane, item), grace_s)
                running[child.reader] = child
            deadlines = [r.deadline for r in running.values() if r.deadline is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if len(deadlines) == len(running) else None
            ready = set(multiprocessing.connection.wait(list(running), timeout))
            now = time.monotonic()
            for reader in list(running):
                child = running[reader]
                if reader in ready or (child.deadline is not None and now >= child.deadline):
                    del running[reader]
                    outcome = _finish_forked(child, grace_s)
                    done(child.lane, child.item, outcome)
                    if outcome.stops:
                        for item in waiting.pop(child.lane, []):
                            done(child.lane, item, skipped(child.task, outcome))
    finally:
        for child in running.values():  # interrupted: leave no child behind
            child.deadline = time.monotonic()
            _finish_forked(child, grace_s)
