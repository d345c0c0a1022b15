"""``CaseInputs``, the toolbox a case builds its inputs with (``case.call(fn, inputs)``): the model and its
denoiser, seeding, clip latents encoded once per run, sampling set-ups, noise, tensors and frame masks."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from .assignments import find
from .cases import CaseToolbox, SampleCase
from .clips import clip_latent
from .sampling import make_denoiser, seeded, setup_sampling

if TYPE_CHECKING:
    from .model import AudioModel


class CaseInputs(CaseToolbox):
    """The toolbox a case builds its inputs with (``case.call(fn, inputs)``); clip latents are encoded once per run
    and handed out as copies."""

    def __init__(self, model: AudioModel | None):
        self.model = model
        self._latents: dict[str, torch.Tensor] = {}

    @functools.cached_property
    def denoiser(self) -> Callable[..., torch.Tensor]:
        """The model wrapped as k-diffusion's denoiser (made when a case first samples)."""
        return make_denoiser(self.audio_model)

    @property
    def audio_model(self) -> AudioModel:
        """The model, for the cases that need one (an assignment without a model has none of them)."""
        if self.model is None:
            raise ValueError("this assignment has no model, so its cases cannot sample or encode clips")
        return self.model

    seeded = staticmethod(seeded)

    def latent(self, clip: str) -> torch.Tensor:
        if clip not in self._latents:
            self._latents[clip] = clip_latent(self.audio_model, clip)
        return self._latents[clip].clone()

    def sampling(self, case: SampleCase) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """The starting noise, sigmas and conditioning of a sampling case."""
        _, x, sigmas, extra_args = setup_sampling(self.audio_model, case.prompt, case.seed, case.steps, case.cfg_scale)
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
        _, x, sigmas, extra_args = setup_sampling(self.audio_model, prompt, 0, 2)
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

