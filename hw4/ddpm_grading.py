"""How one DDPM case is judged: by relative error within its question's tolerance, or (Q5) by sample quality.

``case_verdict`` is the one rule the grader, ``check()`` and the integrity re-run apply to a DDPM case
(``hw4.judge`` lays the verdicts out as for the homework). ``reproduces`` is the integrity re-run's rule:
exact cases must compare equal again, a quality case's share may move by ``INTEGRITY_TOLERANCE``
(training is not bit-identical across CPUs).
"""

from __future__ import annotations

import numpy as np

from .compare import Verdict, compare
from .ddpm_cases import QualityCase
from .ddpm_quality import INTEGRITY_TOLERANCE, quality_verdict
from .ddpm_questions import DDPM, tolerance


def is_quality_case(question: str, case: str) -> bool:
    """Whether ``case`` of ``question`` is judged by the quality of its digits."""
    return any(c.name == case and isinstance(c, QualityCase) for c in DDPM[question].graded)


def case_verdict(question: str, case: str, answer: object, expected: np.ndarray) -> Verdict:
    """The verdict on one case's answer (``expected``: the reference's, unused by quality cases)."""
    if is_quality_case(question, case):
        return quality_verdict(answer)
    return compare(answer, expected, tolerance(question))


def reproduces(question: str, case: str, submitted: object, rerun: object) -> bool:
    """Whether the sandboxed re-run's answer agrees with the submitted one."""
    if not (isinstance(submitted, np.ndarray) and isinstance(rerun, np.ndarray)):
        return False
    if is_quality_case(question, case):
        first, again = quality_verdict(submitted), quality_verdict(rerun)
        return (first.error is not None and again.error is not None
                and abs(first.error - again.error) <= INTEGRITY_TOLERANCE + 1e-9)
    return compare(rerun, submitted, tolerance(question)).passed
