"""The kinds of case, and how each becomes its function's arguments.

A case is plain data; the values of every question's cases live in its record
(``hw4.questions``). ``case.call(fn, inputs)`` builds the case's inputs with a
``CaseToolbox`` (the runner's is ``hw4.case_inputs.CaseInputs``), seeding the RNG itself
so that no question's randomness can shift another's, and calls ``fn`` with them. Masks for Q3/Q4 are
built here from frame ranges, so a Q2 mistake costs Q2 only. This module imports
no torch: the grader reads it without loading anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, ItemsView, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch

ClipName = Literal["chord", "drums", "bass_arpeggio", "sweep", "bells", "rain"]
"""The reference clips a case may name (``hw4.clips.CLIPS``; a test keeps the two equal)."""

DEFAULT_STEPS = 50
DEFAULT_CFG_SCALE = 7.0

StudentFunction = Callable[..., object]
"""A submission's function for a question: whatever signature and return value it has (the runner checks them)."""


class CaseToolbox(Protocol):
    """What a case builds its function's inputs with; ``hw4.case_inputs.CaseInputs`` is the one the runner uses."""

    model: Any  # the assignment's model: the audio model, or the DDPM assignment's denoiser

    @property
    def denoiser(self) -> Callable[..., torch.Tensor]:
        """The model wrapped as k-diffusion's denoiser."""
        ...

    def seeded(self, seed: int) -> AbstractContextManager[None]:
        """A block with torch's global RNG seeded ``seed``."""
        ...

    def latent(self, clip: str) -> torch.Tensor:
        """The latent of the reference clip ``clip`` (a copy)."""
        ...

    def sampling(self, case: SampleCase) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """The starting noise, sigmas and conditioning (``extra_args``) of a sampling case."""
        ...

    def normal(self, seed: int, shape: tuple[int, ...], count: int) -> list[torch.Tensor]:
        """``count`` standard normal tensors of ``shape`` drawn from ``seed``."""
        ...

    def tensor(self, values: float | tuple[float, ...]) -> torch.Tensor:
        """``values`` as a tensor."""
        ...

    def frame_mask(self, reference: torch.Tensor, start: int, end: int) -> torch.Tensor:
        """Ones over frames ``[start, end)`` of ``reference``'s shape, zeros elsewhere."""
        ...


@runtime_checkable
class Case(Protocol):
    """What every kind of case is: a name, unique within its question, and how to call a function on it."""

    @property
    def name(self) -> str: ...

    def call(self, fn: StudentFunction, inputs: CaseToolbox) -> object:
        """Build the case's inputs with the toolbox ``inputs`` and return what ``fn`` returns on them."""
        ...


@dataclass(frozen=True, kw_only=True)
class ToDCase:
    """``to_d`` on random ``x``/``denoised`` of ``shape`` with per-batch noise levels ``sigma``."""

    name: str
    seed: int
    shape: tuple[int, ...]
    sigma: tuple[float, ...]

    def call(self, fn: StudentFunction, inputs: CaseToolbox) -> object:
        x, denoised = inputs.normal(self.seed, self.shape, 2)
        return fn(x * 10, inputs.tensor(self.sigma), denoised)


@dataclass(frozen=True, kw_only=True)
class SampleCase:
    """Plain Euler sampling of ``prompt`` from the noise of ``seed``."""

    name: str
    prompt: str
    seed: int
    steps: int = DEFAULT_STEPS
    cfg_scale: float = DEFAULT_CFG_SCALE

    def call(self, fn: StudentFunction, inputs: CaseToolbox) -> object:
        x, sigmas, extra_args = inputs.sampling(self)
        with inputs.seeded(self.seed):
            return fn(inputs.denoiser, x, sigmas, extra_args=extra_args)


@dataclass(frozen=True, kw_only=True)
class MaskCase:
    """A mask over the latent of ``clip`` from ``start_s`` to ``end_s`` seconds."""

    name: str
    clip: ClipName
    start_s: float
    end_s: float

    def call(self, fn: StudentFunction, inputs: CaseToolbox) -> object:
        return fn(inputs.latent(self.clip), self.start_s, self.end_s)


@dataclass(frozen=True, kw_only=True)
class InpaintCase(SampleCase):
    """Inpainting frames ``[start_frame, end_frame)`` of ``clip`` with ``prompt``; Q4 adds a paint window."""

    clip: ClipName
    start_frame: int
    end_frame: int
    paint_start: int | None = None
    paint_end: int | None = None

    def call(self, fn: StudentFunction, inputs: CaseToolbox) -> object:
        x, sigmas, extra_args = inputs.sampling(self)
        reference = inputs.latent(self.clip)
        mask = inputs.frame_mask(reference, self.start_frame, self.end_frame)
        window = {} if self.paint_start is None and self.paint_end is None else {
            "paint_start": self.paint_start, "paint_end": self.paint_end}
        with inputs.seeded(self.seed):
            return fn(inputs.denoiser, x, sigmas, reference, mask, extra_args=extra_args, **window)


@dataclass(frozen=True, kw_only=True)
class StyleCase(SampleCase):
    """Style transfer from ``clip`` towards ``prompt`` at ``strength``."""

    clip: ClipName
    strength: float

    def call(self, fn: StudentFunction, inputs: CaseToolbox) -> object:
        _, sigmas, extra_args = inputs.sampling(self)
        with inputs.seeded(self.seed):
            return fn(inputs.denoiser, sigmas, inputs.latent(self.clip), extra_args=extra_args,
                      transfer_strength=self.strength)


# -- The lecture lab's kinds: plain tensors in, no model ----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CorruptCase:
    """Clean ``x0`` and ``noise`` of ``shape`` drawn from ``seed``, corrupted to ``sigma`` (one number, or one per item)."""

    name: str
    seed: int
    shape: tuple[int, ...]
    sigma: float | tuple[float, ...]

    def call(self, fn: StudentFunction, inputs: CaseToolbox) -> object:
        x0, noise = inputs.normal(self.seed, self.shape, 2)
        return fn(x0, noise, inputs.tensor(self.sigma) if isinstance(self.sigma, tuple) else self.sigma)


@dataclass(frozen=True, kw_only=True)
class CosineCase:
    """The cosine schedule at times ``t`` out of ``T``, with offset ``s``."""

    name: str
    t: tuple[float, ...]
    T: float
    s: float

    def call(self, fn: StudentFunction, inputs: CaseToolbox) -> object:
        return fn(inputs.tensor(self.t), self.T, self.s)


@dataclass(frozen=True, kw_only=True)
class ScheduleCase:
    """A schedule of ``steps`` levels from ``sigma_max`` down to ``sigma_min``."""

    name: str
    steps: int
    sigma_min: float
    sigma_max: float

    def call(self, fn: StudentFunction, inputs: CaseToolbox) -> object:
        return fn(self.steps, self.sigma_min, self.sigma_max)


@dataclass(frozen=True, kw_only=True)
class GuidanceCase:
    """Unconditional and conditional estimates of ``shape`` drawn from ``seed``, combined at ``cfg_scale``."""

    name: str
    seed: int
    shape: tuple[int, ...]
    cfg_scale: float

    def call(self, fn: StudentFunction, inputs: CaseToolbox) -> object:
        uncond, cond = inputs.normal(self.seed, self.shape, 2)
        return fn(uncond, cond, self.cfg_scale)


def denoiser_evaluations(case: Case) -> int:
    """How many denoiser evaluations the reference solution makes on ``case`` (at most): a sampling case's steps."""
    return int(case.steps) if isinstance(case, SampleCase) else 0


@dataclass(frozen=True)
class CaseSet:
    """All cases of one run, by question."""

    cases: dict[str, tuple[Case, ...]] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """A fingerprint of every case; answers made for other cases are refused by the grader."""
        return hashlib.sha256(repr(sorted(self.cases.items())).encode()).hexdigest()[:16]

    def __getitem__(self, question: str) -> tuple[Case, ...]:
        return self.cases[question]

    def __iter__(self) -> Iterator[str]:
        return iter(self.cases)

    def items(self) -> ItemsView[str, tuple[Case, ...]]:
        return self.cases.items()
