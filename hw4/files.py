"""The names of the files a student makes and sends, spelled once."""

ANSWERS = "homework4.pkl"
"""The answers file the runner writes and the grader reads."""
SCRIPT = "homework4_stub.py"
"""The student's code: the notebook converted to Python, re-run by the integrity check."""
NOTEBOOK = "homework4_stub.ipynb"
"""The student's notebook."""
