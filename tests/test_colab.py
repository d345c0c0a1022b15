"""hw4.colab, offline: Colab is simulated with fake google.colab modules and a recording ``run``."""

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from hw4 import colab

COLAB_OWNED = {"torch", "torchaudio", "torchvision", "numpy"}


class FakeSecretNotFoundError(Exception):
    pass


class FakeNotebookAccessError(Exception):
    pass


class Recorder:
    def __init__(self):
        self.commands = []

    def __call__(self, command, check=False):
        self.commands.append(list(command))
        return subprocess.CompletedProcess(command, 0)


@pytest.fixture
def no_token(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)


def fake_colab(monkeypatch, get):
    """Make ``google.colab`` and ``google.colab.userdata`` importable, with ``userdata.get = get``."""
    google = types.ModuleType("google")
    google.__path__ = []
    google_colab = types.ModuleType("google.colab")
    google_colab.__path__ = []
    userdata = types.ModuleType("google.colab.userdata")
    userdata.get = get
    google.colab = google_colab
    google_colab.userdata = userdata
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", google_colab)
    monkeypatch.setitem(sys.modules, "google.colab.userdata", userdata)


def secret(value):
    return lambda name: value if name == "HF_TOKEN" else pytest.fail(f"asked for secret {name}")


def raising(error):
    def get(name):
        raise error

    return get


def requirement_names(command):
    """The names of the packages a pip argv installs (options and the git URL left out)."""
    install = command.index("install")
    return {Requirement(arg).name.lower() for arg in command[install + 1:] if not arg.startswith(("-", "git+"))}


def test_not_in_colab_here():
    assert not colab.in_colab()


def test_in_colab_with_simulated_modules(monkeypatch):
    fake_colab(monkeypatch, secret("x"))
    assert colab.in_colab()


def test_outside_colab_nothing_runs(monkeypatch, capsys, no_token):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    recorder = Recorder()
    for model in ("embedded", "sao"):
        assert colab.setup(model, run=recorder) == colab.NOT_ON_COLAB
    assert recorder.commands == []
    assert capsys.readouterr().out.strip().splitlines() == [colab.NOT_ON_COLAB] * 2
    assert "HF_TOKEN" not in os.environ


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="embedded"):
        colab.setup("big")


def test_install_commands_keep_colabs_torch_and_numpy():
    commands = colab.install_command()
    assert len(commands) == 2
    for command in commands:
        assert command[:4] == [sys.executable, "-m", "pip", "install"]
        assert "--no-deps" in command
        assert not requirement_names(command) & COLAB_OWNED
    assert {"stable-audio-tools", "k-diffusion"} <= requirement_names(commands[0])
    assert f"git+https://github.com/{colab.REPOSITORY}@{colab.BRANCH}" in commands[1]
    assert {"einops-exts", "alias-free-torch", "torchsde", "nbclient"} <= requirement_names(commands[1])


def test_nodeps_pins_come_from_the_repository_file():
    root_file = Path(__file__).resolve().parent.parent / "requirements-nodeps.txt"
    assert colab.NODEPS_REQUIREMENTS_FILE == root_file
    pins = colab.nodeps_requirements()
    assert "stable-audio-tools==0.0.19" in pins and "k-diffusion==0.1.1" in pins
    assert all(not pin.startswith("#") for pin in pins)


def test_nodeps_pins_fall_back_without_the_file(tmp_path):
    assert colab.nodeps_requirements(tmp_path / "missing.txt") == list(colab.NODEPS_FALLBACK)
    (tmp_path / "custom.txt").write_text("# comment\n\nstable-audio-tools==9.9  # why\n")
    assert colab.nodeps_requirements(tmp_path / "custom.txt") == ["stable-audio-tools==9.9"]


def test_colab_embedded_installs_without_reading_the_secret(monkeypatch, capsys, no_token):
    fake_colab(monkeypatch, raising(AssertionError("the embedded model needs no secret")))
    recorder = Recorder()
    status = colab.setup("embedded", run=recorder)
    assert recorder.commands == colab.install_command()
    assert "embedded" in status
    assert "HF_TOKEN" not in os.environ
    assert capsys.readouterr().out.strip() == status


def test_colab_sao_puts_the_token_in_the_environment(monkeypatch, capsys, no_token):
    token = "hf_secretvalue123"
    fake_colab(monkeypatch, secret(token))
    recorder = Recorder()
    status = colab.setup("sao", run=recorder)
    assert os.environ["HF_TOKEN"] == token
    assert len(recorder.commands) == 2
    assert token not in status and token not in capsys.readouterr().out


@pytest.mark.parametrize(
    "get",
    [
        raising(FakeSecretNotFoundError("Secret HF_TOKEN does not exist.")),
        raising(FakeNotebookAccessError("Notebook does not have access to secret HF_TOKEN")),
        raising(RuntimeError("anything else")),
        secret(None),
        secret("   "),
    ],
    ids=["missing", "no-access", "other-error", "none", "blank"],
)
def test_colab_sao_without_a_usable_secret_explains_and_goes_on(monkeypatch, capsys, no_token, get):
    fake_colab(monkeypatch, get)
    status = colab.setup("sao", run=Recorder())
    out = capsys.readouterr().out
    assert "HF_TOKEN" not in os.environ
    assert colab.SECRET_HELP in status and colab.SECRET_HELP in out
    for words in ("key icon", "notebook access", "embedded model", "secret named HF_TOKEN"):
        assert words in colab.SECRET_HELP


def test_colab_sao_keeps_a_token_already_set(monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_fromenv")
    fake_colab(monkeypatch, raising(AssertionError("not needed")))
    status = colab.setup("sao", run=Recorder())
    assert os.environ["HF_TOKEN"] == "hf_fromenv"
    assert "hf_fromenv" not in status + capsys.readouterr().out


def test_failed_install_says_what_to_do(monkeypatch, no_token):
    fake_colab(monkeypatch, secret("x"))

    def failing(command, check=False):
        raise subprocess.CalledProcessError(1, command)

    with pytest.raises(RuntimeError, match="re-run this cell"):
        colab.setup("embedded", run=failing)


def test_badge_and_url():
    url = f"https://colab.research.google.com/github/{colab.REPOSITORY}/blob/{colab.BRANCH}/notebooks/q1.ipynb"
    assert colab.colab_url("notebooks/q1.ipynb") == url
    assert colab.colab_url(Path("/notebooks/q1.ipynb")) == url
    assert colab.badge_markdown("notebooks/q1.ipynb") == (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"
    )


def test_setup_cell_source_runs_locally(capsys):
    source = colab.setup_cell_source("sao")
    assert "hw4.colab.setup(model='sao')" in source
    assert colab.suite_url() in source and "--no-deps" in source
    exec(compile(source, "<setup cell>", "exec"), {})
    assert capsys.readouterr().out.strip() == colab.NOT_ON_COLAB
