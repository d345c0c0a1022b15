"""What setup installs and where from, as ``hw4/data/install.json`` holds it.

That file is generated from ``pyproject.toml`` (``hw4 build-notebooks``, by ``autograder/install_files.py``),
because the student package is installed without it on Colab; the student bundle's copy names the student
repository instead (``hw4 release``). ``hw4.colab``, ``hw4.requirements_check`` and ``scripts/setup.sh`` read it.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

SETTINGS_NAME = "data/install.json"  # inside the package
SETTINGS_FILE = Path(__file__).resolve().parent / SETTINGS_NAME
GENERATED_BY = "Generated from pyproject.toml by `hw4 build-notebooks`; edit pyproject.toml instead."


@dataclass(frozen=True)
class InstallSettings:
    """The install settings: the repository (``OWNER/REPO``) and branch notebooks are opened and installed from,
    the local torch pins, the pins installed with ``--no-deps`` and the requirements Colab may lack."""

    repository: str
    branch: str
    torch: tuple[str, ...]
    no_deps: tuple[str, ...]
    colab: tuple[str, ...]

    def to_json(self) -> str:
        """The text of ``install.json`` for these settings."""
        fields = {name: list(value) if isinstance(value, tuple) else value for name, value in asdict(self).items()}
        return json.dumps({"generated_by": GENERATED_BY, **fields}, indent=2) + "\n"

    def retargeted(self, repository: str | None = None, branch: str | None = None) -> InstallSettings:
        """These settings with the repository and/or branch replaced (when given)."""
        return replace(self, repository=repository or self.repository, branch=branch or self.branch)


def read_settings(path: Path = SETTINGS_FILE) -> InstallSettings:
    """The settings in ``path`` (``hw4/data/install.json`` by default)."""
    data = json.loads(Path(path).read_text())
    return InstallSettings(repository=data["repository"], branch=data["branch"], torch=tuple(data["torch"]),
                           no_deps=tuple(data["no_deps"]), colab=tuple(data["colab"]))


SETTINGS = read_settings()
