"""After setup: which requirements are left out on purpose, and whether any other one is unmet.

stable-audio-tools and k-diffusion are installed with ``--no-deps`` (``hw4/data/install.json``'s ``no_deps``, the
pins of pyproject.toml's ``full`` extra, which ``requirements-nodeps.txt`` lists too): their own
requirements pin training and UI packages (gradio, wandb, laion-clap, ...) that sampling never imports. pip's
install-time conflict report would list those as errors after every successful setup, so setup runs pip with
``--no-warn-conflicts`` and this check instead: one line naming what was left out, and a clear failure for any
other unmet or mismatched requirement. ``python -m hw4.requirements_check`` prints the line (exit status 0) or
the conflicts (exit status 1).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib.metadata import Distribution, distributions

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .colab import nodeps_requirements


@dataclass(frozen=True)
class Unmet:
    """One requirement of an installed package that the environment does not satisfy."""

    package: str
    requirement: str
    installed: str | None  # the installed version, or None when the package is missing

    def __str__(self) -> str:
        found = "it is not installed" if self.installed is None else f"{self.installed} is installed"
        return f"{self.package} needs {self.requirement} ({found})"


def requirement_name(spec: str) -> str:
    """The normalised name of the package a requirement such as ``"tomli_w>=1.2"`` names (``"tomli-w"``)."""
    return canonicalize_name(Requirement(spec).name)


def unmet_requirements(installed: list[Distribution] | None = None) -> list[Unmet]:
    """Every requirement (markers evaluated, no extras) of the installed packages that is missing or mismatched."""
    found: dict[str, Distribution] = {}
    for dist in installed if installed is not None else distributions():
        found.setdefault(canonicalize_name(dist.metadata["Name"] or ""), dist)
    unmet = []
    for name, dist in sorted(found.items()):
        for line in dist.requires or []:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            have = found.get(canonicalize_name(requirement.name))
            version = have.version if have is not None else None
            if version is None or not requirement.specifier.contains(version, prereleases=True):
                unmet.append(Unmet(name, str(requirement), version))
    return unmet


def split(unmet: list[Unmet]) -> tuple[list[str], list[Unmet], list[Unmet]]:
    """``(left out, not followed, conflicts)``: the --no-deps packages' missing requirements, their mismatched
    ones (stale caps such as dctorch's ``numpy<2``, deliberately not followed), and every other unmet one."""
    nodeps = {requirement_name(pin) for pin in nodeps_requirements()}
    left_out = sorted({requirement_name(u.requirement) for u in unmet if u.package in nodeps and u.installed is None})
    not_followed = [u for u in unmet if u.package in nodeps and u.installed is not None]
    conflicts = [u for u in unmet if u.package not in nodeps]
    return left_out, not_followed, conflicts


def report(unmet: list[Unmet]) -> tuple[str, bool]:
    """The line setup prints, and whether the environment is sound (nothing unmet but what was left out)."""
    left_out, not_followed, conflicts = split(unmet)
    if conflicts:
        return ("setup: stopped: these requirements are not met, so the suite may not run: "
                + "; ".join(map(str, conflicts)) + ". Remove the virtual environment and run setup again."), False
    names = " and ".join(sorted({u.package for u in unmet})) or "stable-audio-tools and k-diffusion"
    if not left_out and not not_followed:
        return f"setup: every requirement of {names} is installed", True
    parts = []
    if left_out:
        parts.append(f"not installed on purpose: {len(left_out)} training/UI requirements of {names} that sampling "
                     f"never imports (requirements-nodeps.txt): {', '.join(left_out)}")
    if not_followed:
        parts.append("version caps not followed on purpose (the suite's tests run with the installed versions): "
                     + "; ".join(map(str, not_followed)))
    return "setup: " + "; ".join(parts), True


def main() -> int:
    """Print the report; exit status 1 when a requirement other than the ones left out is unmet."""
    line, sound = report(unmet_requirements())
    print(line, file=sys.stdout if sound else sys.stderr)
    return 0 if sound else 1


if __name__ == "__main__":
    sys.exit(main())
