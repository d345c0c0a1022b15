"""Plots and playback for the notebooks, so that their cells hold no plotting plumbing.

Every ``plot_*`` helper returns a ``matplotlib.figure.Figure`` and never calls
``plt.show``. The figures are made without pyplot, so a notebook shows one exactly
once when it is the last expression of a cell (or through ``display(fig)``), under
any matplotlib backend, and no figure piles up in pyplot's registry when
self-checks plot in a loop.
"""

from __future__ import annotations

import html
import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from IPython.display import Audio
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from .model import AudioModel

# Players embed mono audio at this rate (16-bit WAV, which every browser plays): about 175 kB per 6 s clip in a
# saved notebook instead of 1.4 MB for 44.1 kHz stereo, so an executed homework (11 players) stays under 3 MB. It keeps
# everything below 5.5 kHz (the codec's tones sit below 4 kHz); both channels of the embedded model are equal anyway.
PLAYER_RATE = 11025

# Above this many parameters, decoding on a CPU takes long enough (tens of seconds
# for the real SAO's 1.2B) that ``listen`` asks for ``force=True``.
SLOW_DECODE_PARAMS = 50_000_000

ArrayLike = Any  # a torch.Tensor, a numpy array or a (nested) list of numbers


class NotebookFigure(Figure):
    """A Figure that notebooks show as a PNG even when no inline backend is set up."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def _figure(width: float, height: float) -> NotebookFigure:
    return NotebookFigure(figsize=(width, height), layout="constrained")


def _to_numpy(x: ArrayLike) -> np.ndarray:
    """Any tensor or array as a float64 numpy array (detached, on the CPU)."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def _latent_2d(latent: ArrayLike) -> np.ndarray:
    """A ``[1, C, T]`` or ``[C, T]`` latent as a ``[C, T]`` numpy array."""
    array = _to_numpy(latent)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f"Expected a latent shaped [1, channels, frames] or [channels, frames], got {list(array.shape)}.")
    return array


def _heatmap(ax: Any, data: np.ndarray, title: str, vmin: float, vmax: float, cmap: str,
             band_hz: np.ndarray | None = None) -> Any:
    image = ax.imshow(data, aspect="auto", origin="lower", interpolation="nearest", cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_title(title)
    ax.set_xlabel("latent frame")
    if band_hz is not None and len(band_hz) == data.shape[0]:
        ticks = np.arange(0, data.shape[0], max(1, data.shape[0] // 8))
        ax.set_yticks(ticks, [_hz_label(band_hz[t]) for t in ticks])
        ax.set_ylabel("frequency band (centre)")
    else:
        ax.set_ylabel("channel")
    return image


def _hz_label(hz: float) -> str:
    return f"{hz / 1000:.1f} kHz" if hz >= 1000 else f"{hz:.0f} Hz"


def band_frequencies(model: AudioModel) -> np.ndarray | None:
    """Centre frequency of each latent channel when the model's autoencoder is the band codec, else None."""
    from .codec import BandCodec, band_centres_hz

    codec = getattr(model, "pretransform", None)
    if not isinstance(codec, BandCodec):
        return None
    return band_centres_hz(codec.encoded_channels, codec.sample_rate).numpy()


def plot_sigmas(sigmas: ArrayLike) -> Figure:
    """The noise schedule: sigma against step on a log scale; the final sigma of 0 is marked, not plotted."""
    values = _to_numpy(sigmas).reshape(-1)
    steps = np.arange(len(values))
    positive = values > 0
    fig = _figure(8, 3.5)
    ax = fig.add_subplot()
    ax.plot(steps[positive], values[positive], marker="o", markersize=3)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("sigma (log scale)")
    ax.grid(True, which="both", alpha=0.3)
    title = "Noise schedule"
    if positive.any():
        title += f": sigma from {values[positive].max():.3g} to {values[positive].min():.3g}"
    zeros = steps[~positive]
    if len(zeros):
        title += f"; sigma = 0 at step {', '.join(str(int(step)) for step in zeros)}"
        for step in zeros:
            ax.axvline(step, color="grey", linestyle="--", linewidth=1)
            ax.annotate("sigma = 0\n(off the log scale)", xy=(step, 0.95), xycoords=("data", "axes fraction"),
                        xytext=(-4, 0), textcoords="offset points", ha="right", va="top", color="grey")
    ax.set_title(title, fontsize="medium")
    return fig


def plot_mask(mask: ArrayLike, sample_rate: int, downsampling_ratio: int, title: str | None = None) -> Figure:
    """A mask over latent frames as a step plot, frames along the bottom and seconds along the top.

    ``mask`` may be ``[frames]``, ``[1, frames]``, ``[channels, frames]`` or ``[1, channels, frames]``;
    several channels are averaged (identical channels plot as they are).
    """
    array = _to_numpy(mask)
    if array.ndim == 0:
        raise ValueError("Expected a mask with a frame axis, got a scalar.")
    values = array.reshape(-1, array.shape[-1]).mean(axis=0)
    frames = len(values)
    seconds_per_frame = downsampling_ratio / sample_rate
    fig = _figure(8, 2.8)
    ax = fig.add_subplot()
    ax.stairs(values, np.arange(frames + 1), fill=True, alpha=0.4, baseline=0.0)
    ax.set_xlim(0, frames)
    low, high = min(0.0, float(np.min(values))), max(1.0, float(np.max(values)))
    ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
    ax.set_xlabel("latent frame")
    ax.set_ylabel("mask (1 = regenerate)")
    top = ax.secondary_xaxis("top", functions=(lambda f: np.multiply(f, seconds_per_frame),
                                                 lambda s: np.divide(s, seconds_per_frame)))
    top.set_xlabel("seconds")
    ax.set_title(title if title is not None else f"Mask over {frames} latent frames ({frames * seconds_per_frame:.2f} s)")
    ax.grid(True, alpha=0.3)
    return fig


def plot_latents(*latents: ArrayLike, titles: list[str] | tuple[str, ...] | None = None,
                 model: AudioModel | None = None, mask: ArrayLike | None = None) -> Figure:
    """Heatmaps (channels x frames) of ``[1, 64, T]`` or ``[64, T]`` latents side by side, on one colour scale.

    With the embedded ``model`` the latents are spectrograms: the channel axis is labelled with each
    band's frequency and the colour is the band's log energy (levelled per frame, see ``hw4.codec``).
    A ``mask`` (1 = regenerated frames) is outlined on every panel.
    """
    if not latents:
        raise ValueError("Give at least one latent to plot.")
    arrays = [_latent_2d(latent) for latent in latents]
    if titles is None:
        titles = [f"latent {i + 1}" for i in range(len(arrays))] if len(arrays) > 1 else ["latent"]
    if len(titles) != len(arrays):
        raise ValueError(f"Got {len(titles)} titles for {len(arrays)} latents.")
    band_hz = band_frequencies(model) if model is not None else None
    if band_hz is None:
        limit = max(float(np.abs(a).max()) for a in arrays) or 1.0
        vmin, vmax, cmap, label = -limit, limit, "RdBu_r", "value"
    else:
        vmin, vmax = min(float(a.min()) for a in arrays), max(float(a.max()) for a in arrays)
        cmap, label = "magma", "band energy (log, normalised)"
    frames = None if mask is None else _to_numpy(mask).reshape(-1, _to_numpy(mask).shape[-1]).mean(axis=0)
    fig = _figure(4.2 * len(arrays) + 1, 3.5)
    axes = fig.subplots(1, len(arrays), squeeze=False)[0]
    for ax, array, title in zip(axes, arrays, titles):  # at least one: ``image`` is set
        image = _heatmap(ax, array, title, vmin, vmax, cmap, band_hz)
        if frames is not None:
            for start, end in _runs(frames > 0.5):
                ax.axvspan(start - 0.5, end - 0.5, fill=False, edgecolor="cyan", linewidth=1.5, linestyle="--")
    fig.colorbar(image, ax=list(axes), label=label)
    return fig


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of True in ``flags``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(int), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _audio_2d(audio: ArrayLike) -> np.ndarray:
    """``[1, C, N]``, ``[C, N]`` or ``[N]`` audio as a ``[C, N]`` numpy array."""
    array = _to_numpy(audio)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    elif array.ndim == 1:
        array = array[None]
    if array.ndim != 2:
        raise ValueError(f"Expected audio shaped [1, channels, samples], [channels, samples] or [samples], got {list(array.shape)}.")
    if array.shape[1] < 2:
        raise ValueError("Expected at least two audio samples.")
    return array


def plot_audio(audio: ArrayLike, sample_rate: int, title: str | None = None) -> Figure:
    """Waveform (each channel) above the spectrogram (channels averaged, in dB) of ``audio``."""
    array = _audio_2d(audio)
    samples = array.shape[1]
    seconds = samples / sample_rate
    fig = _figure(8, 5.5)
    wave_ax, spec_ax = fig.subplots(2, 1, sharex=True)

    times = np.arange(samples) / sample_rate
    names = ["left", "right"] if array.shape[0] == 2 else [f"channel {i}" for i in range(array.shape[0])]
    for channel, name in zip(array, names):
        wave_ax.plot(times, channel, linewidth=0.5, alpha=0.8, label=name)
    peak = float(np.abs(array).max())
    wave_ax.set_ylim(-1.05 * max(1.0, peak), 1.05 * max(1.0, peak))
    wave_ax.set_ylabel("amplitude")
    if array.shape[0] > 1:
        wave_ax.legend(loc="upper right", fontsize="small")
    wave_ax.set_title(title if title is not None else f"{seconds:.2f} s at {sample_rate} Hz (peak {peak:.2f})")

    n_fft = min(2048, 2 ** int(math.log2(samples)))
    hop = max(1, n_fft // 4)
    mono = torch.from_numpy(array.mean(axis=0))
    spectrum = torch.stft(mono, n_fft, hop_length=hop, window=torch.hann_window(n_fft, dtype=mono.dtype), return_complex=True)
    decibels = 20 * torch.log10(spectrum.abs() + 1e-8).numpy()
    top = float(decibels.max())
    spec_ax.imshow(decibels, aspect="auto", origin="lower", cmap="magma", vmin=top - 80, vmax=top,
                   extent=(0, seconds, 0, sample_rate / 2000))
    spec_ax.set_xlabel("time (s)")
    spec_ax.set_ylabel("frequency (kHz)")
    spec_ax.set_xlim(0, seconds)
    return fig


def _parameter_count(model: AudioModel) -> int:
    return sum(p.numel() for p in model.parameters())


def _decode_device_and_dtype(model: AudioModel) -> tuple[torch.device, torch.dtype]:
    """Where the autoencoder lives (the CPU in float32 unless the student moved it)."""
    for parameter in model.pretransform.parameters():
        return parameter.device, parameter.dtype
    return torch.device("cpu"), torch.float32


def decode(model: AudioModel, latents: ArrayLike) -> torch.Tensor:
    """Decode ``[1, 64, T]`` (or ``[64, T]``) latents to audio ``[1, 2, T * 2048]``: float32 on the CPU, within full scale.

    Decoding runs without gradients on the device of the model's autoencoder (the CPU,
    as ``load_model`` leaves it). Audio beyond full scale (SAO's decoder can overshoot; the
    embedded codec limits itself) is turned down by a smooth limiter, never hard-clipped.
    """
    x = latents if isinstance(latents, torch.Tensor) else torch.as_tensor(np.asarray(latents))
    x = x.detach()
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"Expected latents shaped [batch, channels, frames] or [channels, frames], got {list(x.shape)}.")
    device, dtype = _decode_device_and_dtype(model)
    with torch.no_grad():
        audio = model.pretransform.decode(x.to(device, dtype))
    from .codec import limit_peaks  # stable_audio_tools loads only when something is decoded

    return limit_peaks(audio.to("cpu", torch.float32))


def compact(audio: np.ndarray, rate: int, player_rate: int = PLAYER_RATE) -> np.ndarray:
    """``[channels, samples]`` (or ``[samples]``) audio at ``rate`` as mono at ``player_rate`` (band-limited resampling)."""
    mono = np.asarray(audio, dtype=np.float64)
    mono = mono.mean(0) if mono.ndim == 2 else mono.reshape(-1)
    if rate == player_rate:
        return mono
    from scipy.signal import resample_poly

    common = math.gcd(int(rate), int(player_rate))
    return resample_poly(mono, player_rate // common, int(rate) // common)


class TitledAudio(Audio):
    """A compact ``IPython.display.Audio`` player (mono, ``PLAYER_RATE``) with an optional title shown above it.

    ``audio`` is ``[channels, samples]`` or ``[samples]`` at ``rate``; ``self.rate`` is the player's rate."""

    def __init__(self, audio: np.ndarray, rate: int, title: str | None = None) -> None:
        data = compact(audio, rate)
        super().__init__(data=data, rate=PLAYER_RATE, normalize=bool(np.abs(data).max() > 0))
        self.rate = PLAYER_RATE
        self.title = title

    def _repr_html_(self) -> str:
        player = super()._repr_html_()
        if self.title is None:
            return player
        return f"<div><b>{html.escape(self.title)}</b></div>{player}"


def listen(model: AudioModel, latents: ArrayLike, title: str | None = None, force: bool = False) -> Audio | None:
    """A player for the decoded ``latents`` (mono at ``PLAYER_RATE``, loudness normalised).

    With a large model (the real SAO) on the CPU decoding is slow: then this prints a
    note and returns None, unless ``force=True``.
    """
    device, _ = _decode_device_and_dtype(model)
    if device.type == "cpu" and _parameter_count(model) > SLOW_DECODE_PARAMS:
        if not force:
            print("Skipping playback: decoding with this large model on the CPU is slow; "
                  "call listen(..., force=True) to decode anyway.")
            return None
        print("Decoding on the CPU with a large model: this can take a minute.")
    return TitledAudio(decode(model, latents)[0].numpy(), rate=int(model.sample_rate), title=title)


def compare_latents(answer: ArrayLike, expected: ArrayLike) -> Figure:
    """Your latent, the expected one (one colour scale) and their absolute difference, to see where they differ."""
    mine, theirs = _latent_2d(answer), _latent_2d(expected)
    limit = max(float(np.abs(mine).max()), float(np.abs(theirs).max())) or 1.0
    fig = _figure(13, 3.5)
    axes = fig.subplots(1, 3)
    image = _heatmap(axes[0], mine, "your answer", -limit, limit, "RdBu_r")
    _heatmap(axes[1], theirs, "expected", -limit, limit, "RdBu_r")
    fig.colorbar(image, ax=list(axes[:2]), label="value")
    if mine.shape == theirs.shape:
        difference = np.abs(mine - theirs)
        worst = float(difference.max())
        diff_image = _heatmap(axes[2], difference, f"|difference| (max {worst:.3g})", 0.0, worst or 1.0, "viridis")
        fig.colorbar(diff_image, ax=axes[2], label="absolute difference")
    else:
        axes[2].set_axis_off()
        axes[2].text(0.5, 0.5, f"Shapes differ:\nyours {list(mine.shape)}\nexpected {list(theirs.shape)}",
                     ha="center", va="center", transform=axes[2].transAxes, fontsize="large")
    return fig
