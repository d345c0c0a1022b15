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
    "lab_corrupt_ve": "x0 + sigma * noise, with sigma reshaped to broadcast over x0's trailing dimensions "
                      "(append_dims(sigma, x0.ndim)).",
    "lab_corrupt_vp": "sqrt(1 - sigma**2) * x0 + sigma * noise: the squares of the two weights add up to 1; "
                      "broadcast sigma with append_dims.",
    "lab_corrupt_flow": "(1 - sigma) * x0 + sigma * noise: the two weights add up to 1; broadcast sigma with "
                        "append_dims.",
    "lab_cosine": "torch.sin((t / T + s) / (1 + s) * math.pi / 2), elementwise on the tensor t.",
    "lab_linear": "torch.linspace from sigma_max down to sigma_min (n values), then a final 0 "
                  "(k_diffusion.sampling.append_zero).",
    "lab_cfg": "uncond + (cond - uncond) * cfg_scale: scale 1 gives cond, scale 0 gives uncond.",
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
