"""The student bundle's notebooks open unmodified in JupyterLab, in headless Chromium, once setup has stamped them.

Runs ``scripts/check_notebooks_in_browser.py`` on a fresh ``hw4 release``: every notebook a student opens, stamped by
``hw4.kernel_metadata`` as the bundle's ``scripts/setup.sh`` does, must open with its kernel ready and not marked
modified; the homework stub as released, unstamped, is the control that must show modified (the kernel writes its
Python version into it). Needs Debian's ``chromium`` and ``chromium-driver`` and ``selenium``; skipped without them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import release

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_notebooks_in_browser.py"

pytestmark = [
    pytest.mark.slow,  # a JupyterLab, a browser and a kernel per notebook
    pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")
                            and importlib.util.find_spec("selenium")),
                       reason="needs Debian's chromium and chromium-driver, and selenium"),
]


def test_the_bundles_notebooks_open_unmodified_once_set_up(tmp_path):
    bundle = release.write_release(tmp_path / "bundle")
    control = tmp_path / "unstamped_homework4_stub.ipynb"
    shutil.copy(bundle / release.STUB, control)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-m", "hw4.kernel_metadata"], cwd=bundle, env=env, check=True)
    notebooks = [bundle / name for name in release.NOTEBOOKS]
    run = subprocess.run([sys.executable, str(SCRIPT), "--lab-python", sys.executable, "--out", str(tmp_path / "shots"),
                          *map(str, notebooks), str(control)], capture_output=True, text=True, timeout=900)
    lines = run.stdout.splitlines()
    verdicts = {line.split(":")[0]: line for line in lines if " after opening " in line}
    for notebook in notebooks:
        assert verdicts[notebook.name].startswith(f"{notebook.name}: unmodified after opening (kernel idle,"), lines
    assert verdicts[control.name].startswith(f"{control.name}: MODIFIED"), lines
    assert run.returncode == 1, run.stdout + run.stderr  # the control alone fails
