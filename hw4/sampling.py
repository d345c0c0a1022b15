"""Everything a sampler needs besides the sampler: denoiser, noise, sigma schedule, conditioning.

``setup_sampling`` returns what the handout's helper returned -
``denoiser, x_T, sigmas, extra_args`` - for either model. All of it lives on the CPU
in float32 so that answers do not depend on the student's hardware.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
from k_diffusion.external import VDenoiser
from k_diffusion.sampling import get_sigmas_polyexponential

from .cases import DEFAULT_CFG_SCALE, DEFAULT_STEPS

if TYPE_CHECKING:
    from .model import AudioModel

SIGMA_MIN = 0.3
SIGMA_MAX = 500.0
RHO = 1.0
LATENT_CHANNELS = 64
LATENT_FRAMES = 128  # about 5.9 s of audio at 44.1 kHz / 2048


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's global RNG seeded, then restore the caller's RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def get_sigmas(steps: int = DEFAULT_STEPS) -> torch.Tensor:
    """SAO's sampling schedule: ``steps`` polyexponential noise levels from 500 to 0.3, then 0."""
    return get_sigmas_polyexponential(steps, SIGMA_MIN, SIGMA_MAX, RHO)


def seconds_of(model: AudioModel, frames: int = LATENT_FRAMES) -> float:
    """Duration in seconds of ``frames`` latent frames."""
    return frames * model.pretransform.downsampling_ratio / model.sample_rate


def conditioning_args(
    model: AudioModel,
    prompt: str,
    seconds_total: float,
    seconds_start: float = 0.0,
    cfg_scale: float = DEFAULT_CFG_SCALE,
) -> dict:
    """The keyword arguments the denoiser needs for ``prompt``: conditioning tensors plus guidance settings."""
    metadata = [{"prompt": prompt, "seconds_start": seconds_start, "seconds_total": seconds_total}]
    with torch.no_grad():
        tensors = model.conditioner(metadata, "cpu")
        inputs = model.get_conditioning_inputs(tensors)
    return {**inputs, "cfg_scale": float(cfg_scale), "batch_cfg": True, "rescale_cfg": True}


def initial_noise(seed: int, frames: int = LATENT_FRAMES, sigma: float = SIGMA_MAX) -> torch.Tensor:
    """Gaussian latent noise ``[1, 64, frames]`` scaled to ``sigma``, the same for a given seed everywhere."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, LATENT_CHANNELS, frames, generator=generator) * sigma


def make_denoiser(model: AudioModel) -> VDenoiser:
    """Wrap the DiT so that it maps (x, sigma) to a clean estimate (x-prediction), as k-diffusion expects."""
    return VDenoiser(model.model)


def setup_sampling(
    model: AudioModel,
    prompt: str,
    seed: int = 0,
    steps: int = DEFAULT_STEPS,
    cfg_scale: float = DEFAULT_CFG_SCALE,
    frames: int = LATENT_FRAMES,
) -> tuple[VDenoiser, torch.Tensor, torch.Tensor, dict]:
    """Return ``denoiser, x_T, sigmas, extra_args`` for sampling ``prompt`` with ``model``."""
    sigmas = get_sigmas(steps)
    x_T = initial_noise(seed, frames, float(sigmas[0]))
    extra_args = conditioning_args(model, prompt, seconds_total=seconds_of(model, frames), cfg_scale=cfg_scale)
    return make_denoiser(model), x_T, sigmas, extra_args
