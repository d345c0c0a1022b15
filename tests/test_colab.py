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


def test_colab_installs_what_the_settings_file_names():
    """On Colab there is no pyproject.toml: the pins come from hw4/data/install.json, which the wheel carries."""
    from hw4.install_settings import SETTINGS, SETTINGS_FILE

    assert SETTINGS_FILE.parent.name == "data" and SETTINGS_FILE.parent.parent.name == "hw4"
    first, second = colab.install_command()
    assert first[first.index("--no-deps") + 1:] == list(SETTINGS.no_deps)
    assert second[second.index(colab.suite_url()) + 1:] == list(SETTINGS.colab)
    assert "stable-audio-tools==0.0.19" in first and "k-diffusion==0.1.1" in first
    assert "alias-free-torch==0.0.6" in second and "setuptools<81" in second  # versions from pyproject.toml


def test_settings_file_round_trips_and_retargets(tmp_path):
    from hw4.install_settings import SETTINGS, read_settings

    (tmp_path / "install.json").write_text(SETTINGS.retargeted("someone/else", None).to_json())
    moved = read_settings(tmp_path / "install.json")
    assert moved.repository == "someone/else" and moved.branch == SETTINGS.branch
    assert (moved.torch, moved.no_deps, moved.colab) == (SETTINGS.torch, SETTINGS.no_deps, SETTINGS.colab)
    assert moved.retargeted() == moved


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
    assert 'MODEL = "sao"' in source and source.endswith("hw4.colab.setup(model=MODEL);")
    assert colab.suite_url() in source and "--no-deps" in source
    exec(compile(source, "<setup cell>", "exec"), {})
    assert capsys.readouterr().out.strip() == colab.NOT_ON_COLAB


@pytest.mark.parametrize("model", ["embedded", "sao"])
def test_a_setup_cell_says_which_model_it_chose(model):
    """``hw4 build-notebooks`` regenerates a setup cell from the model it names, so the choice survives."""
    assert colab.setup_cell_model(colab.setup_cell_source(model)) == model
    assert colab.setup_cell_model(f'from hw4.colab import setup\nMODEL = "{model}"  # a comment\nsetup(model=MODEL)') == model
    assert colab.setup_cell_model("from hw4.colab import setup\nsetup()") is None  # the DDPM notebook names no model
    assert "MODEL" not in colab.setup_cell_source(None) and colab.setup_cell_source(None).endswith("hw4.colab.setup();")


@pytest.mark.parametrize("path", ["notebooks/homework4_stub.ipynb", "notebooks/lab_stub.ipynb", "runner.ipynb"])
def test_each_notebook_chooses_its_model_once_in_its_setup_cell(path):
    import nbformat

    code = [c.source for c in nbformat.read(Path(__file__).resolve().parents[1] / path, as_version=4).cells
            if c.cell_type == "code"]
    choosing = [i for i, source in enumerate(code) if colab.MODEL_LINE.search(source)]
    assert choosing == [0], f"MODEL is set in code cells {choosing}"
    assert "setup(model=MODEL)" in code[0] and not any('model="' in source or "model='" in source for source in code)
