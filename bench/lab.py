"""Benchmark of the lecture lab: runs its solution notebook headless and prints every code cell's wall time.

    .venv/bin/python bench/lab.py [--threads 1]

The notebook is built from ``notebooks/template/lab.ipynb`` and ``solutions/lab.py`` (as ``hw4 build-notebooks``
does), executed once in a fresh kernel on the embedded model, offline, with ``OMP_NUM_THREADS`` set. The target:
every cell after the one that imports and loads the model finishes within ``TARGET_S`` seconds, so each player
appears a few seconds after the student runs its cell.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 5.0
LOADING_CELL = "load_model(MODEL)"


def _seconds(cell) -> float:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not start or not end:
        return float("nan")
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1", help="OMP_NUM_THREADS for the kernel (default 1)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.update(OMP_NUM_THREADS=args.threads, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MPLBACKEND="Agg",
                      PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    from nbclient import NotebookClient

    from hw4.assignments import LECTURE_LAB
    from solutions.build import assignment_source

    nb = assignment_source(LECTURE_LAB)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=True,
                       resources={"metadata": {"path": tmp}}).execute()
        total = time.perf_counter() - started
    rows, after_loading, worst = [], False, 0.0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        seconds = _seconds(cell)
        first_line = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
        rows.append(f"| {index} | {seconds:.2f} | `{first_line}` |")
        if after_loading:
            worst = max(worst, seconds)
        after_loading = after_loading or LOADING_CELL in cell.source
    print(f"Lecture lab, solution version, embedded model, OMP_NUM_THREADS={args.threads}: "
          f"{total:.1f} s in all (kernel start and imports included)\n")
    print("| cell | seconds | first line |\n|---|---|---|")
    print("\n".join(rows))
    verdict = "meets" if worst <= TARGET_S else "MISSES"
    print(f"\nslowest cell after loading the model: {worst:.2f} s ({verdict} the target of {TARGET_S:g} s)")
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
