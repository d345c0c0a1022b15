"""Judge generated digits: a shipped classifier and the "copies a training image" check.

The classifier is a one-hidden-layer ReLU network fitted by ``scripts/train_digits_classifier.py``
(scikit-learn, fixed seed) and shipped as plain arrays in ``hw4/data/digits_classifier.npz``
(``w1``, ``b1``, ``w2``, ``b2``, and ``heldout``: the indices of the digits it never saw), so it
runs with numpy alone. A sample copies a training image when its distance to the nearest of the
1,797 digits is below the 1st percentile of the distances from each digit to its nearest other
digit. Pixels are clipped to [-1, 1] before either judgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .digits import digits_numpy

CLASSIFIER_FILE = Path(__file__).resolve().parent / "data" / "digits_classifier.npz"
COPY_PERCENTILE = 1.0


@lru_cache(maxsize=1)
def classifier() -> dict[str, np.ndarray]:
    """The shipped classifier's arrays."""
    with np.load(CLASSIFIER_FILE) as data:
        return {name: data[name] for name in data.files}


def classify(x: np.ndarray) -> np.ndarray:
    """The class (0..9) the shipped classifier gives each row of ``x`` ([n, 64], pixels in [-1, 1])."""
    c = classifier()
    hidden = np.maximum(np.clip(x, -1, 1) @ c["w1"] + c["b1"], 0)
    return np.argmax(hidden @ c["w2"] + c["b2"], axis=1)


def _nearest_distances(x: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Euclidean distance from each row of ``x`` to each row of ``images``, ``[len(x), len(images)]``."""
    squared = (x * x).sum(1)[:, None] - 2 * x @ images.T + (images * images).sum(1)[None, :]
    return np.sqrt(np.maximum(squared, 0))


@lru_cache(maxsize=1)
def copy_threshold() -> float:
    """The 1st percentile of each digit's distance to its nearest other digit."""
    images = digits_numpy()[0].astype(np.float64)
    distances = _nearest_distances(images, images)
    np.fill_diagonal(distances, np.inf)
    return float(np.percentile(distances.min(1), COPY_PERCENTILE))


def copies_training_image(x: np.ndarray) -> np.ndarray:
    """Whether each row of ``x`` is closer to a training digit than digits are to each other."""
    images = digits_numpy()[0].astype(np.float64)
    nearest = _nearest_distances(np.clip(np.asarray(x, np.float64), -1, 1), images).min(1)
    return nearest < copy_threshold()


@dataclass(frozen=True)
class Quality:
    """How a batch of generated digits fares: counts, and the share that earns quality points."""

    samples: int
    classified_as_label: int
    copies: int
    share: float  # samples classified as their label that copy no training image, over all samples


def judge_samples(x: np.ndarray, labels: np.ndarray) -> Quality:
    """Judge generated digits ``x`` ([n, 64]) that were asked for classes ``labels`` ([n])."""
    x = np.asarray(x, dtype=np.float32)
    correct = classify(x) == np.asarray(labels)
    copies = copies_training_image(x)
    return Quality(len(x), int(correct.sum()), int(copies.sum()), float((correct & ~copies).mean()))
