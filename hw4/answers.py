"""``answers = generate(implementation, model, cases)``: run homework functions on the cases.

The runner calls it on a student's module, the autograder on ``solutions.homework4``,
the self-checks on a notebook's functions. Each case builds its own inputs under its
own seed on the CPU in float32 and runs in a forked child process (Linux), so whatever
a function does - loop forever, swallow the time limit, change the default dtype, the
model's weights or the working directory, exit the process - ends with its case. The
result is an ``hw4.answers_file.Answers`` of numpy arrays and strings.
"""

from __future__ import annotations

import contextlib
import io
import json
import linecache
import multiprocessing
import multiprocessing.connection
import os
import random
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType, SimpleNamespace
from typing import Any

import numpy as np
import torch

from .answers_file import Answers, Meta, QuestionAnswers
from .cases import CaseSet, SampleCase, denoiser_evaluations
from .clips import clip_latent
from .questions import GRADED, every, find
from .sampling import make_denoiser, seeded, setup_sampling

FORMAT = "hw4-answers/1"
TIME_LIMIT_FACTOR = 20  # a case may take this many times the reference solution's estimated time ...
MIN_TIME_LIMIT_S = 10.0  # ... but never less than this (start-up, a busy machine)
HARD_KILL_GRACE_S = 5.0  # a child still running this long after its soft limit is killed
MAX_CAPTURED_OUTPUT = 2000
GENERATION_THREADS = 1  # float sums depend on the thread count; one thread makes answers bit-identical on a machine
MAX_PARALLEL_QUESTIONS = 4  # forked runs: questions side by side, one process each (four of the six ever sample)


class CaseTimeout(BaseException):
    """A homework function ran past its time limit (a ``BaseException``: ``except Exception`` cannot swallow it)."""


@dataclass
class CaseOutcome:
    """What one case gave: an answer or an error (one of them), the captured printing, and whether to stop the question."""

    answer: np.ndarray | None = None
    error: str | None = None
    output: str = ""
    stop_question: bool = False


def bind_globals(implementation: Any, model: torch.nn.Module) -> None:
    """Give the implementation the globals the handout promised it: ``SAMPLE_RATE`` and ``model``."""
    implementation.SAMPLE_RATE = model.sample_rate
    implementation.model = model


class CaseInputs:
    """The toolbox a case builds its inputs with (``case.call(fn, inputs)``); clip latents are encoded once per run
    and handed out as copies."""

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.denoiser = make_denoiser(model)
        self._latents: dict[str, torch.Tensor] = {}

    seeded = staticmethod(seeded)

    def latent(self, clip: str) -> torch.Tensor:
        if clip not in self._latents:
            self._latents[clip] = clip_latent(self.model, clip)
        return self._latents[clip].clone()

    def sampling(self, case: SampleCase) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """The starting noise, sigmas and conditioning of a sampling case."""
        _, x, sigmas, extra_args = setup_sampling(self.model, case.prompt, case.seed, case.steps, case.cfg_scale)
        return x, sigmas, extra_args

    @staticmethod
    def normal(seed: int, shape: tuple[int, ...], count: int) -> list[torch.Tensor]:
        """``count`` standard normal tensors of ``shape``, drawn one after another from a generator seeded ``seed``."""
        generator = torch.Generator().manual_seed(seed)
        return [torch.randn(shape, generator=generator) for _ in range(count)]

    @staticmethod
    def tensor(values: Any) -> torch.Tensor:
        return torch.tensor(values)

    @staticmethod
    def frame_mask(reference: torch.Tensor, start: int, end: int) -> torch.Tensor:
        """Ones over frames ``[start, end)`` of ``reference``'s shape, zeros elsewhere."""
        mask = torch.zeros_like(reference)
        mask[..., start:end] = 1
        return mask

    def prepare(self, todo: list[tuple[str, Any]]) -> None:
        """Encode every clip the cases use, here, so that child processes inherit them instead of re-encoding."""
        for _, case in todo:
            if getattr(case, "clip", None):
                self.latent(case.clip)

    def seconds_per_evaluation(self, prompt: str) -> float:
        """The time of one guided denoiser evaluation on this machine and model (the best of two)."""
        _, x, sigmas, extra_args = setup_sampling(self.model, prompt, 0, 2)
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            self.denoiser(x, sigmas[0] * x.new_ones([x.shape[0]]), **extra_args)
            best = min(best, time.perf_counter() - started)
        return best

    def call(self, implementation: Any, question: str, case: Any) -> Any:
        """Call the implementation's function for ``question`` on ``case`` and return what it returned."""
        name = find(question).function
        fn = getattr(implementation, name, None)
        if not callable(fn):
            raise NameError(f"{name} is not defined in the submission")
        return case.call(fn, self)


def case_time_limit(case: Any, seconds_per_evaluation: float) -> float:
    """The derived limit of one case: ``TIME_LIMIT_FACTOR`` times the reference's estimated time, at least the minimum."""
    return max(MIN_TIME_LIMIT_S, TIME_LIMIT_FACTOR * denoiser_evaluations(case) * seconds_per_evaluation)


def to_array(value: Any) -> np.ndarray:
    """The answer as a numpy array, or a ``TypeError`` that says what came back instead."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").numpy().copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    raise TypeError(f"returned {type(value).__name__} instead of a torch.Tensor")


# ------------------------------------------------------------------------------------------ where and what


def student_files(implementation: Any) -> frozenset[str]:
    """The files the implementation's homework functions were compiled from (the student's file or notebook cells)."""
    files = set()
    for name in (q.function for q in every()):
        code = getattr(getattr(implementation, name, None), "__code__", None)
        if code is not None:
            files.add(code.co_filename)
    return frozenset(files)


def _line(filename: str, lineno: int | None) -> str:
    return f" (line {lineno}: {linecache.getline(filename, lineno).strip()})" if lineno and \
        linecache.getline(filename, lineno).strip() else ""


def where_in_student_code(frame: FrameType | None, files: frozenset[str]) -> str:
    """`` (line N: code)`` for the innermost frame of ``frame``'s stack that runs the student's code, else ``""``."""
    while frame is not None:
        if frame.f_code.co_filename in files:
            return _line(frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return ""


def describe_error(err: BaseException, files: frozenset[str] = frozenset(), function: str = "") -> str:
    """One line for the student: the exception and the innermost line of their code (``files``) that raised it.

    ``function`` is the homework function that was called: a ``NotImplementedError`` raised by another function
    it calls is reported as that dependency.
    """
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if f.filename in files] or [
        f for f in frames if "hw4" not in f.filename.replace("\\", "/").split("/")]
    if isinstance(err, NotImplementedError):
        if function and mine and mine[-1].name not in (function, "<module>"):
            return f"calls {mine[-1].name}, which is not implemented yet (it still raises NotImplementedError)"
        return "not implemented yet (the function still raises NotImplementedError)"
    if isinstance(err, CaseTimeout):
        return str(err)
    where = f" (line {mine[-1].lineno}: {mine[-1].line})" if mine and mine[-1].line else ""
    if isinstance(err, SystemExit):
        return f"called sys.exit() or exit(){where}: a homework function must return its answer"[:500]
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {message}{where}"[:500]


# ------------------------------------------------------------------------------------------ state


@dataclass
class _State:
    dtype: torch.dtype
    grad: bool
    threads: int
    cwd: str
    rng: tuple
    stdin: Any


def _snapshot() -> _State:
    return _State(torch.get_default_dtype(), torch.is_grad_enabled(), torch.get_num_threads(), os.getcwd(),
                  (torch.get_rng_state(), np.random.get_state(), random.getstate()), sys.stdin)


def _restore(state: _State) -> None:
    torch.set_default_dtype(state.dtype)
    torch.set_grad_enabled(state.grad)
    torch.set_num_threads(state.threads)
    torch.set_rng_state(state.rng[0])
    np.random.set_state(state.rng[1])
    random.setstate(state.rng[2])
    sys.stdin = state.stdin
    with contextlib.suppress(OSError):
        os.chdir(state.cwd)


@contextlib.contextmanager
def generation_state() -> Iterator[None]:
    """Run a block in the state every case starts from (float32, no grad, one thread), then restore the caller's."""
    saved = _snapshot()
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(False)
    torch.set_num_threads(GENERATION_THREADS)
    try:
        yield
    finally:
        _restore(saved)


class ModelGuard:
    """Restores the model's parameters, buffers and flags after a case run in this process (no fork available)."""

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.saved = {name: value.detach().clone() for name, value in model.state_dict().items()}
        self.flags = [(m, m.training) for m in model.modules()]
        self.requires_grad = [(p, p.requires_grad) for p in model.parameters()]

    def restore(self) -> bool:
        """Put everything back; True when something had been changed."""
        changed = False
        for module, training in self.flags:
            changed |= module.training != training
            module.training = training
        for parameter, requires_grad in self.requires_grad:
            parameter.requires_grad_(requires_grad)
        current = self.model.state_dict()
        if current.keys() != self.saved.keys() or any(
                current[k].shape != v.shape or not torch.equal(current[k], v) for k, v in self.saved.items()):
            self.model.load_state_dict(self.saved)
            changed = True
        return changed


# ------------------------------------------------------------------------------------------ one case


@contextlib.contextmanager
def time_limit(seconds: float | None, on_expiry: Callable[[str], None] | None = None,
               files: frozenset[str] = frozenset()) -> Iterator[None]:
    """Raise ``CaseTimeout`` in the block after ``seconds``, and again every second while it is ignored.

    Needs SIGALRM and the main thread (POSIX); elsewhere the block runs unlimited. ``on_expiry`` is told the
    message first (the forked child sends it to the parent, which then kills the child).
    """
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def _expired(signum: int, frame: FrameType | None) -> None:
        message = f"took longer than the {seconds:g} s time limit (an endless loop?){where_in_student_code(frame, files)}"
        if on_expiry:
            on_expiry(message)
        raise CaseTimeout(message)

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def sandboxed_call() -> Iterator[io.StringIO]:
    """Capture printing and answer ``input()`` with end-of-file; restore dtype, grad mode, threads, RNGs and cwd."""
    captured = io.StringIO()
    saved = _snapshot()
    sys.stdin = io.StringIO("")
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            yield captured
    finally:
        _restore(saved)


def run_case(implementation: Any, inputs: CaseInputs, question: str, case: Any, seconds: float | None,
             on_expiry: Callable[[str], None] | None = None) -> CaseOutcome:
    """Run one case in this process under a soft time limit."""
    files = student_files(implementation)
    bind_globals(implementation, inputs.model)  # a function may have rebound ``model``
    with sandboxed_call() as captured:
        try:
            with time_limit(seconds, on_expiry, files):
                answer = to_array(inputs.call(implementation, question, case))
            return CaseOutcome(answer, None, captured.getvalue()[:MAX_CAPTURED_OUTPUT])
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # noqa: BLE001 - a student's code may raise anything, SystemExit included
            return CaseOutcome(None, describe_error(err, files, find(question).function), captured.getvalue()[:MAX_CAPTURED_OUTPUT],
                               stop_question=isinstance(err, CaseTimeout))


def can_fork() -> bool:
    """Whether cases run in forked children: Linux, one generation thread, and CUDA not initialised.

    A forked child cannot use CUDA, and one that starts OpenMP threads after its parent did hangs (measured).
    """
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and GENERATION_THREADS == 1 and not torch.cuda.is_initialized())


def _send(conn: Any, header: dict, array: np.ndarray | None = None) -> None:
    conn.send_bytes(json.dumps(header).encode())
    if array is not None:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        conn.send_bytes(buffer.getvalue())


def _child(conn: Any, implementation: Any, inputs: CaseInputs, question: str, case: Any, seconds: float) -> None:
    """The forked child: run the case, send the outcome as JSON (+ a .npy answer), and leave without clean-up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it kills the child
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # its own process group: processes it starts are killed with it
    torch.set_num_threads = lambda threads: None  # more OpenMP threads after a fork hang (see can_fork)
    code = 0
    try:
        outcome = run_case(implementation, inputs, question, case, seconds,
                           on_expiry=lambda message: _send(conn, {"timeout": message}))
        _send(conn, {"error": outcome.error, "output": outcome.output, "stop": outcome.stop_question},
              outcome.answer)
    except BaseException:  # noqa: BLE001 - the parent reports a child that sent nothing
        code = 1
    os._exit(code)  # no atexit handlers, finalisers or threads the student left behind


def _receive(conn: Any) -> CaseOutcome:
    header = json.loads(conn.recv_bytes())
    if "timeout" in header:
        return CaseOutcome(None, str(header["timeout"]), "", True)
    answer = None
    if header["error"] is None:
        answer = np.load(io.BytesIO(conn.recv_bytes()), allow_pickle=False)
    return CaseOutcome(answer, header["error"], str(header["output"]), bool(header["stop"]))


@dataclass
class _Running:
    """A case running in a forked child: its pid, the pipe it answers on, and when it is killed."""

    pid: int
    reader: Any
    question: str
    case: Any
    seconds: float | None
    deadline: float | None


def _start_forked(implementation: Any, inputs: CaseInputs, question: str, case: Any,
                  seconds: float | None) -> _Running:
    """Fork a child that runs one case; it is killed ``HARD_KILL_GRACE_S`` after its limit if it has not answered.

    A plain ``os.fork`` (not ``multiprocessing.Process``), so that it also works inside daemonic worker processes.
    """
    reader, writer = multiprocessing.Pipe(duplex=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "multi-threaded, fork() may deadlock": measured fine
        pid = os.fork()
    if pid == 0:
        try:
            reader.close()
            _child(writer, implementation, inputs, question, case, seconds)
        finally:
            os._exit(1)
    writer.close()
    deadline = time.monotonic() + seconds + HARD_KILL_GRACE_S if seconds else None
    return _Running(pid, reader, question, case, seconds, deadline)


def _finish_forked(running: _Running) -> CaseOutcome:
    """The outcome of a child that answered, ended, or ran out of time; the child and its group are gone after."""
    function, status = find(running.question).function, None
    try:
        if running.reader.poll(0):
            try:
                return _receive(running.reader)
            except (EOFError, OSError, ValueError):
                status = _reap(running.pid, HARD_KILL_GRACE_S)
                return CaseOutcome(None, f"{function} ended the process (exit code {status}: os._exit, a signal or "
                                         f"a crash) instead of returning its answer", "", True)
        return CaseOutcome(None, f"took longer than the {running.seconds:g} s time limit and kept running after it "
                                 f"(an endless loop that ignores the limit?)", "", True)
    finally:
        for kill, target in ((os.killpg, running.pid), (os.kill, running.pid)):  # its group, or it before setpgid
            with contextlib.suppress(OSError):
                kill(target, signal.SIGKILL)
        if status is None:
            _reap(running.pid, None)
        running.reader.close()


def parallel_questions() -> int:
    """How many questions run side by side in forked children: one per CPU this process may use, at most 4."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(MAX_PARALLEL_QUESTIONS, cpus))


def _run_forked(implementation: Any, inputs: CaseInputs, todo: list[tuple[str, Any]],
                seconds_of: Callable[[str, Any], float], done: Callable[[str, Any, CaseOutcome], None]) -> None:
    """Run ``todo`` in forked children: each question's cases one after another, up to ``parallel_questions()``
    questions at a time. Each child is single-threaded, so the answers are those of a sequential run."""
    waiting = {q: [case for question, case in todo if question == q] for q, _ in todo}
    running: dict[Any, _Running] = {}
    slots = parallel_questions()
    try:
        while waiting or running:
            busy = {r.question for r in running.values()}
            for question in [q for q in waiting if q not in busy][: slots - len(running)]:
                case = waiting[question].pop(0)
                if not waiting[question]:
                    del waiting[question]
                child = _start_forked(implementation, inputs, question, case, seconds_of(question, case))
                running[child.reader] = child
            deadlines = [r.deadline for r in running.values() if r.deadline is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if len(deadlines) == len(running) else None
            ready = set(multiprocessing.connection.wait(list(running), timeout))
            now = time.monotonic()
            for reader in list(running):
                child = running[reader]
                if reader in ready or (child.deadline is not None and now >= child.deadline):
                    del running[reader]
                    outcome = _finish_forked(child)
                    done(child.question, child.case, outcome)
                    if outcome.stop_question:
                        for case in waiting.pop(child.question, []):
                            done(child.question, case, _skipped(child.case, outcome))
    finally:
        for child in running.values():  # interrupted: leave no child behind
            child.deadline = time.monotonic()
            _finish_forked(child)


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
        if time.monotonic() > deadline:
            return None
        time.sleep(0.01)


# ------------------------------------------------------------------------------------------ all cases


def metadata(model_id: str, cases: CaseSet) -> Meta:
    """What the grader checks before comparing: format, model, cases and library versions."""
    from importlib.metadata import version

    import k_diffusion
    import stable_audio_tools  # noqa: F401
    return Meta(
        format=FORMAT,
        model_id=model_id,
        cases_version=cases.version,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        versions={
            "python": sys.version.split()[0],
            "torch": str(torch.__version__),
            "numpy": str(np.__version__),
            "stable_audio_tools": version("stable-audio-tools"),
            "k_diffusion": str(getattr(k_diffusion, "__version__", version("k-diffusion"))),
        },
    )


def generate(
    implementation: Any,
    model: torch.nn.Module,
    cases: CaseSet = GRADED,
    questions: tuple[str, ...] | None = None,
    time_limit_s: float | None = None,
    progress: bool = True,
    on_case: Callable[[str, str, str | None], None] | None = None,
    isolate: bool | None = None,
) -> Answers:
    """Run every case of ``cases`` through ``implementation``; return the ``Answers`` (``to_dict()``: the pickle's).

    ``time_limit_s`` fixes the limit of every case; by default each case gets ``TIME_LIMIT_FACTOR`` times the
    reference solution's estimated time on this machine and model (at least ``MIN_TIME_LIMIT_S``). After a
    question's first timeout or process exit, its remaining cases are skipped. ``isolate`` (default: when
    ``can_fork()``) runs each case in a forked child; otherwise cases run here and the model is restored after each.
    """
    bind_globals(implementation, model)
    questions = tuple(q for q in (questions or tuple(cases)) if q in cases.cases)
    todo = [(q, case) for q in questions for case in cases[q]]
    model_id = getattr(model, "hw4_model_id", "unknown")
    result = Answers(metadata(model_id, cases), {q: QuestionAnswers() for q in questions})
    isolate = can_fork() if isolate is None else isolate
    bar = _progress(len(todo), progress)
    try:
        with generation_state():
            inputs = CaseInputs(model)
            inputs.prepare(todo)
            sampling = [case for q, case in todo if denoiser_evaluations(case)]
            per_evaluation = inputs.seconds_per_evaluation(sampling[0].prompt) if sampling and not time_limit_s else 0.0
            outcomes: dict[tuple[str, str], CaseOutcome] = {}

            def done(question: str, case: Any, outcome: CaseOutcome) -> None:
                outcomes[question, case.name] = outcome
                bar.set_description(find(question).title)
                if on_case:
                    on_case(question, case.name, outcome.error)
                bar.update(1)

            def seconds_of(question: str, case: Any) -> float:
                return time_limit_s or case_time_limit(case, per_evaluation)

            if isolate:
                _run_forked(implementation, inputs, todo, seconds_of, done)
            else:
                _run_here(implementation, inputs, todo, seconds_of, done, ModelGuard(model))
            for question, case in todo:  # recorded in the cases' order, however they finished
                _record(result.questions[question], case.name, outcomes[question, case.name])
    finally:
        bar.close()
    return result


def _skipped(case: Any, outcome: CaseOutcome) -> CaseOutcome:
    """The outcome of a case not run because an earlier ``case`` of its question timed out or ended the process."""
    return CaseOutcome(None, f"skipped after case {case.name}: {outcome.error}"[:500])


def _run_here(implementation: Any, inputs: CaseInputs, todo: list[tuple[str, Any]],
              seconds_of: Callable[[str, Any], float], done: Callable[[str, Any, CaseOutcome], None],
              guard: ModelGuard) -> None:
    """Run ``todo`` one case after another in this process, restoring the model after each case."""
    stopped: dict[str, CaseOutcome] = {}
    for question, case in todo:
        if question in stopped:
            done(question, case, stopped[question])
            continue
        outcome = run_case(implementation, inputs, question, case, seconds_of(question, case))
        if guard.restore():
            outcome.output += "\n[hw4: the model's weights or flags were changed; restored]"
        if outcome.stop_question:
            stopped[question] = _skipped(case, outcome)
        done(question, case, outcome)


def _record(entry: QuestionAnswers, name: str, outcome: CaseOutcome) -> None:
    if outcome.error is None:
        entry.answers[name] = outcome.answer
    else:
        entry.errors[name] = outcome.error
    if outcome.output:
        entry.output[name] = outcome.output[:MAX_CAPTURED_OUTPUT]


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return SimpleNamespace(set_description=lambda *_: None, update=lambda *_: None, close=lambda: None)
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="case", leave=True)
