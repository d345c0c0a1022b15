"""The notebooks carry the kernel metadata JupyterLab writes on connecting, so opening one changes nothing.

JupyterLab replaces a notebook's ``kernelspec`` with ``{name, display_name, language}`` of the kernel it starts and
its ``language_info`` with the kernel's; either one differing marks the notebook modified the moment it opens
(measured in Chromium by ``scripts/check_notebooks_in_browser.py``, which ``tests/test_notebooks_in_browser.py``
runs). The Python version in ``language_info`` is the one field no file can match on every machine: the committed
notebooks leave it out, and the student bundle's ``scripts/setup.sh`` stamps the student's kernel's into them
(``hw4.kernel_metadata``), metadata only.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelspec import KERNEL_NAME, get_kernel_dict

from hw4 import kernel_metadata
from hw4.kernel_metadata import LANGUAGE_INFO

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*.ipynb")
                   if not {".venv", "build", ".ipynb_checkpoints", "template"} & set(p.relative_to(ROOT).parts))


def test_the_committed_notebooks_are_found():
    assert {"notebooks/homework4_stub.ipynb", "notebooks/lab_stub.ipynb", "runner.ipynb"} <= set(COMMITTED)


@pytest.mark.parametrize("path", COMMITTED)
def test_kernelspec_is_what_jupyterlab_writes_for_ipykernels_default_kernel(path):
    spec = get_kernel_dict()
    expected = {"name": KERNEL_NAME, "display_name": spec["display_name"], "language": spec["language"]}
    assert json.loads((ROOT / path).read_text())["metadata"]["kernelspec"] == expected


@pytest.mark.parametrize("path", COMMITTED)
def test_language_info_is_the_kernels_but_for_the_python_version(path):
    kernels = {k: v for k, v in IPythonKernel.language_info.items() if k != "version"}
    assert json.loads((ROOT / path).read_text())["metadata"]["language_info"] == kernels


# ------------------------------------------------------------------- the stamp local setup gives the bundle

def _lines_changed(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


@pytest.mark.parametrize("version", ["3.10.12", "3.11.2", "3.12.3", "3.13.5"])
@pytest.mark.parametrize("path", COMMITTED)
def test_stamping_sets_the_kernels_language_info_and_nothing_else(path, version, tmp_path, monkeypatch):
    monkeypatch.setitem(IPythonKernel.language_info, "version", version)  # the kernel a student's Python runs
    shipped = (ROOT / path).read_text()
    notebook = tmp_path / Path(path).name
    notebook.write_text(shipped)
    assert kernel_metadata.stamp(notebook)
    stamped = json.loads(notebook.read_text())
    assert stamped["metadata"]["language_info"] == IPythonKernel.language_info
    assert {**stamped, "metadata": {}} == {**json.loads(shipped), "metadata": {}}  # cells and outputs as they were
    assert _lines_changed(shipped, notebook.read_text()) == ['-   "pygments_lexer": "ipython3"',
                                                             '+   "pygments_lexer": "ipython3",',
                                                             f'+   "version": "{version}"']


def test_a_notebook_already_stamped_is_not_rewritten(tmp_path):
    notebook = tmp_path / "homework4_stub.ipynb"
    notebook.write_text((ROOT / "notebooks" / "homework4_stub.ipynb").read_text())
    assert kernel_metadata.stamp(notebook)
    before = notebook.stat()
    assert not kernel_metadata.stamp(notebook)
    assert (notebook.stat().st_ino, notebook.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_notebook_that_is_not_json_is_named_and_left_alone(tmp_path, capsys):
    broken, fine = tmp_path / "broken.ipynb", tmp_path / "runner.ipynb"
    broken.write_text('{"cells": [')
    fine.write_text((ROOT / "runner.ipynb").read_text())
    assert kernel_metadata.main([str(broken), str(fine)]) == 0
    assert broken.read_text() == '{"cells": ['
    assert json.loads(fine.read_text())["metadata"]["language_info"] == IPythonKernel.language_info
    out = capsys.readouterr().out
    assert f"{broken} left as it is" in out and "runner.ipynb" in out.splitlines()[-1]


def test_the_shipped_notebooks_are_the_ones_a_student_opens():
    assert {str(p.relative_to(ROOT)) for p in kernel_metadata.shipped_notebooks()} == set(COMMITTED)


def _setup_up_to_date(folder: Path) -> subprocess.CompletedProcess:
    """``scripts/setup.sh`` in ``folder`` with an environment it finds up to date: this test's Python, behind a
    wrapper in a venv folder whose stamp is what setup wants (computed by setup's own line)."""
    venv = folder / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (venv / "bin" / "python").chmod(0o755)
    want_line = next(line for line in (folder / "scripts" / "setup.sh").read_text().splitlines()
                     if line.startswith("want="))
    want = subprocess.run(["bash", "-c", f'{want_line}; echo "$want"'], cwd=folder, capture_output=True, text=True,
                          check=True).stdout.strip()
    (venv / ".hw4-installed").write_text(want + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"HW4_VENV": str(venv)}
    return subprocess.run(["bash", "scripts/setup.sh"], cwd=folder, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("bundle", [True, False], ids=["student bundle", "course repository"])
def test_setup_stamps_the_bundles_notebooks_only(bundle, tmp_path):
    for name in ("pyproject.toml", "requirements-nodeps.txt", "scripts/setup.sh", *COMMITTED):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "hw4", tmp_path / "hw4", ignore=shutil.ignore_patterns("__pycache__"))  # the runtime
    if not bundle:
        (tmp_path / "autograder").mkdir()
    run = _setup_up_to_date(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "is up to date" in run.stdout
    for path in COMMITTED:
        info = json.loads((tmp_path / path).read_text())["metadata"]["language_info"]
        assert info == (IPythonKernel.language_info if bundle else LANGUAGE_INFO)
