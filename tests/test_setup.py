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

from autograder import install_files
from autograder.cli import main
from hw4.errors import UserError
from hw4.install_settings import SETTINGS
from hw4.requirements_check import Unmet, requirement_name, split

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("environment.yml", "requirements-nodeps.txt", "hw4/data/install.json")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _tree(tmp_path: Path) -> Path:
    """A folder with the repository's pyproject.toml and its generated install files."""
    for name in ("pyproject.toml", *GENERATED):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    return tmp_path


def test_install_files_are_generated_from_pyproject():
    """environment.yml, requirements-nodeps.txt and hw4/data/install.json equal what pyproject.toml generates."""
    assert sorted(install_files.generated_files()) == sorted(GENERATED)
    assert install_files.build(check=True) == []


# An edit of pyproject.toml: (old text, new text, text the regenerated files then hold, the files it changes).
EDITS = {
    "dependency": ('"scipy>=1.10",', '"scipy>=1.10",\n    "rich>=13",', '"rich>=13"', ["environment.yml"]),
    "nodeps pin": ('"dctorch==0.1.2"]', '"dctorch==0.1.3"]', "dctorch==0.1.3",
                   ["requirements-nodeps.txt", "hw4/data/install.json"]),
    "torch pin": ('"torch==2.9.1"', '"torch==2.9.2"', "torch==2.9.2", ["environment.yml", "hw4/data/install.json"]),
    "colab": ('"nbclient"]', '"nbclient", "scipy"]', '"scipy>=1.10"', ["hw4/data/install.json"]),
    "repository": ('repository = "hw4-course/', 'repository = "elsewhere/', '"elsewhere/', ["hw4/data/install.json"]),
}


@pytest.mark.parametrize("edit", [*EDITS, "hand edit"])
def test_a_list_that_drifts_is_found_and_rebuilt(tmp_path, edit):
    root = _tree(tmp_path)
    if edit == "hand edit":
        (root / "environment.yml").write_text((root / "environment.yml").read_text().replace("scipy", "sciipy"))
        stale, expected = ["environment.yml"], '"scipy>=1.10"'
    else:
        old, new, expected, stale = EDITS[edit]
        pyproject = (root / "pyproject.toml").read_text()
        assert pyproject.count(old) == 1, old
        (root / "pyproject.toml").write_text(pyproject.replace(old, new))
    before = {name: (root / name).read_text() for name in GENERATED}
    assert all(expected not in before[name] or edit == "hand edit" for name in stale)
    assert install_files.build(root, check=True) == stale
    assert {name: (root / name).read_text() for name in GENERATED} == before  # a check writes nothing
    assert install_files.build(root) == stale
    assert install_files.build(root, check=True) == []
    assert all(expected in (root / name).read_text() for name in stale)


def test_a_torch_pin_the_dependencies_do_not_list_is_refused(tmp_path):
    root = _tree(tmp_path)
    pyproject = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(pyproject.replace('"torchaudio==2.9.*"]', '"torchaudio==2.9.*", "jax==0.4"]'))
    with pytest.raises(UserError, match=r"jax==0.4 .* do not list"):
        install_files.build(root, check=True)


def test_environment_yml_lists_the_dependencies_with_the_torch_pins():
    project = _pyproject()["project"]["dependencies"]
    env = [l.strip()[2:].strip().strip('"') for l in (ROOT / "environment.yml").read_text().splitlines()
           if l.startswith("      - ")]
    pins = {requirement_name(p): p for p in SETTINGS.torch}
    assert env == [pins.get(requirement_name(d), d) for d in project]
    assert "torch==2.9.1" in env and "numpy>=1.24" in env


def test_setup_pins_torch_with_matching_audio_and_vision():
    """torchaudio 2.9 needs exactly torch 2.9.1; scripts/setup.sh installs the pins the settings file holds."""
    assert SETTINGS.torch == ("torch==2.9.1", "torchvision==0.24.1", "torchaudio==2.9.*")
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    line = next(l for l in setup.splitlines() if l.startswith("pins=$("))
    code = re.search(r"-c '([^']*)'", line).group(1)
    printed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert printed.stdout.split() == list(SETTINGS.torch)
    assert 'pip install --quiet "${torch_pins[@]}"' in setup and "torch==" not in setup


def test_nodeps_pins_are_the_full_extra():
    """The pins installed with --no-deps are one list: pyproject.toml's `full` extra, wherever they are read."""
    from hw4.colab import nodeps_requirements

    full = _pyproject()["project"]["optional-dependencies"]["full"]
    assert list(SETTINGS.no_deps) == full == nodeps_requirements()
    pins = [l for l in (ROOT / "requirements-nodeps.txt").read_text().splitlines() if l and not l.startswith("#")]
    assert pins == full
    # The requirements check treats exactly these packages as installed without their requirements.
    left_out, not_followed, conflicts = split([Unmet(requirement_name(p), "gradio", None) for p in full])
    assert left_out == ["gradio"] and not_followed == conflicts == []


def test_gradescope_pins_the_libraries_the_references_depend_on():
    from autograder.gradescope_zip import pinned_libraries
    from autograder.references import LIBRARIES

    pinned = pinned_libraries()
    names = [requirement_name(p) for p in (*SETTINGS.torch, *SETTINGS.no_deps)]
    assert set(LIBRARIES) <= set(pinned) and set(names) <= set(pinned) and len(set(pinned)) == len(pinned)


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


@pytest.mark.slow
def test_installed_package_carries_the_embedded_model_and_self_check_data(tmp_path):
    """Colab installs the suite from git as a wheel: the model, tokenizer, expected outputs and install settings
    must be in it."""
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path)], check=True, capture_output=True)
    wheel = zipfile.ZipFile(next(tmp_path.glob("*.whl")))
    names = set(wheel.namelist())
    for needed in ("hw4/embedded/model.safetensors", "hw4/embedded/model_config.json",
                   "hw4/embedded/tokenizer/tokenizer.json", "hw4/data/selfcheck.pkl", "hw4/data/install.json",
                   "autograder/release_files/README.md"):
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


@pytest.mark.slow
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
