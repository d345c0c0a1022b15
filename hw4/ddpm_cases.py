"""The DDPM assignment's kinds of case (8x8 digits), and the shipped schedules its later questions run on.

A case is plain data (the values live in ``hw4.ddpm_questions``); ``case.call(fn, inputs)`` builds its
inputs and calls the student's function, as ``hw4.cases`` does for the homework. ``inputs.model`` is the
shipped small denoiser (``hw4.ddpm_model.load_denoiser``). The loss, sampling and training cases get
their schedules from ``hw4/data/ddpm_case_schedules.npz`` (the reference ``ddpm_schedules``, written by
``solutions.ddpm_data``), not from the student's own ``ddpm_schedules``: a schedule mistake costs Q1 or
Q2 only. Every schedule case grades steps ``1..T``, which the handout's convention defines (entry 0
belongs to the clean image; ``mab_over_sqrtmab[0]`` is a 0/0).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from .cases import CaseToolbox
    from .compare import Verdict

CASE_SCHEDULES_FILE = Path(__file__).resolve().parent / "data" / "ddpm_case_schedules.npz"
CASE_BETAS = (1e-4, 0.02)  # beta1, beta2 of every loss, sampling and training case
CASE_T = 1000
LOSS_BATCH = 48
PREDICTIONS = ("epsilon", "sample")
SCHEDULES = ("linear", "cosine")
SETTINGS = tuple((p, s) for p in PREDICTIONS for s in SCHEDULES)  # the four trained and judged in Q5
SCHEDULE_KEYS = (
    "beta_t", "sqrt_beta_t", "alpha_t", "alphabar_t", "sqrtab", "oneover_sqrta", "sqrtmab", "mab_over_sqrtmab",
)
"""The keys of ``ddpm_schedules``'s dict, in the handout's order."""


@lru_cache(maxsize=4)
def _case_schedules(schedule: str, version: int) -> dict[str, torch.Tensor]:
    import numpy as np
    import torch

    with np.load(CASE_SCHEDULES_FILE) as data:
        return {name.split(".", 1)[1]: torch.from_numpy(data[name]) for name in data.files
                if name.startswith(f"{schedule}.")}


def case_schedules(schedule: str) -> dict[str, torch.Tensor]:
    """The reference schedule terms (``T = CASE_T``, betas ``CASE_BETAS``) of ``schedule``, as fresh copies; read
    again when the file changes (``hw4 build-notebooks`` rewrites it, then runs the self-check cases)."""
    version = CASE_SCHEDULES_FILE.stat().st_mtime_ns
    return {key: value.clone() for key, value in _case_schedules(schedule, version).items()}


def digit_batch(start: int, size: int, null_every: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Digits ``start .. start + size`` of the shipped data and their labels; every ``null_every``-th label is
    ``NULL_CLASS`` ("no label"), as training drops them for guidance."""
    from .ddpm_model import NULL_CLASS
    from .digits import digits

    images, labels = digits()
    x0, y = images[start:start + size].clone(), labels[start:start + size].clone()
    if null_every:
        y[::null_every] = NULL_CLASS
    return x0, y


def generator(seed: int) -> torch.Generator:
    """A CPU generator seeded ``seed``: every DDPM function draws from the generator it is given."""
    import torch

    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True, kw_only=True)
class BetaCase:
    """``beta_schedule(beta1, beta2, T, schedule)``: all ``T + 1`` entries."""

    name: str
    beta1: float
    beta2: float
    T: int
    schedule: str

    def call(self, fn: Any, inputs: CaseToolbox) -> object:
        return fn(self.beta1, self.beta2, self.T, self.schedule)


@dataclass(frozen=True, kw_only=True)
class ScheduleTermCase(BetaCase):
    """One term (``key``, of ``SCHEDULE_KEYS``) of ``ddpm_schedules(beta1, beta2, T, schedule)``, steps ``1..T``."""

    key: str

    def call(self, fn: Any, inputs: CaseToolbox) -> object:
        return fn(self.beta1, self.beta2, self.T, self.schedule)[self.key][1:]


@dataclass(frozen=True, kw_only=True)
class LossCase:
    """``ddpm_loss`` on a batch of digits (some labels "no label") with a generator seeded ``seed``."""

    name: str
    seed: int
    prediction: str
    schedule: str
    start: int = 0
    size: int = LOSS_BATCH

    def call(self, fn: Any, inputs: CaseToolbox) -> object:
        x0, labels = digit_batch(self.start, self.size, null_every=5)
        return fn(inputs.model, x0, labels, case_schedules(self.schedule), self.prediction, generator(self.seed))


@dataclass(frozen=True, kw_only=True)
class DigitSampleCase:
    """``ddpm_sample`` of ``per_class`` digits of each class: the final ``x_0`` or (``kept``) the kept steps.

    Separate, so that a mistake in the last step is not diluted by the trajectory before it.
    """

    name: str
    seed: int
    prediction: str
    schedule: str
    guidance: float
    keep_every: int = 20
    kept: bool = False
    per_class: int = 1

    def call(self, fn: Any, inputs: CaseToolbox) -> object:
        from .ddpm_quality import sample_labels

        x, kept = fn(inputs.model, sample_labels(self.per_class), case_schedules(self.schedule),
                     prediction=self.prediction, guidance=self.guidance, generator=generator(self.seed),
                     keep_every=self.keep_every)
        return kept if self.kept else x


@dataclass(frozen=True, kw_only=True)
class TrainCase:
    """``train`` for a few steps of a small fresh denoiser on the first ``images`` digits: the losses it returns."""

    name: str
    seed: int
    prediction: str
    schedule: str
    steps: int = 20
    images: int = 256
    batch_size: int = 32
    width: int = 32

    def call(self, fn: Any, inputs: CaseToolbox) -> object:
        import torch

        from .ddpm_model import new_denoiser

        x0, labels = digit_batch(0, self.images)
        with torch.enable_grad():  # the runner answers cases under no_grad
            losses = fn(new_denoiser(self.seed, self.width), x0, labels, case_schedules(self.schedule),
                        self.prediction, self.steps, generator(self.seed), batch_size=self.batch_size)
        return torch.tensor([float(v) for v in losses], dtype=torch.float64)


@dataclass(frozen=True, kw_only=True)
class QualityCase:
    """One setting trained for ``hw4.ddpm_quality.BUDGET`` by the submission's own ``train`` (which calls its
    ``ddpm_loss``), schedules (``ddpm_schedules``) and sampler (``ddpm_sample``): the 100 digits it samples.

    ``fn`` is the submission's ``train``; its two companions are read from the module it was defined in.
    Judged alone (``verdict``: ``hw4.ddpm_quality.quality_verdict``), not by comparison with the reference's
    digits; a re-run agrees (``agrees``) when its share is within ``INTEGRITY_TOLERANCE`` of the first one.
    """

    name: str
    prediction: str
    schedule: str
    time_limit_s: float = 600.0  # four seconds' training on an idle core; minutes on a loaded 2-core grader

    @staticmethod
    def verdict(answer: object) -> Verdict:
        from .ddpm_quality import quality_verdict

        return quality_verdict(answer)

    @staticmethod
    def agrees(answer: object, other: object) -> bool:
        from .ddpm_quality import INTEGRITY_TOLERANCE, quality_verdict

        first, again = quality_verdict(answer), quality_verdict(other)
        return (first.error is not None and again.error is not None
                and abs(first.error - again.error) <= INTEGRITY_TOLERANCE + 1e-9)

    def call(self, fn: Any, inputs: CaseToolbox) -> object:
        from types import SimpleNamespace

        from .ddpm_quality import quality_run

        module = getattr(fn, "__globals__", {})
        functions = SimpleNamespace(train=fn, ddpm_schedules=module.get("ddpm_schedules"),
                                    ddpm_sample=module.get("ddpm_sample"))
        for name, value in vars(functions).items():
            if not callable(value):
                raise NameError(f"{name} is not defined in the submission")
        return quality_run(functions, self.prediction, self.schedule).samples
