"""The embedded model mirrors SAO's interface, every input steers it, and the real-SAO path works offline."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest
import torch

from hw4.model import EMBEDDED_DIR, ModelAccessError, embedded_config, load_model, load_sao_model, model_id
from hw4.sampling import conditioning_args, get_sigmas, seconds_of, setup_sampling


def test_embedded_model_has_sao_interface(model):
    assert model.pretransform.downsampling_ratio == 2048
    assert model.sample_rate == 44100
    assert model.diffusion_objective == "v"
    assert (EMBEDDED_DIR / "model.safetensors").stat().st_size < 10_000_000
    denoiser, x, sigmas, extra_args = setup_sampling(model, "warm pad", seed=3)
    assert x.shape == (1, 64, 128) and x.dtype == torch.float32
    assert type(denoiser).__name__ == "VDenoiser"
    assert sigmas[-1] == 0 and len(sigmas) == 51 and float(sigmas[0]) == pytest.approx(500)
    assert extra_args["cfg_scale"] == 7.0
    audio = model.pretransform.decode(x[..., :4] / 500)
    assert audio.shape == (1, 2, 4 * 2048)
    assert model.pretransform.encode(audio).shape == (1, 64, 4)


@pytest.fixture(scope="module")
def probe(model):
    torch.manual_seed(0)
    denoiser, x, _, extra_args = setup_sampling(model, "warm ambient pad", seed=5)
    x = x / 50
    sigma = torch.tensor([10.0])
    with torch.no_grad():
        base = denoiser(x, sigma, **extra_args)
    return denoiser, x, sigma, extra_args, base


@pytest.mark.parametrize("change", ["x", "sigma", "prompt", "seconds_total", "cfg_scale"])
def test_every_input_changes_the_denoiser(model, probe, change):
    """A sampler that drops x, sigma or extra_args must not pass unnoticed."""
    denoiser, x, sigma, extra_args, base = probe
    if change == "x":
        x = x * 1.5
    elif change == "sigma":
        sigma = sigma * 2
    elif change == "prompt":
        extra_args = conditioning_args(model, "dark techno drums", seconds_of(model))
    elif change == "seconds_total":
        extra_args = conditioning_args(model, "warm ambient pad", 3.0)
    else:
        extra_args = {**extra_args, "cfg_scale": 1.0}
    with torch.no_grad():
        out = denoiser(x, sigma, **extra_args)
    # the trained model learned timing only weakly: seconds_total moves its output by 1-2 %
    share = 0.005 if change == "seconds_total" else 0.05
    assert (out - base).abs().max() > share * base.abs().max()


def test_sigma_schedule_matches_sao():
    sigmas = get_sigmas(10)
    assert torch.all(sigmas[:-1] > sigmas[1:])
    assert float(sigmas[-2]) == pytest.approx(0.3)


def test_model_id_tracks_weights():
    assert model_id().startswith("embedded:")
    assert model_id("sao") == "sao:stabilityai/stable-audio-open-1.0"


def _fake_hub_cache(root, with_weights=True):
    """A Hugging Face cache laid out as the hub would, holding the embedded files under SAO's name."""
    repo = root / "models--stabilityai--stable-audio-open-1.0"
    snapshot = repo / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(snapshot.name)
    (snapshot / "model_config.json").write_text(json.dumps(embedded_config()))
    if with_weights:
        shutil.copy(EMBEDDED_DIR / "model.safetensors", snapshot / "model.safetensors")
    return root


def test_sao_loads_offline_from_a_local_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = _fake_hub_cache(tmp_path)
    model, config = load_sao_model(cache_dir=cache)
    assert config["model_type"] == "diffusion_cond"
    assert model.pretransform.downsampling_ratio == 2048
    reference, _ = load_model("embedded")
    for (name, a), (_, b) in zip(model.state_dict().items(), reference.state_dict().items()):
        assert torch.equal(a, b), name


def test_sao_without_access_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(ModelAccessError) as err:
        load_sao_model(cache_dir=_fake_hub_cache(tmp_path, with_weights=False))
    message = str(err.value)
    assert "model.safetensors" in message and "HF_TOKEN" in message and "huggingface.co" in message
    assert "\n" not in message


def test_gated_repo_error_becomes_one_sentence(monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError

    def gated(*args, **kwargs):
        raise GatedRepoError("403 Client Error: access to model is restricted", response=SimpleNamespace(
            status_code=403, headers={}, request=None, url="https://huggingface.co"))

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", gated)
    monkeypatch.setattr("hw4.model.hub_unreachable", lambda: None)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(ModelAccessError, match="accept its licence"):
        load_model("sao", token="hf_fake")


def test_no_network_is_said_at_once_in_one_sentence(tmp_path, monkeypatch):
    """Name resolution fails: one sentence that says so, and no download is ever tried (no retries)."""
    import socket

    import huggingface_hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    tried = []
    real = huggingface_hub.hf_hub_download

    def download(*args, **kwargs):
        tried.append(kwargs.get("local_files_only", False))
        return real(*args, **kwargs)

    def no_dns(*args, **kwargs):
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    monkeypatch.setattr(socket, "create_connection", no_dns)
    with pytest.raises(ModelAccessError) as err:
        load_sao_model(cache_dir=tmp_path)
    message = str(err.value)
    assert "could not be resolved" in message and "no network" in message and "\n" not in message
    assert "HF_TOKEN" not in message  # not blamed on the token or the licence
    assert tried and all(tried)  # only the local cache was looked at


def test_unknown_model_name_is_refused():
    with pytest.raises(ValueError, match="embedded, sao"):
        load_model("stable-audio-2")
