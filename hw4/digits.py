"""The DDPM assignment's data: scikit-learn's 8x8 digits, shipped as ``hw4/data/digits.npz``.

The student side needs no scikit-learn: ``scripts/train_digits_classifier.py`` (staff) writes the
file from ``sklearn.datasets.load_digits()`` and the tests check it still matches. It holds
``images`` (1,797 x 64 uint8, intensities 0..16, rows of the 8x8 image in reading order) and
``labels`` (1,797 uint8, 0..9). Models see pixels scaled to [-1, 1]: ``x = intensity / 8 - 1``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

DIGITS_FILE = Path(__file__).resolve().parent / "data" / "digits.npz"
MAX_INTENSITY = 16


def to_unit_range(intensities: np.ndarray) -> np.ndarray:
    """Intensities 0..16 to pixels in [-1, 1] (float32)."""
    return (np.asarray(intensities, dtype=np.float32) / (MAX_INTENSITY / 2) - 1).astype(np.float32)


@lru_cache(maxsize=1)
def _arrays() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DIGITS_FILE) as data:
        return data["images"], data["labels"]


def digits_numpy() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits: pixels ``[1797, 64]`` float32 in [-1, 1] and labels ``[1797]`` int64."""
    images, labels = _arrays()
    return to_unit_range(images), labels.astype(np.int64)


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as tensors: pixels ``[1797, 64]`` in [-1, 1] and labels ``[1797]`` (long)."""
    x, y = digits_numpy()
    return torch.from_numpy(x), torch.from_numpy(y)
