"""The data the DDPM assignment's cases run on, made from the reference solution (staff; ``hw4 build-notebooks``).

``hw4/data/ddpm_case_schedules.npz`` holds ``solutions.ddpm.ddpm_schedules`` for the cases' betas and
``T`` (``hw4.ddpm_cases``), one array per schedule and term, named ``"SCHEDULE.KEY"``: the loss,
sampling and training cases read their schedules from it, so a student's schedule mistake costs the
schedule questions only. ``case_data`` is the DDPM record's ``case_data``: ``solutions.build`` writes
what it returns, before the self-check data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hw4.ddpm_cases import CASE_BETAS, CASE_SCHEDULES_FILE, CASE_T, SCHEDULES

from . import ddpm


def case_schedule_arrays() -> dict[str, np.ndarray]:
    """The reference schedule terms of every schedule, by ``"SCHEDULE.KEY"``."""
    return {f"{schedule}.{key}": value.numpy()
            for schedule in SCHEDULES
            for key, value in ddpm.ddpm_schedules(*CASE_BETAS, CASE_T, schedule).items()}


def case_data() -> dict[Path, dict[str, np.ndarray]]:
    """The files the DDPM cases read, by path: ``hw4/data/ddpm_case_schedules.npz``."""
    return {CASE_SCHEDULES_FILE: case_schedule_arrays()}
