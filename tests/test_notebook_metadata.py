"""The committed notebooks carry the kernel metadata JupyterLab writes on connecting, so opening one changes nothing.

JupyterLab replaces a notebook's ``kernelspec`` with ``{name, display_name, language}`` of the kernel it starts and
its ``language_info`` with the kernel's; either one differing marks the notebook modified the moment it opens
(measured in Chromium by ``scripts/check_notebooks_in_browser.py``). The Python version in ``language_info`` is
the one field no file can match on every machine, so it is the only one allowed to differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelspec import KERNEL_NAME, get_kernel_dict

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
