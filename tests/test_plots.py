"""hw4.plots: each helper returns a figure with the right axes and data; decode and listen give audio."""

import math

import matplotlib

matplotlib.use("Agg")

import io  # noqa: E402
import wave  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from IPython.display import Audio  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from hw4 import plots  # noqa: E402
from hw4.clips import clip_audio, clip_latent  # noqa: E402
from hw4.model import load_model  # noqa: E402
from hw4.sampling import LATENT_FRAMES, get_sigmas  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return load_model("embedded")[0]


@pytest.fixture(scope="module")
def chord(model):
    return clip_latent(model, "chord")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _render(fig: Figure) -> None:
    """Draw the figure to PNG, as a notebook would when it shows it."""
    fig.savefig(io.BytesIO(), format="png")


def _wav(audio: Audio) -> wave.Wave_read:
    return wave.open(io.BytesIO(audio.data))


def test_plot_sigmas_log_scale_without_the_final_zero():
    sigmas = get_sigmas(10)
    fig = plots.plot_sigmas(sigmas)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(y, sigmas[:-1].numpy(), rtol=1e-6)
    np.testing.assert_array_equal(x, np.arange(10))
    assert "sigma = 0 at step 10" in ax.get_title()
    assert any("sigma = 0" in text.get_text() for text in ax.texts)
    _render(fig)


def test_plot_sigmas_accepts_a_list_without_zero():
    fig = plots.plot_sigmas([3.0, 2.0, 1.0])
    assert "sigma = 0" not in fig.axes[0].get_title()
    _render(fig)


def test_plot_mask_data_and_seconds_axis(model):
    ratio, rate = model.pretransform.downsampling_ratio, model.sample_rate
    mask = torch.zeros(1, 64, LATENT_FRAMES)
    mask[..., 21:43] = 1
    fig = plots.plot_mask(mask, rate, ratio, title="regenerate 1-2 s")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    values, edges, _ = ax.patches[0].get_data()
    np.testing.assert_array_equal(values, mask[0, 0].numpy())
    np.testing.assert_array_equal(edges, np.arange(LATENT_FRAMES + 1))
    assert ax.get_title() == "regenerate 1-2 s"
    seconds_axes = [child for child in ax.child_axes if child.get_xlabel() == "seconds"]
    assert len(seconds_axes) == 1
    frames_to_seconds = seconds_axes[0]._functions[0]
    assert frames_to_seconds(LATENT_FRAMES) == pytest.approx(LATENT_FRAMES * ratio / rate)
    _render(fig)


def test_plot_mask_of_a_one_dimensional_soft_mask():
    mask = np.linspace(0, 1, 16)
    fig = plots.plot_mask(mask, 44100, 2048)
    np.testing.assert_allclose(fig.axes[0].patches[0].get_data()[0], mask)
    assert "16 latent frames" in fig.axes[0].get_title()
    _render(fig)


def test_plot_latents_side_by_side_on_one_colour_scale(chord):
    a = chord
    b = torch.randn(64, LATENT_FRAMES).numpy() * 3
    fig = plots.plot_latents(a, b, titles=["chord", "noise"])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3  # two heatmaps and one colour bar
    images = [ax.images[0] for ax in fig.axes[:2]]
    assert images[0].get_clim() == images[1].get_clim()
    limit = max(float(a.abs().max()), float(np.abs(b).max()))
    assert images[0].get_clim() == pytest.approx((-limit, limit))
    assert images[0].get_array().shape == (64, LATENT_FRAMES)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["chord", "noise"]
    _render(fig)


def test_plot_latents_rejects_bad_input():
    with pytest.raises(ValueError, match="titles"):
        plots.plot_latents(torch.zeros(64, 4), titles=["a", "b"])
    with pytest.raises(ValueError, match="shaped"):
        plots.plot_latents(torch.zeros(2, 64, 4))
    with pytest.raises(ValueError):
        plots.plot_latents()


@pytest.mark.parametrize("shape", [(1, 2, 4096), (2, 4096), (4096,)])
def test_plot_audio_waveform_and_spectrogram(shape):
    audio = clip_audio("chord", samples=4096)
    audio = audio[0, 0] if len(shape) == 1 else audio.reshape(shape)
    fig = plots.plot_audio(audio, 44100, title="chord")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    wave_ax, spec_ax = fig.axes
    channels = 1 if len(shape) == 1 else 2
    assert len(wave_ax.lines) == channels
    np.testing.assert_allclose(wave_ax.lines[0].get_ydata(), audio.reshape(channels, -1)[0].numpy(), rtol=1e-6)
    assert wave_ax.get_title() == "chord"
    assert len(spec_ax.images) == 1
    _render(fig)


def test_decode_gives_float32_audio_within_full_scale_on_the_cpu(model, chord):
    audio = plots.decode(model, chord)
    assert audio.shape == (1, 2, LATENT_FRAMES * 2048)
    assert audio.dtype == torch.float32 and audio.device.type == "cpu"
    assert float(audio.abs().max()) <= 1.0
    assert not audio.requires_grad


def test_decode_accepts_unbatched_latents(model, chord):
    latent = chord[..., :8]
    torch.testing.assert_close(plots.decode(model, latent[0]), plots.decode(model, latent))


def test_decode_limits_loud_output_smoothly_instead_of_clipping(model):
    """Latents far louder than the library decode within full scale, with next to no samples at the ceiling."""
    loud = torch.randn(1, 64, 8) * 1000
    audio = plots.decode(model, loud)
    assert float(audio.abs().max()) <= 0.99
    assert float((audio.abs() > 0.97).float().mean()) < 0.01  # a hard clamp leaves most samples at its ceiling


def test_the_limiter_leaves_quiet_audio_alone_and_turns_loud_audio_down_gradually():
    from hw4.codec import limit_peaks

    t = torch.arange(44100) / 44100
    quiet = 0.5 * torch.sin(2 * torch.pi * 440 * t)
    assert torch.equal(limit_peaks(quiet), quiet)
    loud = quiet * torch.where(t < 0.5, 1.0, 8.0)  # a sudden jump to 4x full scale
    limited = limit_peaks(loud)
    assert float(limited.abs().max()) <= 0.981
    gain = limited[loud.abs() > 0.1] / loud[loud.abs() > 0.1]
    assert float(gain.max()) > 0.999 and float(gain.min()) < 0.25  # 0.98 / 4
    assert float(gain.diff().abs().max()) < 0.1  # no jump from one sample to the next


def test_listen_returns_a_compact_mono_player(model, chord):
    player = plots.listen(model, chord, title="chord <3")
    assert isinstance(player, Audio)
    assert player.rate == plots.PLAYER_RATE
    wav = _wav(player)
    assert wav.getframerate() == plots.PLAYER_RATE and wav.getnchannels() == 1
    assert wav.getnframes() == math.ceil(LATENT_FRAMES * 2048 * plots.PLAYER_RATE / 44100)
    assert "<b>chord &lt;3</b>" in player._repr_html_()


def test_listen_to_silence_does_not_fail():
    class Silent(torch.nn.Module):
        sample_rate = 44100

        def __init__(self):
            super().__init__()
            self.pretransform = torch.nn.Linear(1, 1)
            self.pretransform.decode = lambda x: torch.zeros(x.shape[0], 2, x.shape[-1] * 2048)

    player = plots.listen(Silent(), torch.zeros(1, 64, 2))
    frames = np.frombuffer(_wav(player).readframes(4096), dtype=np.int16)
    assert not frames.any()


def test_listen_skips_a_large_model_on_the_cpu_unless_forced(model, chord, monkeypatch, capsys):
    monkeypatch.setattr(plots, "SLOW_DECODE_PARAMS", 1000)
    latent = chord[..., :4]
    assert plots.listen(model, latent) is None
    note = capsys.readouterr().out
    assert "force=True" in note and note.count("\n") == 1
    assert isinstance(plots.listen(model, latent, force=True), Audio)


def test_compare_latents_shows_the_difference(chord):
    expected = chord
    answer = expected.clone()
    answer[..., 10:20] += 0.5
    fig = plots.compare_latents(answer, expected)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 5  # three heatmaps, two colour bars
    heatmaps = fig.axes[:3]
    assert heatmaps[0].images[0].get_clim() == heatmaps[1].images[0].get_clim()
    difference = heatmaps[2].images[0].get_array()
    np.testing.assert_allclose(difference, (answer - expected).abs()[0].numpy(), atol=1e-6)
    assert "max 0.5" in heatmaps[2].get_title()
    _render(fig)


def test_compare_latents_with_mismatched_shapes():
    fig = plots.compare_latents(torch.zeros(1, 64, 10), torch.zeros(64, 12))
    assert "Shapes differ" in fig.axes[2].texts[0].get_text()
    _render(fig)


def test_figures_show_themselves_as_png_in_notebooks():
    fig = plots.plot_sigmas([2.0, 1.0, 0.0])
    assert fig._repr_png_().startswith(b"\x89PNG")
    assert plt.get_fignums() == []  # not kept by pyplot


def test_plot_latents_as_spectrograms_with_band_frequencies_and_mask(model, chord):
    mask = torch.zeros_like(chord)
    mask[..., 40:88] = 1
    fig = plots.plot_latents(chord, chord * 0.5, titles=["chord", "quieter"], model=model, mask=mask)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert ax.get_ylabel() == "frequency band (centre)"
    assert labels[0].endswith("Hz") and labels[-1].endswith("kHz")
    spans = [p for p in ax.patches if p.get_edgecolor()[:3] == (0.0, 1.0, 1.0)]
    assert len(spans) == 1 and spans[0].get_x() == pytest.approx(39.5)
    assert plots.plot_latents(chord).axes[0].get_ylabel() == "channel"
