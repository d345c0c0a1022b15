"""Train the small denoiser the DDPM assignment's exact questions are graded on (course staff; seconds).

Writes ``hw4/data/ddpm_denoiser.safetensors``: a ``DigitsDenoiser`` of width 64 (fixed seed)
trained by the reference ``solutions.ddpm.train`` for 300 steps, epsilon prediction, linear
betas 1e-4..0.02, T = 1000, on one CPU thread. Its samples need not be good digits: grading
compares a submission's outputs with the reference's on this model, so only determinism matters.

    python scripts/train_ddpm_denoiser.py [--out hw4/data/ddpm_denoiser.safetensors]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hw4.ddpm_model import DENOISER_FILE, DENOISER_WIDTH, DigitsDenoiser, new_denoiser  # noqa: E402
from hw4.digits import digits  # noqa: E402
from solutions import ddpm  # noqa: E402

SEED = 20261203
STEPS = 300


def train_denoiser(steps: int = STEPS) -> DigitsDenoiser:
    """The shipped denoiser, trained afresh (bit-identical on one machine)."""
    torch.set_num_threads(1)
    images, labels = digits()
    model = new_denoiser(SEED, DENOISER_WIDTH)
    schedules = ddpm.ddpm_schedules(1e-4, 0.02, 1000, "linear")
    ddpm.train(model, images, labels, schedules, "epsilon", steps, torch.Generator().manual_seed(SEED))
    return model.eval()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DENOISER_FILE)
    out = parser.parse_args(argv).out
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in train_denoiser().state_dict().items()}, str(out))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
