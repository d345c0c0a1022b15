"""``hw4 demo``: the whole path once, as a student and a TA would walk it, with the solutions as the student.

solution notebook -> ``jupyter nbconvert --to script`` -> ``write_answers`` (the runner)
-> the assignment's answers file (``homework4.pkl``, ``ddpm.pkl``) -> grade -> print the report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

from hw4.assignments import DEFAULT, get
from hw4.runner import write_answers
from solutions.build import assignment_source

from .feedback import format_table
from .pipeline import grade_file


def convert_to_script(notebook: Path) -> Path:
    """``jupyter nbconvert --to script`` on ``notebook``; returns the ``.py`` it wrote."""
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "script", "--log-level=WARN", str(notebook)],
                   check=True)
    return notebook.with_suffix(".py")


def run(workdir: Path, model_name: str = "embedded", assignment: str = DEFAULT) -> int:
    """Play student then TA on ``assignment`` in ``workdir``; print the report; exit status 0 when it was produced."""
    chosen = get(assignment)
    workdir.mkdir(parents=True, exist_ok=True)
    notebook = workdir / chosen.notebook
    nbformat.write(assignment_source(chosen), notebook)
    print(f"1/3 student: solved notebook written to {notebook}; converting it with nbconvert")
    script = convert_to_script(notebook)
    print(f"2/3 student: running the runner on {script}")
    pickle_path = workdir / chosen.answers_file
    write_answers(script, pickle_path, model=model_name, assignment=chosen.key)
    print(f"3/3 TA: grading {pickle_path}")
    print(format_table(grade_file(pickle_path, model_name, assignment=chosen.key)))
    return 0
