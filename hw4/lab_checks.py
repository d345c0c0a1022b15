"""The lecture lab's self-checks: the inputs of each lab case, a hint per function, and where the expected answers live.

``hw4.answers`` calls ``call_lab_case`` for the lab's questions (``hw4.cases.LAB_CHECK``),
so lab answers go through the same sandboxed ``run_case`` as the homework's;
``hw4.selfcheck`` judges them with ``hw4.compare`` against ``EXPECTED_FILE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from . import cases as C

EXPECTED_FILE = Path(__file__).resolve().parent / "data" / "lab_selfcheck.pkl"
HINTS = {
    "lab_corrupt_ve": "Variance exploding: the clean latent keeps weight 1 and the noise is scaled by sigma. sigma holds "
                      "one value per batch item: reshape it to broadcast over the trailing dimensions "
                      "(k_diffusion.utils.append_dims).",
    "lab_corrupt_vp": "Variance preserving: the noise's weight is sigma, and the clean latent's weight is chosen so that "
                      "the squares of the two weights add up to 1. Broadcast sigma as in corrupt_ve.",
    "lab_corrupt_flow": "Flow matching: a straight line from the clean latent (sigma = 0) to pure noise (sigma = 1), so "
                        "the two weights add up to 1. Broadcast sigma as in corrupt_ve.",
    "lab_cosine": "The angle grows linearly with t, from s / (1 + s) of a quarter turn at t = 0 to a quarter turn at "
                  "t = T; the schedule's value is the sine of that angle, elementwise on the tensor t.",
    "lab_linear": "n noise levels evenly spaced from sigma_max down to sigma_min, then the final 0 that every "
                  "k-diffusion schedule ends with (k_diffusion.sampling.append_zero).",
    "lab_cfg": "Guidance starts from the unconditional prediction and moves along the difference towards the "
               "conditional one, past it when the scale is above 1: scale 1 gives the conditional prediction, "
               "scale 0 the unconditional one.",
}


def _pair(seed: int, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator), torch.randn(shape, generator=generator)


def call_lab_case(fn: Any, question: str, case: Any) -> Any:
    """Call the lab function ``fn`` for ``question`` on the inputs of ``case`` and return what it returned."""
    if question in ("lab_corrupt_ve", "lab_corrupt_vp", "lab_corrupt_flow"):
        x0, noise = _pair(case.seed, case.shape)
        sigma = torch.tensor(case.sigma) if isinstance(case.sigma, tuple) else case.sigma
        return fn(x0, noise, sigma)
    if question == "lab_cosine":
        return fn(torch.tensor(case.t), case.T, case.s)
    if question == "lab_linear":
        return fn(case.steps, case.sigma_min, case.sigma_max)
    if question == "lab_cfg":
        uncond, cond = _pair(case.seed, case.shape)
        return fn(uncond, cond, case.cfg_scale)
    raise KeyError(f"{question!r} is not a lab question ({', '.join(C.LAB_QUESTIONS)})")
