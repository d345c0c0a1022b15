"""Plots for the DDPM notebook: schedules, the forward process, a denoising trajectory and a grid of digits.

Each helper returns a figure (``hw4.plots``' notebook figure: shown once as a cell's last expression,
never through pyplot). Digits are rows of 64 pixels in [-1, 1], shown as 8x8 images, white on black.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .plots import _figure, _to_numpy

SIDE = 8


def _show_digit(ax: Any, pixels: np.ndarray, title: str | None = None) -> None:
    ax.imshow(np.clip(pixels, -1, 1).reshape(SIDE, SIDE), cmap="gray", vmin=-1, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def plot_schedules(schedules_by_name: Mapping[str, Mapping[str, Any]], keys: Sequence[str]) -> Figure:
    """Each schedule term of ``keys`` against ``t = 1..T``, one panel per term, one line per schedule."""
    columns = 4
    rows = -(-len(keys) // columns)
    fig = _figure(3.2 * columns, 2.4 * rows)
    for i, key in enumerate(keys):
        ax = fig.add_subplot(rows, columns, i + 1)
        for name, schedules in schedules_by_name.items():
            values = _to_numpy(schedules[key])[1:]
            ax.plot(np.arange(1, len(values) + 1), values, label=name)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("t", fontsize=8)
        if i == 0:
            ax.legend(fontsize=7)
    return fig


def plot_digit_rows(rows: Sequence[Any], row_titles: Sequence[str], column_titles: Sequence[str] | None = None) -> Figure:
    """Rows of digits (each ``[n, 64]``), one row of the figure per entry; titles on the left and on top."""
    arrays = [_to_numpy(r).reshape(-1, SIDE * SIDE) for r in rows]
    n = max(len(a) for a in arrays)
    fig = _figure(0.9 * n + 1, 0.95 * len(arrays) + 0.3)
    for r, (array, title) in enumerate(zip(arrays, row_titles)):
        for c, pixels in enumerate(array):
            ax = fig.add_subplot(len(arrays), n, r * n + c + 1)
            _show_digit(ax, pixels, column_titles[c] if column_titles and r == 0 else None)
            if c == 0:
                ax.set_ylabel(title, fontsize=8)
    return fig


def plot_forward(x0: Any, schedules: Mapping[str, Any], steps: Sequence[int], noise: Any) -> Figure:
    """The forward process: each digit of ``x0`` noised to each of ``steps`` with the given ``noise``."""
    x0, noise = _to_numpy(x0), _to_numpy(noise)
    sqrtab, sqrtmab = _to_numpy(schedules["sqrtab"]), _to_numpy(schedules["sqrtmab"])
    columns = [sqrtab[t] * x0 + sqrtmab[t] * noise for t in steps]
    rows = [np.stack([c[i] for c in columns]) for i in range(len(x0))]
    return plot_digit_rows(rows, [f"digit {i}" for i in range(len(x0))], [f"t = {t}" for t in steps])


def plot_trajectory(kept: Any, keep_every: int, digits: int = 10, frames: int = 11) -> Figure:
    """A denoising trajectory (``ddpm_sample``'s kept steps ``[K, n, 64]``): ``frames`` of them for the first
    ``digits`` samples, from noise (left) to the final digit (right)."""
    kept = _to_numpy(kept)
    chosen = np.unique(np.linspace(0, len(kept) - 1, min(frames, len(kept))).round().astype(int))
    T = (len(kept) - 1) * keep_every
    titles = [f"t = {T - k * keep_every}" for k in chosen]
    rows = [kept[chosen, i] for i in range(min(digits, kept.shape[1]))]
    return plot_digit_rows(rows, [f"sample {i}" for i in range(len(rows))], titles)


def plot_grid(samples: Any, columns: int = 10, title: str | None = None) -> Figure:
    """Digits ``[n, 64]`` in a grid of ``columns`` (``ddpm_quality.sample_labels`` order: one class per column)."""
    samples = _to_numpy(samples).reshape(-1, SIDE * SIDE)
    rows = -(-len(samples) // columns)
    fig = _figure(0.6 * columns, 0.6 * rows + (0.4 if title else 0))
    for i, pixels in enumerate(samples):
        _show_digit(fig.add_subplot(rows, columns, i + 1), pixels)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
