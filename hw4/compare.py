"""How one answer is judged against its expected value; shared by the self-checks and the grader.

An answer passes when it has the expected shape, is finite, and its relative error
``||answer - expected|| / ||expected||`` is at most ``TOLERANCE``. Measured on the
embedded model (see README, "How answers are compared"): correct rewrites and thread
counts differ by < 1e-6, every catalogued mistake by > 1e-2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE = 1e-4


@dataclass(frozen=True)
class Verdict:
    """The outcome for one case: passed or not, the relative error when it could be measured, and why."""

    passed: bool
    error: float | None
    reason: str


def relative_error(answer: np.ndarray, expected: np.ndarray) -> float:
    """``||answer - expected|| / ||expected||`` in float64 (absolute error when expected is all zero)."""
    answer64, expected64 = answer.astype(np.float64), expected.astype(np.float64)
    scale = float(np.linalg.norm(expected64))
    diff = float(np.linalg.norm(answer64 - expected64))
    return diff / scale if scale > 0 else diff


def compare(answer: object, expected: np.ndarray, tolerance: float = TOLERANCE) -> Verdict:
    """Judge ``answer`` against ``expected`` and say in words what is wrong, if anything."""
    if answer is None:
        return Verdict(False, None, "no answer")
    if not isinstance(answer, np.ndarray):
        return Verdict(False, None, f"expected an array, got {type(answer).__name__}")
    if answer.dtype.kind == "c":
        return Verdict(False, None, f"complex values ({answer.dtype}); the answer must be real")
    if answer.dtype.kind not in "fiub":
        return Verdict(False, None, f"unsupported dtype {answer.dtype}")
    if expected.dtype.kind == "f" and answer.dtype.kind != "f":
        return Verdict(False, None, f"dtype {answer.dtype}, expected {expected.dtype} (keep the input's dtype, "
                                    f"e.g. torch.zeros_like(reference))")
    if answer.dtype == np.float16 and expected.dtype != np.float16:
        return Verdict(False, None, f"dtype float16 loses too much precision; return {expected.dtype}")
    if answer.shape != expected.shape:
        return Verdict(False, None, f"shape {tuple(answer.shape)}, expected {tuple(expected.shape)}")
    if answer.dtype.kind == "f" and not np.isfinite(answer).all():
        bad = int((~np.isfinite(answer)).sum())
        return Verdict(False, None, f"{bad} NaN/Inf values")
    error = relative_error(answer, expected)
    if error <= tolerance:
        note = "" if answer.dtype == expected.dtype else f" (dtype {answer.dtype}, expected {expected.dtype})"
        return Verdict(True, error, "matches" + note)
    return Verdict(False, error, f"relative error {error:.2e} (tolerance {tolerance:.0e})")
