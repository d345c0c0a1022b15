"""Reference clips for inpainting and style transfer, synthesised from a formula (no files, no licences).

``clip_audio`` gives the stereo waveform; ``clip_latent`` encodes it with the model's
autoencoder. The autoencoder's VAE draws noise when it encodes, so encoding runs
under a fixed seed and gives the same latent on every run.
"""

from __future__ import annotations

import math

import torch

from .sampling import LATENT_FRAMES, seeded

ENCODE_SEED = 1234
SAMPLE_RATE_FOR_CLIPS = 44100


def _envelope(t: torch.Tensor, period: float, decay: float) -> torch.Tensor:
    """A decaying envelope retriggered every ``period`` seconds."""
    return torch.exp(-decay * torch.remainder(t, period))


def _chord(t: torch.Tensor) -> torch.Tensor:
    notes = (220.0, 277.18, 329.63, 440.0)  # A major
    return sum(torch.sin(2 * math.pi * f * t) for f in notes) / len(notes)


def _drums(t: torch.Tensor) -> torch.Tensor:
    kick = torch.sin(2 * math.pi * 55 * t * (1 + 2 * _envelope(t, 0.5, 30))) * _envelope(t, 0.5, 8)
    hats = torch.sin(2 * math.pi * 7919 * t) * torch.sin(2 * math.pi * 5003 * t) * _envelope(t + 0.25, 0.25, 60)
    return 0.8 * kick + 0.2 * hats


def _bass_arpeggio(t: torch.Tensor) -> torch.Tensor:
    steps = torch.floor(t / 0.125).long() % 4
    freqs = torch.tensor([55.0, 65.41, 82.41, 98.0])[steps]
    phase = torch.cumsum(2 * math.pi * freqs / SAMPLE_RATE_FOR_CLIPS, dim=0)
    return torch.sign(torch.sin(phase)) * 0.4 * _envelope(t, 0.125, 12)


def _sweep(t: torch.Tensor) -> torch.Tensor:
    freq = 200 + 1800 * t / t[-1]
    phase = torch.cumsum(2 * math.pi * freq / SAMPLE_RATE_FOR_CLIPS, dim=0)
    return 0.6 * torch.sin(phase)


def _bells(t: torch.Tensor) -> torch.Tensor:
    return 0.5 * (torch.sin(2 * math.pi * 880 * t) + 0.5 * torch.sin(2 * math.pi * 2310 * t)) * _envelope(t, 0.75, 4)


def _rain(t: torch.Tensor) -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    noise = torch.randn(t.shape, generator=generator)
    smooth = torch.nn.functional.avg_pool1d(noise[None, None], 9, stride=1, padding=4)[0, 0]
    return 0.3 * smooth * (0.6 + 0.4 * torch.sin(2 * math.pi * 0.5 * t))


CLIPS = {
    "chord": _chord,
    "drums": _drums,
    "bass_arpeggio": _bass_arpeggio,
    "sweep": _sweep,
    "bells": _bells,
    "rain": _rain,
}


def clip_audio(name: str, sample_rate: int = SAMPLE_RATE_FOR_CLIPS, samples: int = LATENT_FRAMES * 2048) -> torch.Tensor:
    """The stereo waveform ``[1, 2, samples]`` of clip ``name``; right channel slightly delayed."""
    if name not in CLIPS:
        raise KeyError(f"Unknown clip {name!r}; choose one of {', '.join(CLIPS)}.")
    t = torch.arange(samples + 32, dtype=torch.float64) / sample_rate
    mono = CLIPS[name](t).to(torch.float32)
    return torch.stack([mono[32:], mono[:-32]])[None]


def clip_latent(model: torch.nn.Module, name: str, frames: int = LATENT_FRAMES) -> torch.Tensor:
    """Clip ``name`` encoded by the model's autoencoder: ``[1, 64, frames]``, identical on every run."""
    audio = clip_audio(name, model.sample_rate, frames * model.pretransform.downsampling_ratio)
    with torch.no_grad(), seeded(ENCODE_SEED):
        return model.pretransform.encode(audio).contiguous()
