"""The default assignment's file names, for messages that name them before any assignment is chosen.

Each assignment spells its own (``hw4.assignments.Assignment``: ``answers_file``, ``script``, ``notebook``);
these are the homework's.
"""

from .assignments import HOMEWORK4

ANSWERS = HOMEWORK4.answers_file
"""The answers file the runner writes and the grader reads."""
SCRIPT = HOMEWORK4.script
"""The student's code: the notebook converted to Python, re-run by the integrity check."""
NOTEBOOK = HOMEWORK4.notebook
"""The student's notebook."""
