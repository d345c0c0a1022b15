"""Colab support: the notebooks' first cell calls ``setup()``, and their badges come from here.

On Colab, ``setup`` installs what the suite needs without touching Colab's own torch,
torchaudio, torchvision or numpy (every install runs with ``--no-deps``), and for the
real model reads the Colab secret HF_TOKEN. Anywhere else it does nothing. This
module imports nothing heavy, so it runs before anything is installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import PurePath

from .install_settings import SETTINGS

# Where the notebooks are opened from and the suite installed from, and what Colab installs: hw4/data/install.json,
# generated from pyproject.toml's [tool.hw4] (the bundle's copy names the student repository).
REPOSITORY = SETTINGS.repository
BRANCH = SETTINGS.branch

COLAB_BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"
TOKEN_NAME = "HF_TOKEN"
NOT_ON_COLAB = "Not running on Colab: nothing to install; using the local environment."

SECRET_HELP = (
    f"Could not read the Colab secret {TOKEN_NAME}: add a secret named {TOKEN_NAME} holding your "
    f"Hugging Face token with the key icon in Colab's left sidebar, switch on its notebook access, "
    f"and re-run this cell - or continue with the embedded model (model=\"embedded\"), which needs no token."
)


def in_colab() -> bool:
    """True when running on Google Colab (the ``google.colab`` module is importable)."""
    if "google.colab" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):
        return False


def colab_url(path: str | PurePath, repository: str | None = None, branch: str | None = None) -> str:
    """The address that opens the repository's notebook ``path`` (relative to the repository root) in Colab."""
    relative = PurePath(path).as_posix().lstrip("/")
    return f"https://colab.research.google.com/github/{repository or REPOSITORY}/blob/{branch or BRANCH}/{relative}"


def badge_markdown(path: str | PurePath, repository: str | None = None, branch: str | None = None) -> str:
    """Markdown for the "Open in Colab" badge of the repository's notebook ``path``."""
    return f"[![Open In Colab]({COLAB_BADGE_SVG})]({colab_url(path, repository, branch)})"


BADGE_PATTERN = re.compile(r"<!-- colab-badge -->|\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def with_badge(markdown: str, path: str | PurePath, repository: str | None = None, branch: str | None = None) -> str:
    """``markdown`` with its badge placeholder (or an existing badge) set to the badge of ``path``."""
    return BADGE_PATTERN.sub(lambda _: badge_markdown(path, repository, branch), markdown)


def suite_url(repository: str | None = None, branch: str | None = None) -> str:
    """The pip requirement that installs this suite from its git repository."""
    return f"git+https://github.com/{repository or REPOSITORY}@{branch or BRANCH}"


def nodeps_requirements() -> list[str]:
    """The pinned packages installed with --no-deps (stable-audio-tools, k-diffusion)."""
    return list(SETTINGS.no_deps)


def install_command() -> list[list[str]]:
    """The pip commands (argv lists) that install the suite on Colab; runs nothing.

    Both install with --no-deps so that Colab's preinstalled torch, torchaudio,
    torchvision and numpy stay as they are: first the pinned stable-audio-tools and
    k-diffusion, then the suite from git with the small packages it needs.
    """
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    return [
        [*pip, *nodeps_requirements()],
        [*pip, suite_url(), *SETTINGS.colab],
    ]


MODEL_LINE = re.compile(r"""^MODEL\s*=\s*["']([a-z]+)["']""", re.M)
MODEL_COMMENT = "# or \"sao\": the real Stable Audio Open (needs HF_TOKEN)"


def setup_cell_model(source: str) -> str | None:
    """The model a setup cell chooses (its ``MODEL = "..."`` line): ``"embedded"`` unless it says ``"sao"``; None for
    a cell that names no model (an assignment without the audio model, such as the DDPM one)."""
    found = MODEL_LINE.search(source)
    if found is None:
        return None
    return "sao" if found.group(1) == "sao" else "embedded"


def setup_cell_source(model: str | None = "embedded", repository: str | None = None, branch: str | None = None) -> str:
    """The source of a notebook's first code cell: chooses the model (``MODEL``, the one place a notebook names it),
    makes ``hw4`` importable on Colab (installing it from ``repository``/``branch``, by default this suite's), then
    calls ``setup``; with ``model`` None the cell names no model and ``setup`` prepares the embedded one."""
    choose = f"MODEL = \"{model}\"  {MODEL_COMMENT}\n" if model is not None else ""
    call = "hw4.colab.setup(model=MODEL);" if model is not None else "hw4.colab.setup();"
    return (
        "# Setup: on Colab this installs the homework's packages; elsewhere it does nothing.\n"
        + choose
        + "import importlib.util, subprocess, sys\n"
        "if \"google.colab\" in sys.modules and importlib.util.find_spec(\"hw4\") is None:\n"
        f"    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\", \"--no-deps\", \"{suite_url(repository, branch)}\"], check=True)\n"
        "import hw4.colab\n"
        + call
    )


def _read_token() -> str | None:
    """The Colab secret HF_TOKEN, or None when it is missing, empty or not shared with this notebook."""
    try:
        from google.colab import userdata

        token = userdata.get(TOKEN_NAME)
    except Exception:  # SecretNotFoundError, NotebookAccessError, TimeoutException, ...
        return None
    return token.strip() if isinstance(token, str) and token.strip() else None


def setup(model: str = "embedded", run: Callable[..., object] = subprocess.run) -> str:
    """Prepare the runtime for ``model`` (``"embedded"`` or ``"sao"``); print and return a one-line status.

    Outside Colab nothing happens. On Colab the commands of ``install_command`` run
    through ``run``; for ``"sao"`` the Colab secret HF_TOKEN goes into the environment
    (it is never printed). A missing secret prints how to add it, and raises nothing.
    """
    if model not in ("embedded", "sao"):
        raise ValueError(f"Unknown model {model!r}; choose 'embedded' or 'sao'.")
    if not in_colab():
        print(NOT_ON_COLAB)
        return NOT_ON_COLAB

    for command in install_command():
        try:
            run(command, check=True)
        except subprocess.CalledProcessError as err:
            raise RuntimeError(
                f"Installing the homework's packages failed (pip exited with {err.returncode}); "
                f"re-run this cell, and if it fails again use Runtime > Restart session first."
            ) from None

    status = "Colab setup done: installed the homework's packages"
    if model == "embedded":
        status += "; using the embedded model."
    elif os.environ.get(TOKEN_NAME):
        status += f"; {TOKEN_NAME} was already set for the real SAO model."
    else:
        token = _read_token()
        if token is None:
            status += f". {SECRET_HELP}"
        else:
            os.environ[TOKEN_NAME] = token
            status += f"; {TOKEN_NAME} set from your Colab secret for the real SAO model."
    print(status)
    return status
