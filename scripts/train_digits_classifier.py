"""Write the DDPM assignment's data and judge (course staff only; needs scikit-learn).

``hw4/data/digits.npz`` is scikit-learn's 8x8 digits as shipped in its wheel (no download);
``hw4/data/digits_classifier.npz`` is an MLP classifier (64 -> 128 ReLU -> 10) fitted on a
stratified 75 % of them (``train_test_split(..., test_size=0.25, random_state=0)``), its
arrays and the indices of the held-out 25 %. It prints the held-out accuracy.

    python scripts/train_digits_classifier.py [--out hw4/data]    # about 5 s
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hw4.digits import to_unit_range  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "hw4" / "data"
SEED = 0
HIDDEN = 128


def digits_arrays() -> dict[str, np.ndarray]:
    """scikit-learn's digits as the uint8 arrays ``hw4/data/digits.npz`` holds."""
    data = load_digits()
    return {"images": data.data.astype(np.uint8), "labels": data.target.astype(np.uint8)}


def fit_classifier(images: np.ndarray, labels: np.ndarray) -> tuple[dict[str, np.ndarray], float]:
    """The classifier's arrays (float32) and its accuracy on the held-out split."""
    x, y = to_unit_range(images), labels.astype(np.int64)
    train, heldout = train_test_split(np.arange(len(y)), test_size=0.25, random_state=SEED, stratify=y)
    mlp = MLPClassifier(hidden_layer_sizes=(HIDDEN,), alpha=1e-3, max_iter=1000, random_state=SEED)
    mlp.fit(x[train], y[train])
    arrays = {
        "w1": mlp.coefs_[0], "b1": mlp.intercepts_[0], "w2": mlp.coefs_[1], "b2": mlp.intercepts_[1],
    }
    arrays = {name: a.astype(np.float32) for name, a in arrays.items()}
    arrays["heldout"] = np.sort(heldout).astype(np.int64)
    return arrays, float(mlp.score(x[heldout], y[heldout]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    data = digits_arrays()
    np.savez_compressed(out / "digits.npz", **data)
    arrays, accuracy = fit_classifier(data["images"], data["labels"])
    np.savez_compressed(out / "digits_classifier.npz", **arrays)
    print(f"held-out accuracy {accuracy:.4f} on {len(arrays['heldout'])} digits; wrote {out}")


if __name__ == "__main__":
    main()
