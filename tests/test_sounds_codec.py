"""The sound library, the band codec, and what the trained embedded model makes of prompts and operations."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hw4 import sounds
from hw4.clips import CLIPS, clip_audio, clip_latent
from hw4.codec import BandCodec, band_centres_hz, latent_to_log_energy
from hw4.model import EMBEDDED_DIR

ROOT = Path(__file__).resolve().parents[1]


def _correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(np.corrcoef(a.flatten().double().numpy(), b.flatten().double().numpy())[0, 1])


@pytest.mark.parametrize("category", list(sounds.CATEGORIES))
def test_every_category_renders_deterministic_varied_audio(category):
    a, b = sounds.render(category, 1, 8192 * 4), sounds.render(category, 2, 8192 * 4)
    assert a.dtype == np.float32 and a.shape == (32768,)
    assert 0.01 < np.abs(a).max() <= 0.9
    np.testing.assert_array_equal(a, sounds.render(category, 1, 8192 * 4))
    assert not np.allclose(a, b)


def test_prompts_name_their_category_in_the_tokenizer_vocabulary():
    vocab = json.loads((EMBEDDED_DIR / "tokenizer" / "tokenizer.json").read_text())["model"]["vocab"]
    rng = np.random.default_rng(0)
    assert len(sounds.CATEGORIES) >= 8
    for category in sounds.CATEGORIES:
        for _ in range(20):
            prompt = sounds.prompt_for(category, rng)
            assert sounds.category_of(prompt) == category, prompt
            assert all(word in vocab for word in prompt.split()), prompt
    assert sounds.category_of("an unrelated sentence") is None


def test_codec_round_trip_and_shapes():
    codec = BandCodec()
    audio = torch.from_numpy(sounds.render("piano", 2001))[None, None].expand(1, 2, -1)
    z = codec.encode(audio)
    assert z.shape == (1, 64, 128) and codec.downsampling_ratio == 2048
    decoded = codec.decode(z)
    assert decoded.shape == (1, 2, 128 * 2048) and torch.isfinite(decoded).all()
    assert float((latent_to_log_energy(codec.encode(decoded)) - latent_to_log_energy(z)).abs().mean()) < 0.3
    torch.testing.assert_close(codec.decode(z), decoded)  # deterministic
    centres = band_centres_hz()
    assert centres.shape == (64,) and torch.all(centres[1:] > centres[:-1]) and 10 < centres[0] < 60


def test_codec_takes_each_channels_energy_so_a_stereo_delay_loses_none():
    """A latent's band energy is the mean of the channels' energies. For equal channels (the library the model was
    trained on, every decoded latent) that is the energy of the mono mix, as the codec encoded before, so the trained
    model still fits; for the reference clips, whose right channel is 32 samples late, the mono mix is comb-filtered
    (energy lost from 689 Hz up), and the latent now matches the undelayed clip's, as the mix's would not."""
    codec = BandCodec()
    equal = torch.from_numpy(sounds.render("piano", 2001))[None, None].expand(1, 2, -1)
    torch.testing.assert_close(codec.encode(equal), codec.encode(equal.mean(dim=1, keepdim=True)))  # the old formula
    error = lambda a, b: float((latent_to_log_energy(a) - latent_to_log_energy(b)).abs().mean())  # noqa: E731  mean |ln energy| difference
    for name in CLIPS:
        clip = clip_audio(name)
        undelayed = codec.encode(clip[:, :1].expand(-1, 2, -1))
        assert error(codec.encode(clip), undelayed) < 0.05, name  # measured 0.002-0.010
        assert error(codec.encode(clip.mean(dim=1, keepdim=True)), undelayed) > 0.1, name  # the mix's: 0.16-0.95


def test_reference_clips_are_distinct_and_decode_to_their_own_band_energies(model):
    latents = {name: clip_latent(model, name) for name in CLIPS}
    for i, a in enumerate(CLIPS):
        for b in list(CLIPS)[i + 1:]:
            assert _correlation(latents[a], latents[b]) < 0.8, (a, b)
    for name, latent in latents.items():
        decoded = model.pretransform.decode(latent)
        assert _correlation(_independent_band_energies(decoded), _independent_band_energies(clip_audio(name))) > 0.8, name


def _independent_band_energies(audio: torch.Tensor) -> torch.Tensor:
    """Log energies of 24 octave-ish bands per 1024 samples, by another analysis than the codec's."""
    spec = torch.stft(audio.mean(1)[0].double(), 2048, 1024, window=torch.hann_window(2048, dtype=torch.float64),
                      return_complex=True).abs() ** 2
    edges = np.unique(np.round(np.geomspace(2, spec.shape[0], 25)).astype(int))
    bands = torch.stack([spec[a:b].sum(0) for a, b in zip(edges[:-1], edges[1:])])
    return torch.log(bands + 1e-3)


@pytest.fixture(scope="module")
def sampled(model):
    """Decoded band energies of short generations for two prompts and three operations."""
    from hw4.answers import bind_globals
    from hw4.sampling import make_denoiser, setup_sampling
    from solutions import homework4 as solution

    bind_globals(solution, model)
    denoiser = make_denoiser(model)
    out = {}
    for prompt in ("techno drums", "calm piano chords"):
        _, x, sigmas, args = setup_sampling(model, prompt, seed=7, steps=12)
        out[prompt] = solution.simple_sample(denoiser, x, sigmas, args)
    reference = clip_latent(model, "rain")
    mask = torch.zeros_like(reference)
    mask[..., 40:88] = 1
    _, x, sigmas, args = setup_sampling(model, "techno drums", seed=7, steps=12)
    torch.manual_seed(0)
    out["inpaint"] = solution.simple_sample_inpaint(denoiser, x, sigmas, reference, mask, args)
    out["style"] = solution.simple_sample_style_transfer(denoiser, sigmas, reference, args, 0.5)
    out["reference"] = reference
    return {k: model.pretransform.encode(model.pretransform.decode(v)) for k, v in out.items()}


def _spectrum(latent: torch.Tensor, frames: slice = slice(None)) -> torch.Tensor:
    return latent[0, :, frames].mean(-1)


def test_decoded_audio_differs_by_prompt_and_by_operation(sampled):
    assert _correlation(_spectrum(sampled["techno drums"]), _spectrum(sampled["calm piano chords"])) < 0.9
    gap, kept = slice(40, 88), slice(0, 40)
    # inpainting keeps the rain outside the gap and puts something else inside it
    assert _correlation(sampled["inpaint"][..., kept], sampled["reference"][..., kept]) > 0.95
    assert (_spectrum(sampled["inpaint"], gap) - _spectrum(sampled["reference"], gap)).abs().mean() > 0.1
    for a, b in (("style", "reference"), ("style", "techno drums"), ("inpaint", "techno drums")):
        assert (sampled[a] - sampled[b]).abs().mean() > 0.1, (a, b)


def test_training_smoke_writes_a_loadable_model(tmp_path):
    spec = importlib.util.spec_from_file_location("train_embedded_model", ROOT / "scripts" / "train_embedded_model.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(["--tiny", "--steps", "2", "--out", str(tmp_path), "--threads", "1"])
    from hw4.model import build_model

    config = json.loads((tmp_path / "model_config.json").read_text())
    config["model"]["conditioning"]["configs"][0]["config"]["tokenizer_name"] = str(tmp_path / "tokenizer")
    tiny = build_model(config, tmp_path / "model.safetensors")
    assert isinstance(tiny.pretransform, BandCodec)
    assert config["model"]["diffusion"]["config"]["depth"] == 1
    shipped = json.loads((EMBEDDED_DIR / "model_config.json").read_text())
    assert shipped["model"]["pretransform"] == config["model"]["pretransform"]
