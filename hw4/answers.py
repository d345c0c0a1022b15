"""``answers = generate(implementation, model, cases)``: run homework functions on the cases.

The runner calls it on a student's module, the autograder on ``solutions.homework4``,
the self-checks on a notebook's functions. Each case builds its own inputs under its
own seed on the CPU in float32 (``hw4.case_inputs``) and runs as one task of
``hw4.isolation``: in a forked child process (Linux), so whatever a function does -
loop forever, swallow the time limit, change the default dtype, the model's weights or
the working directory, exit the process - ends with its case. Each question is a lane:
its cases in order, questions side by side. The result is an ``hw4.answers_file.Answers``
of numpy arrays and strings.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .answers_file import Answers, Meta, QuestionAnswers
from .assignments import find, get
from .assignments import questions as every_question
from .case_inputs import CaseInputs
from .cases import CaseSet, SampleCase, denoiser_evaluations
from .isolation import MAX_CAPTURED_OUTPUT, Outcome, Task, can_fork, run_lanes, usable_cpus
from .process_state import ModelGuard, generation_state
from .student_errors import describe_error, where_in_student_code

if TYPE_CHECKING:
    from .model import AudioModel

FORMAT = "hw4-answers/1"
TIME_LIMIT_FACTOR = 20  # a case may take this many times the reference solution's estimated time ...
MIN_TIME_LIMIT_S = 10.0  # ... but never less than this (start-up, a busy machine)
HARD_KILL_GRACE_S = 5.0  # a child still running this long after its soft limit is killed
MAX_PARALLEL_QUESTIONS = 4  # forked runs: questions side by side, one process each (four of the six ever sample)

__all__ = ["CaseInputs", "bind_globals", "can_fork", "case_time_limit", "generate", "metadata",
           "parallel_questions", "student_files", "to_array"]


def bind_globals(implementation: Any, model: AudioModel | None) -> None:
    """Give the implementation the globals the handout promised it: ``model`` (when there is one) and, for an audio
    model, ``SAMPLE_RATE``."""
    if model is not None:
        rate = getattr(model, "sample_rate", None)  # the DDPM assignment's denoiser has none
        if rate is not None:
            implementation.SAMPLE_RATE = rate
        implementation.model = model


def case_time_limit(case: Any, seconds_per_evaluation: float) -> float:
    """The derived limit of one case: ``TIME_LIMIT_FACTOR`` times the reference's estimated time, at least the minimum."""
    own = float(getattr(case, "time_limit_s", 0.0))  # a case kind that states its own floor (a training run)
    return max(MIN_TIME_LIMIT_S, own, TIME_LIMIT_FACTOR * denoiser_evaluations(case) * seconds_per_evaluation)


def to_array(value: Any) -> np.ndarray:
    """The answer as a numpy array, or a ``TypeError`` that says what came back instead."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").numpy().copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    raise TypeError(f"returned {type(value).__name__} instead of a torch.Tensor")


def student_files(implementation: Any) -> frozenset[str]:
    """The files the implementation's homework functions were compiled from (the student's file or notebook cells)."""
    files = set()
    for name in (q.function for q in every_question()):
        code = getattr(getattr(implementation, name, None), "__code__", None)
        if code is not None:
            files.add(code.co_filename)
    return frozenset(files)


def parallel_questions() -> int:
    """How many questions run side by side in forked children: one per CPU this process may use, at most 4."""
    return max(1, min(MAX_PARALLEL_QUESTIONS, usable_cpus()))


def case_task(implementation: Any, inputs: CaseInputs, question: str, case: Any, seconds: float | None) -> Task:
    """One case as an isolated task: the question's function on the case's inputs, errors named at the student's line."""
    files = student_files(implementation)
    function = find(question).function

    def call() -> np.ndarray:
        bind_globals(implementation, inputs.model)  # a function may have rebound ``model``
        return to_array(inputs.call(implementation, question, case))

    return Task(call, lambda err: describe_error(err, files, function), seconds,
                lambda frame: where_in_student_code(frame, files), function, f"case {case.name}")


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
    model: AudioModel | None,
    cases: CaseSet | None = None,
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
    ``cases`` default to the homework's graded ones; ``model`` may be None for an assignment that needs none.
    """
    cases = get().graded_cases if cases is None else cases
    bind_globals(implementation, model)
    questions = tuple(q for q in (questions or tuple(cases)) if q in cases.cases)
    lanes = {q: list(cases[q]) for q in questions}
    todo = [(q, case) for q in questions for case in lanes[q]]
    model_id = getattr(model, "hw4_model_id", "unknown")
    result = Answers(metadata(model_id, cases), {q: QuestionAnswers() for q in questions})
    isolate = can_fork() if isolate is None else isolate
    bar = _progress(len(todo), progress)
    try:
        with generation_state():
            inputs = CaseInputs(model)
            inputs.prepare(todo)
            sampling = [case for _, case in todo if isinstance(case, SampleCase) and denoiser_evaluations(case)]
            per_evaluation = inputs.seconds_per_evaluation(sampling[0].prompt) if sampling and not time_limit_s else 0.0
            outcomes: dict[tuple[str, str], Outcome] = {}

            def done(question: str, case: Any, outcome: Outcome) -> None:
                outcomes[question, case.name] = outcome
                bar.set_description(find(question).title)
                if on_case:
                    on_case(question, case.name, outcome.error)
                bar.update(1)

            def task_of(question: str, case: Any) -> Task:
                seconds = time_limit_s or case_time_limit(case, per_evaluation)
                return case_task(implementation, inputs, question, case, seconds)

            guard = None if isolate or model is None else ModelGuard(model)

            def restore_model(outcome: Outcome) -> None:
                if guard is not None and guard.restore():
                    outcome.output += "\n[hw4: the model's weights or flags were changed; restored]"

            run_lanes(lanes, task_of, done, fork=isolate, parallel=parallel_questions(), grace_s=HARD_KILL_GRACE_S,
                      after_here=restore_model)
            for question, case in todo:  # recorded in the cases' order, however they finished
                _record(result.questions[question], case.name, outcomes[question, case.name])
    finally:
        bar.close()
    return result


def _record(entry: QuestionAnswers, name: str, outcome: Outcome) -> None:
    if outcome.error is None:
        entry.answers[name] = outcome.value
    else:
        entry.errors[name] = outcome.error
    if outcome.output:
        entry.output[name] = outcome.output[:MAX_CAPTURED_OUTPUT]


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return SimpleNamespace(set_description=lambda *_: None, update=lambda *_: None, close=lambda: None)
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="case", leave=True)
