"""The DDPM assignment's shipped denoiser: a small class-conditional MLP on 8x8 digits.

Students train it in their notebook; the grader trains it with their loss and sampler, and
``hw4/data/ddpm_denoiser.safetensors`` holds a small one (``scripts/train_ddpm_denoiser.py``)
on which the exact questions are graded. Its interface: ``model(x_t, t, labels)`` with
``x_t`` of shape ``[batch, 64]``, ``t`` the integer steps ``[batch]`` (1..T) and ``labels``
the classes ``[batch]`` (0..9, or ``NULL_CLASS`` for "no label", used by guidance); it
returns ``[batch, 64]``, the predicted noise or clean image, whichever it was trained for.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

PIXELS = 64  # 8 x 8
N_CLASSES = 10
NULL_CLASS = N_CLASSES  # the extra class embedding that stands for "no label"
WIDTH = 256  # the architecture students train
DENOISER_FILE = Path(__file__).resolve().parent / "data" / "ddpm_denoiser.safetensors"
DENOISER_WIDTH = 64  # the small shipped denoiser the exact questions are graded on


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer steps ``t`` ([batch]) into ``[batch, dim]``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    angles = t.to(torch.float32)[:, None] * freqs[None, :]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


class DigitsDenoiser(nn.Module):
    """An MLP: pixels in, sinusoidal time and learned class embeddings added to the first hidden layer."""

    hw4_model_id: str = "unknown"  # set by load_assignment_model

    def __init__(self, width: int = WIDTH, depth: int = 3):
        super().__init__()
        self.width = width
        self.input = nn.Linear(PIXELS, width)
        self.label = nn.Embedding(N_CLASSES + 1, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.output = nn.Linear(width, PIXELS)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.input(x) + timestep_embedding(t, self.width) + self.label(labels)
        for layer in self.hidden:
            h = layer(nn.functional.silu(h))
        return self.output(nn.functional.silu(h))


def new_denoiser(seed: int, width: int = WIDTH) -> DigitsDenoiser:
    """A freshly initialised denoiser, the same for the same seed on one machine."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DigitsDenoiser(width)


def load_denoiser(path: Path = DENOISER_FILE) -> DigitsDenoiser:
    """The shipped small denoiser, in eval mode."""
    from safetensors.torch import load_file

    model = DigitsDenoiser(DENOISER_WIDTH)
    model.load_state_dict(load_file(str(path)))
    return model.eval()


def load_assignment_model(model_name: str = "embedded") -> tuple[DigitsDenoiser, dict]:
    """The DDPM assignment's model loader (``Assignment.model_loader``): the shipped small denoiser, whose id
    (recorded in every answers file made with it) names its weights' hash; there is one model, whatever the name."""
    import hashlib

    model = load_denoiser()
    model.hw4_model_id = f"ddpm-digits-{hashlib.sha256(DENOISER_FILE.read_bytes()).hexdigest()[:12]}"
    return model, {"width": DENOISER_WIDTH}


def provided_globals(model: DigitsDenoiser, model_config: dict, model_name: str) -> dict:
    """The names the DDPM notebook's setup gives a submission: none (every function takes its model as an argument)."""
    return {}
