"""The install files generated from ``pyproject.toml``, the one list of the suite's requirements.

``pyproject.toml`` names the requirements (``[project] dependencies``), the pins installed with ``--no-deps``
(the ``full`` extra) and, under ``[tool.hw4]``, the repository, the local torch pins, the conda Python and what
Colab may lack. From it ``hw4 build-notebooks`` writes ``environment.yml`` (conda users),
``requirements-nodeps.txt`` (pip users, setup and Gradescope) and ``hw4/data/install.json`` (the student
package, which Colab installs without ``pyproject.toml``; ``scripts/setup.sh`` reads its torch pins).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hw4.atomic import atomic_write
from hw4.errors import UserError
from hw4.install_settings import GENERATED_BY, SETTINGS_NAME, InstallSettings
from hw4.requirements_check import requirement_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: pytest's tomli is the same parser
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
NODEPS_EXTRA = "full"
ENVIRONMENT_FILE = "environment.yml"
NODEPS_FILE = "requirements-nodeps.txt"
SETTINGS_PATH = f"hw4/{SETTINGS_NAME}"  # from the repository root


def read_pyproject(root: Path = REPO) -> dict:
    """``root``'s ``pyproject.toml``, parsed."""
    return tomllib.loads((Path(root) / "pyproject.toml").read_text())


def _by_name(requirements: list[str]) -> dict[str, str]:
    return {requirement_name(r): r for r in requirements}


def install_settings(pyproject: dict) -> InstallSettings:
    """The settings ``hw4/data/install.json`` holds: ``[tool.hw4]``, with the --no-deps pins and, for each package
    Colab may lack, its requirement from the dependencies when they list it."""
    tool, project = pyproject["tool"]["hw4"], pyproject["project"]
    dependencies = _by_name(project["dependencies"])
    unknown = [pin for pin in tool["torch"] if requirement_name(pin) not in dependencies]
    if unknown:
        raise UserError(f"pyproject.toml pins {', '.join(unknown)} under [tool.hw4] torch, which its dependencies "
                        f"do not list.")
    return InstallSettings(repository=tool["repository"], branch=tool["branch"], torch=tuple(tool["torch"]),
                           no_deps=tuple(project["optional-dependencies"][NODEPS_EXTRA]),
                           colab=tuple(dependencies.get(requirement_name(n), n) for n in tool["colab"]))


def environment_yml(pyproject: dict) -> str:
    """``environment.yml``: the conda Python and, through pip, the dependencies with the local torch pins."""
    pins = _by_name(pyproject["tool"]["hw4"]["torch"])
    requirements = [pins.get(requirement_name(r), r) for r in pyproject["project"]["dependencies"]]
    return "".join([
        f"# Conda environment for local users. {GENERATED_BY}\n",
        f"#   conda env create -f {ENVIRONMENT_FILE} && conda activate hw4\n",
        f"#   pip install --no-deps -r {NODEPS_FILE}   # stable-audio-tools, k-diffusion without training/UI deps\n",
        "#   pip install --no-deps -e .\n",
        "name: hw4\n",
        "channels:\n",
        "  - conda-forge\n",
        "dependencies:\n",
        f"  - python={pyproject['tool']['hw4']['python']}\n",
        "  - pip\n",
        "  - pip:\n",
        *(f'      - "{r}"\n' for r in requirements),
    ])


def requirements_nodeps(pyproject: dict) -> str:
    """``requirements-nodeps.txt``: the pins of the ``full`` extra, to install with ``pip install --no-deps``."""
    return "".join([
        f"# {GENERATED_BY}\n",
        "# Installed with `pip install --no-deps`: their own requirements pin heavy training/UI\n",
        "# dependencies (gradio, wandb, laion-clap, pandas==2.0.2, ...) that inference never\n",
        "# imports, or cap numpy below 2; pyproject.toml's `full` extra says which and why.\n",
        "# What they do import at runtime is listed in pyproject.toml's dependencies instead.\n",
        *(f"{pin}\n" for pin in pyproject["project"]["optional-dependencies"][NODEPS_EXTRA]),
    ])


def generated_files(root: Path = REPO) -> dict[str, str]:
    """``{path relative to root: text}`` for every install file generated from ``root``'s ``pyproject.toml``."""
    pyproject = read_pyproject(root)
    return {ENVIRONMENT_FILE: environment_yml(pyproject), NODEPS_FILE: requirements_nodeps(pyproject),
            SETTINGS_PATH: install_settings(pyproject).to_json()}


def build(root: Path = REPO, check: bool = False) -> list[str]:
    """Write the install files that differ from ``root``'s ``pyproject.toml``; with ``check``, write nothing.
    Returns the paths of those that differed (were stale)."""
    root = Path(root)
    stale = []
    for name, text in generated_files(root).items():
        path = root / name
        if not path.is_file() or path.read_text() != text:
            stale.append(name)
            if not check:
                atomic_write(path, text)
    return stale
