"""Setup files agree with each other, and the hw4 command answers users in sentences."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from autograder.cli import main
from hw4.colab import NODEPS_FALLBACK, nodeps_requirements

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip().strip('"'))[0].lower().replace("_", "-")


def _setup_pins() -> dict[str, str]:
    line = next(l for l in (ROOT / "scripts" / "setup.sh").read_text().splitlines() if "torch==" in l)
    pins = [p.strip("'\"") for p in line.split() if "==" in p]
    return {_name(p): p for p in pins}


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = [l.strip()[2:].strip().strip('"') for l in (ROOT / "environment.yml").read_text().splitlines()
           if l.startswith("      - ")]
    pins = _setup_pins()
    expected = {_name(d): pins.get(_name(d), d) for d in project}
    assert {_name(e): e for e in env} == expected


def test_setup_pins_torch_with_matching_audio_and_vision():
    assert _setup_pins() == {"torch": "torch==2.9.1", "torchvision": "torchvision==0.24.1", "torchaudio": "torchaudio==2.9.*"}


def test_nodeps_pins_are_one_list():
    assert tuple(nodeps_requirements()) == NODEPS_FALLBACK


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, re.S)
    assert blocks[0].strip() == "bash scripts/setup.sh && .venv/bin/hw4 demo"
    assert blocks[1].strip() == "bash scripts/setup.sh && bash scripts/test.sh"
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_cli_reports_unusable_input_in_one_sentence(tmp_path, capsys):
    empty = tmp_path / "homework4.pkl"
    empty.write_bytes(b"")
    assert main(["grade", str(empty)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hw4 grade: ") and "empty" in err and "\n" not in err
    assert main(["answers", str(tmp_path / "nothing.py"), "-o", str(tmp_path / "x.pkl")]) == 2
    assert "Could not find" in capsys.readouterr().err


def test_cli_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "autograder", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for command in ("answers", "grade", "grade-all", "references", "gradescope", "release", "build-notebooks", "demo"):
        assert command in out


@pytest.mark.parametrize("model", ["sao"])
def test_answers_with_sao_but_no_access_fails_cleanly(tmp_path, monkeypatch, capsys, model):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    submission = ROOT / "solutions" / "homework4.py"
    assert main(["answers", str(submission), "-o", str(tmp_path / "x.pkl"), "--model", model]) == 2
    err = capsys.readouterr().err
    assert "HF_TOKEN" in err and "Traceback" not in err


def test_installed_package_carries_the_embedded_model_and_self_check_data(tmp_path):
    """Colab installs the suite from git as a wheel: the model, tokenizer and expected outputs must be in it."""
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path)], check=True, capture_output=True)
    wheel = zipfile.ZipFile(next(tmp_path.glob("*.whl")))
    names = set(wheel.namelist())
    for needed in ("hw4/embedded/model.safetensors", "hw4/embedded/model_config.json",
                   "hw4/embedded/tokenizer/tokenizer.json", "hw4/data/selfcheck.pkl"):
        assert needed in names
    # The installed `hw4` command finds the staff commands through this entry point.
    entry_points = wheel.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "[hw4.commands]\nstaff = autograder.cli:register" in entry_points


class _Dist:
    """Just what ``unmet_requirements`` reads of an installed distribution."""

    def __init__(self, name: str, version: str, *requires: str):
        self.metadata, self.version, self.requires = {"Name": name}, version, list(requires)


def test_requirements_check_names_what_is_left_out_and_stops_on_anything_else():
    from hw4.requirements_check import report, unmet_requirements

    sound = [_Dist("stable-audio-tools", "0.0.19", "gradio>=5", "einops", "wandb==0.15.4"),
             _Dist("k-diffusion", "0.1.1", "accelerate", 'pytest; extra == "test"'), _Dist("einops", "0.8.2")]
    line, ok = report(unmet_requirements(sound))
    assert ok and not line.startswith("ERROR") and "\n" not in line
    assert line.endswith("accelerate, gradio, wandb") and "not installed on purpose" in line
    # A --no-deps package's stale cap (dctorch's numpy<2 on Python 3.13) is named, not fatal:
    capped = [*sound, _Dist("dctorch", "0.1.2", "numpy<2.0.0,>=1.22.3"), _Dist("numpy", "2.5.5")]
    line, ok = report(unmet_requirements(capped))
    assert ok and "\n" not in line and "dctorch needs numpy<2.0.0,>=1.22.3 (2.5.5 is installed)" in line
    # A requirement of any other package, missing or at a version it rejects, stops setup:
    broken = [*capped, _Dist("hw4-stable-audio", "1.0.0", "numpy>=1.24", "einops>=0.9")]
    line, ok = report(unmet_requirements(broken))
    assert not ok and line.startswith("setup: stopped")
    assert "hw4-stable-audio needs einops>=0.9 (0.8.2 is installed)" in line
    assert "hw4-stable-audio needs numpy>=1.24" not in line


@pytest.mark.skipif(sys.prefix == sys.base_prefix or not shutil.which("bwrap"),
                    reason="needs a virtual environment to copy, and bubblewrap (setup would apt-get it)")
def test_setup_that_installs_a_shared_requirement_prints_no_error(tmp_path):
    """Like a fresh setup, this one installs a package stable-audio-tools also requires, which is when pip
    listed every left-out requirement in red ERROR lines. Torch is already there: the copy keeps it."""
    venv = tmp_path / "venv"
    subprocess.run(["cp", "-al", sys.prefix, str(venv)], check=True)  # hard links: nothing of the original changes
    (venv / ".hw4-installed").unlink(missing_ok=True)
    subprocess.run([venv / "bin" / "python", "-m", "pip", "uninstall", "-y", "-q", "einops-exts"], check=True,
                   capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | {"HW4_VENV": str(venv)}
    run = subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh")], env=env, capture_output=True, text=True)
    lines = (run.stdout + run.stderr).splitlines()
    assert run.returncode == 0, lines
    assert not [line for line in lines if line.startswith("ERROR")]
    left_out = next(line for line in lines if "not installed on purpose" in line)
    assert "gradio" in left_out and "wandb" in left_out and "einops-exts" not in left_out
    subprocess.run([venv / "bin" / "python", "-c", "import einops_exts"], check=True)
