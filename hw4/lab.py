"""Plumbing for the lecture lab (``notebooks/lab_stub.ipynb``), so that its cells show only the library calls.

The lab imports these helpers: where the model runs, how long a clip is in samples,
an audio player, and the two plots the homework's ``hw4.plots`` does not have (several
noise schedules on one axis, and curves against a shared x axis).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from matplotlib.figure import Figure

from .plots import NotebookFigure, TitledAudio

if TYPE_CHECKING:
    from .model import AudioModel


def device_for(model_name: str) -> str:
    """``"cuda"`` for the real SAO when a GPU is there; the CPU otherwise (the embedded model is fastest there)."""
    return "cuda" if model_name == "sao" and torch.cuda.is_available() else "cpu"


def sample_size(model: AudioModel, seconds: float) -> int:
    """The number of audio samples in ``seconds``, rounded down to whole latent frames, in whole patches of the
    transformer (the embedded model reads 2 frames at a time, SAO 1)."""
    patch = int(getattr(getattr(model.model, "model", None), "patch_size", 1) or 1)
    step = model.pretransform.downsampling_ratio * patch
    return max(1, int(seconds * model.sample_rate) // step) * step


def play(audio: torch.Tensor, sample_rate: int, title: str | None = None) -> TitledAudio:
    """A compact player (mono, ``plots.PLAYER_RATE``) for ``[1, channels, samples]`` or ``[channels, samples]`` audio,
    loudness normalised; audio beyond full scale is turned down by ``codec.limit_peaks``, not clipped."""
    from .codec import limit_peaks

    array = limit_peaks(audio.detach().to("cpu", torch.float32))
    return TitledAudio((array[0] if array.ndim == 3 else array).numpy(), rate=int(sample_rate), title=title)


def _figure(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Any]:
    fig = NotebookFigure(figsize=(8, 3.5), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def plot_schedules(schedules: dict[str, torch.Tensor], title: str = "Noise schedules") -> Figure:
    """Each schedule's sigmas against the step, on a log scale (the final 0 of each is left off)."""
    fig, ax = _figure(title, "step", "sigma (log scale)")
    for name, sigmas in schedules.items():
        values = sigmas.detach().to("cpu", torch.float64).numpy()
        steps = np.arange(len(values))
        positive = values > 0
        ax.plot(steps[positive], values[positive], marker="o", markersize=3, label=f"{name} ({len(values) - 1} steps)")
    ax.set_yscale("log")
    ax.legend()
    return fig


def plot_curves(x: torch.Tensor, curves: dict[str, torch.Tensor], title: str, xlabel: str, ylabel: str) -> Figure:
    """Several curves over the same ``x``, one legend entry each."""
    fig, ax = _figure(title, xlabel, ylabel)
    xs = x.detach().to("cpu", torch.float64).numpy()
    for name, ys in curves.items():
        ax.plot(xs, ys.detach().to("cpu", torch.float64).numpy().reshape(-1), label=name)
    ax.legend()
    return fig


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep what the library prints out of a cell's output: ``generate_diffusion_cond`` prints its seed, and its
    sampler draws a progress bar (on stderr)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield
