"""``answers = generate(implementation, model, cases)``: run homework functions on the cases.

The runner calls it on a student's module, the autograder on ``solutions.homework4``,
the self-checks on a notebook's functions. Each case builds its own inputs under its
own seed on the CPU in float32; a failing, slow or misbehaving function costs its
own case and nothing else. The result holds only plain containers and numpy arrays.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from . import cases as C
from .clips import clip_latent
from .sampling import make_denoiser, seeded, setup_sampling

FORMAT = "hw4-answers/1"
DEFAULT_TIME_LIMIT_S = 120.0
MAX_CAPTURED_OUTPUT = 2000
GENERATION_THREADS = 1  # float sums depend on the thread count; one thread makes answers bit-identical everywhere


class CaseTimeout(Exception):
    """A homework function ran past its time limit."""


def bind_globals(implementation: Any, model: torch.nn.Module) -> None:
    """Give the implementation the globals the handout promised it: ``SAMPLE_RATE`` and ``model``."""
    implementation.SAMPLE_RATE = model.sample_rate
    implementation.model = model


def _frame_mask(reference: torch.Tensor, start: int, end: int) -> torch.Tensor:
    mask = torch.zeros_like(reference)
    mask[..., start:end] = 1
    return mask


class CaseInputs:
    """Builds each case's inputs; clip latents are encoded once per run and handed out as copies."""

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.denoiser = make_denoiser(model)
        self._latents: dict[str, torch.Tensor] = {}

    def latent(self, clip: str) -> torch.Tensor:
        if clip not in self._latents:
            self._latents[clip] = clip_latent(self.model, clip)
        return self._latents[clip].clone()

    def call(self, implementation: Any, question: str, case: Any) -> Any:
        """Call the implementation's function for ``question`` on ``case`` and return what it returned."""
        fn = getattr(implementation, C.ALL_FUNCTIONS[question], None)
        if not callable(fn):
            raise NameError(f"{C.ALL_FUNCTIONS[question]} is not defined in the submission")
        if question in C.LAB_FUNCTIONS:  # the lecture lab's functions take plain tensors, built there
            from .lab_checks import call_lab_case

            return call_lab_case(fn, question, case)
        if question == "q1_to_d":
            generator = torch.Generator().manual_seed(case.seed)
            x = torch.randn(case.shape, generator=generator) * 10
            denoised = torch.randn(case.shape, generator=generator)
            return fn(x, torch.tensor(case.sigma), denoised)
        if question == "q2_mask":
            return fn(self.latent(case.clip), case.start_s, case.end_s)
        if question == "q5_style_transfer":
            _, _, sigmas, extra_args = setup_sampling(self.model, case.prompt, case.seed, case.steps, case.cfg_scale)
            with seeded(case.seed):
                return fn(self.denoiser, sigmas, self.latent(case.clip), extra_args=extra_args,
                          transfer_strength=case.strength)
        _, x, sigmas, extra_args = setup_sampling(self.model, case.prompt, case.seed, case.steps, case.cfg_scale)
        if question == "q1_sample":
            with seeded(case.seed):
                return fn(self.denoiser, x, sigmas, extra_args=extra_args)
        reference = self.latent(case.clip)
        mask = _frame_mask(reference, case.start_frame, case.end_frame)
        with seeded(case.seed):
            if question == "q3_inpaint":
                return fn(self.denoiser, x, sigmas, reference, mask, extra_args=extra_args)
            if case.paint_start is None and case.paint_end is None:
                return fn(self.denoiser, x, sigmas, reference, mask, extra_args=extra_args)
            return fn(self.denoiser, x, sigmas, reference, mask, extra_args=extra_args,
                      paint_start=case.paint_start, paint_end=case.paint_end)


def to_array(value: Any) -> np.ndarray:
    """The answer as a numpy array, or a ``TypeError`` that says what came back instead."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").numpy().copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    raise TypeError(f"returned {type(value).__name__} instead of a torch.Tensor")


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``CaseTimeout`` in the block after ``seconds`` (main thread on POSIX; otherwise unlimited)."""
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def _expired(signum, frame):
        raise CaseTimeout(f"took longer than the {seconds:g} s time limit (an endless loop?)")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def sandboxed_call() -> Iterator[io.StringIO]:
    """Capture printing, answer ``input()`` with end-of-file, and restore the working directory and threads."""
    captured = io.StringIO()
    cwd, stdin, threads = os.getcwd(), sys.stdin, torch.get_num_threads()
    sys.stdin = io.StringIO("")
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured), torch.no_grad():
            yield captured
    finally:
        sys.stdin = stdin
        os.chdir(cwd)
        torch.set_num_threads(threads)  # a student's set_num_threads must not leak into later cases


def describe_error(err: BaseException) -> str:
    """One line for the student: the exception and the innermost line of their code that raised it."""
    if isinstance(err, NotImplementedError):
        return "not implemented yet (the function still raises NotImplementedError)"
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "hw4" not in f.filename.replace("\\", "/").split("/")]
    where = f" (line {frames[-1].lineno}: {frames[-1].line})" if frames and frames[-1].line else ""
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {message}{where}"[:500]


def run_case(implementation: Any, inputs: CaseInputs, question: str, case: Any,
             seconds: float | None) -> tuple[np.ndarray | None, str | None, str]:
    """Run one case: ``(answer, error, captured output)``; exactly one of answer and error is set."""
    with sandboxed_call() as captured:
        try:
            with time_limit(seconds):
                answer = to_array(inputs.call(implementation, question, case))
            return answer, None, captured.getvalue()[:MAX_CAPTURED_OUTPUT]
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # noqa: BLE001 - a student's code may raise anything, SystemExit included
            return None, describe_error(err), captured.getvalue()[:MAX_CAPTURED_OUTPUT]


def metadata(model_id: str, cases: C.CaseSet) -> dict:
    """What the grader checks before comparing: format, model, cases and library versions."""
    from importlib.metadata import version

    import k_diffusion
    import stable_audio_tools  # noqa: F401
    return {
        "format": FORMAT,
        "model_id": model_id,
        "cases_version": cases.version,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {
            "python": sys.version.split()[0],
            "torch": str(torch.__version__),
            "numpy": str(np.__version__),
            "stable_audio_tools": version("stable-audio-tools"),
            "k_diffusion": str(getattr(k_diffusion, "__version__", version("k-diffusion"))),
        },
    }


def generate(
    implementation: Any,
    model: torch.nn.Module,
    cases: C.CaseSet = C.GRADED,
    questions: tuple[str, ...] | None = None,
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
    progress: bool = True,
    on_case: Callable[[str, str, str | None], None] | None = None,
) -> dict:
    """Run every case of ``cases`` through ``implementation``; return the answers dict the pickle holds."""
    bind_globals(implementation, model)
    inputs = CaseInputs(model)
    questions = tuple(q for q in (questions or tuple(cases)) if q in cases.cases)
    todo = [(q, case) for q in questions for case in cases[q]]
    model_id = getattr(model, "hw4_model_id", "unknown")
    result: dict[str, Any] = {"meta": metadata(model_id, cases), "questions": {}}
    for q in questions:
        result["questions"][q] = {"answers": {}, "errors": {}, "output": {}}
    bar = _progress(len(todo), progress)
    threads = torch.get_num_threads()
    torch.set_num_threads(GENERATION_THREADS)
    try:
        for question, case in todo:
            bar.set_description(C.ALL_TITLES[question])
            answer, error, output = run_case(implementation, inputs, question, case, time_limit_s)
            entry = result["questions"][question]
            if error is None:
                entry["answers"][case.name] = answer
            else:
                entry["errors"][case.name] = error
            if output:
                entry["output"][case.name] = output
            if on_case:
                on_case(question, case.name, error)
            bar.update(1)
    finally:
        bar.close()
        torch.set_num_threads(threads)
    return result


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return SimpleNamespace(set_description=lambda *_: None, update=lambda *_: None, close=lambda: None)
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="case", leave=True)
