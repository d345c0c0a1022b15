"""Where the lecture lab's expected self-check answers live.

The lab's questions, cases and hints are records in ``hw4.questions.LAB``; their answers go
through the same sandboxed ``hw4.answers.generate`` as the homework's, and ``hw4.selfcheck``
judges them with ``hw4.compare`` against ``EXPECTED_FILE``.
"""

from __future__ import annotations

from pathlib import Path

EXPECTED_FILE = Path(__file__).resolve().parent / "data" / "lab_selfcheck.pkl"
