"""Reference clips for inpainting and style transfer: fixed members of the synthetic sound library.

Each clip is one variation (a seed the embedded model never trained on) of a ``hw4.sounds``
category. ``clip_audio`` gives the stereo waveform; ``clip_latent`` encodes it with the
model's autoencoder under a fixed seed (SAO's VAE draws noise when it encodes), so the
latent is the same on every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from . import sounds
from .sampling import LATENT_FRAMES, seeded

if TYPE_CHECKING:
    from .model import AudioModel

ENCODE_SEED = 1234
SAMPLE_RATE_FOR_CLIPS = sounds.SAMPLE_RATE
CLIP_SEED = 900  # outside the training seeds (scripts/train_embedded_model.py) and the benchmark's

# clip name -> the library category it is a member of
CLIPS = {
    "chord": "piano",
    "drums": "drums",
    "bass_arpeggio": "bass",
    "sweep": "sweep",
    "bells": "bells",
    "rain": "rain",
}


def clip_audio(name: str, sample_rate: int = SAMPLE_RATE_FOR_CLIPS, samples: int = LATENT_FRAMES * 2048) -> torch.Tensor:
    """The stereo waveform ``[1, 2, samples]`` of clip ``name``; right channel slightly delayed."""
    if name not in CLIPS:
        raise KeyError(f"Unknown clip {name!r}; choose one of {', '.join(CLIPS)}.")
    if sample_rate != sounds.SAMPLE_RATE:
        raise ValueError(f"The clips are made at {sounds.SAMPLE_RATE} Hz, not {sample_rate} Hz.")
    mono = torch.from_numpy(sounds.render(CLIPS[name], CLIP_SEED, samples + 32))
    return torch.stack([mono[32:], mono[:-32]])[None]


def clip_latent(model: AudioModel, name: str, frames: int = LATENT_FRAMES) -> torch.Tensor:
    """Clip ``name`` encoded by the model's autoencoder: ``[1, 64, frames]``, identical on every run."""
    audio = clip_audio(name, model.sample_rate, frames * model.pretransform.downsampling_ratio)
    with torch.no_grad(), seeded(ENCODE_SEED):
        return model.pretransform.encode(audio).contiguous()
