"""The notebook metadata a Jupyter kernel fills in on connecting; ``python -m hw4.kernel_metadata`` stamps this
machine's into the shipped notebooks so that JupyterLab opens them unmodified (the bundle's ``scripts/setup.sh``
runs it; ``solutions/build.py`` writes the shipped values).

When its kernel connects, JupyterLab sets a notebook's ``kernelspec`` to the kernel's and its ``language_info`` to
the kernel's info reply; any difference marks the notebook modified the moment it opens, before the student types
anything (measured in Chromium with ``scripts/check_notebooks_in_browser.py``). Without them it is marked too, and
without a kernelspec it first asks which kernel to start. ``KERNELSPEC``, ipykernel's default kernel, is the same on
every machine; ``language_info`` holds the kernel's Python version (``"3.11.7"``), which no shipped file matches on
every machine. So the notebooks ship with ``LANGUAGE_INFO`` (all of it but the version) and local setup stamps the
kernel's own, changing ``metadata.language_info`` only: cells, outputs and every other key stay as they are, and a
notebook that already has it is not rewritten.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .atomic import atomic_write

# ipykernel's default kernel as JupyterLab writes it (name, display_name, language).
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# ipykernel's language_info without the Python version; complete, so that `jupyter nbconvert --to script` writes a
# .py (with only "name" it writes a .txt).
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}


def kernel_language_info() -> dict:
    """The ``language_info`` this Python's ipykernel sends when a notebook connects (its Python version included)."""
    from ipykernel.ipkernel import IPythonKernel

    return dict(IPythonKernel.language_info)


def shipped_notebooks() -> list[Path]:
    """The notebooks a student opens: every assignment's stub and ``runner.ipynb``, those that exist."""
    from .assignments import ROOT, every
    from .safe_pickle import RUNNER

    return [p for p in (*(a.stub for a in every()), ROOT / RUNNER) if p.is_file()]


def stamp(path: str | Path, language_info: dict | None = None) -> bool:
    """Set notebook ``path``'s ``metadata.language_info`` to ``language_info`` (this Python kernel's by default);
    whether the file changed. Nothing else in it changes; a file that already has it is left untouched."""
    path = Path(path)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    info = dict(sorted((language_info or kernel_language_info()).items()))
    metadata = notebook.setdefault("metadata", {})
    if metadata.get("language_info") == info:
        return False
    metadata["language_info"] = info
    atomic_write(path, json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return True


def main(argv: list[str] | None = None) -> int:
    """Stamp the notebooks named in ``argv`` (by default the shipped ones); one line says what changed, one more
    names each notebook that could not be read (left as it is: setup goes on)."""
    paths = [Path(a) for a in argv] if argv else shipped_notebooks()
    info = kernel_language_info()
    changed = []
    for path in paths:
        try:
            if stamp(path, info):
                changed.append(path.name)
        except (OSError, ValueError) as error:  # a notebook that does not read as JSON is left as it is
            print(f"setup: note: {path} left as it is ({type(error).__name__}: {error})")
    if changed:
        print(f"setup: notebooks set to this kernel (Python {info['version']}), so JupyterLab opens them "
              f"unmodified: {', '.join(changed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
