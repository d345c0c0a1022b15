"""The DDPM assignment's pieces: schedules, loss, sampler, shipped data, classifier, copy check, scripts."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from hw4 import digit_judge
from hw4.ddpm_model import NULL_CLASS, load_denoiser
from hw4.ddpm_quality import Budget, quality_run, sample_labels
from hw4.digits import digits, digits_numpy
from solutions import ddpm

ROOT = Path(__file__).resolve().parents[1]
T = 1000


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as the runner uses: two OpenMP threads on a loaded 2-core machine crawl."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def denoiser():
    return load_denoiser()


def test_linear_betas_run_from_beta1_at_step_1_to_beta2_at_step_T():
    betas = ddpm.beta_schedule(1e-4, 0.02, T, "linear")
    assert betas.shape == (T + 1,) and betas[0] == 0
    np.testing.assert_allclose(betas[1:].numpy(), np.linspace(1e-4, 0.02, T), rtol=1e-5)


def test_cosine_betas_follow_improved_ddpm_with_offset_and_clip():
    t = np.arange(T + 1)
    f = np.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2
    alphabar = f / f[0]
    expected = np.minimum(1 - alphabar[1:] / alphabar[:-1], 0.999)
    betas = ddpm.beta_schedule(1e-4, 0.02, T, "cosine")
    assert betas.shape == (T + 1,) and betas[0] == 0
    np.testing.assert_allclose(betas[1:].numpy(), expected, rtol=1e-5)
    assert betas[T] == pytest.approx(0.999) and betas[1] < 1e-4  # the clip bites at T; the offset keeps beta_1 > 0
    assert betas[1] > 0


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_schedule_terms_match_their_closed_forms(schedule):
    s = ddpm.ddpm_schedules(1e-4, 0.02, T, schedule)
    assert tuple(s) == ddpm.SCHEDULE_KEYS
    assert all(v.shape == (T + 1,) and torch.isfinite(v).all() for v in s.values())
    beta = ddpm.beta_schedule(1e-4, 0.02, T, schedule).double().numpy()
    alphabar = np.cumprod(1 - beta)
    closed = {
        "beta_t": beta, "sqrt_beta_t": np.sqrt(beta), "alpha_t": 1 - beta, "alphabar_t": alphabar,
        "sqrtab": np.sqrt(alphabar), "oneover_sqrta": 1 / np.sqrt(1 - beta), "sqrtmab": np.sqrt(1 - alphabar),
    }
    for key, want in closed.items():
        np.testing.assert_allclose(s[key].numpy(), want, rtol=1e-3, atol=1e-7, err_msg=key)  # float32: 1 - alphabar_1 cancels
    np.testing.assert_allclose(s["mab_over_sqrtmab"][1:].numpy(), beta[1:] / np.sqrt(1 - alphabar[1:]), rtol=1e-3)
    assert s["alphabar_t"][0] == 1 and s["mab_over_sqrtmab"][0] == 0


@pytest.mark.parametrize("prediction", ["epsilon", "sample"])
def test_loss_draws_t_then_noise_from_the_generator(denoiser, prediction):
    images, labels = digits()
    x0, y = images[:32], labels[:32]
    s = ddpm.ddpm_schedules(1e-4, 0.02, T, "linear")
    with torch.no_grad():
        loss = ddpm.ddpm_loss(denoiser, x0, y, s, prediction, torch.Generator().manual_seed(5))
        again = ddpm.ddpm_loss(denoiser, x0, y, s, prediction, torch.Generator().manual_seed(5))
        other = ddpm.ddpm_loss(denoiser, x0, y, s, prediction, torch.Generator().manual_seed(6))
        g = torch.Generator().manual_seed(5)
        t = torch.randint(1, T + 1, (32,), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        out = denoiser(s["sqrtab"][t, None] * x0 + s["sqrtmab"][t, None] * noise, t, y)
        expected = ((out - (noise if prediction == "epsilon" else x0)) ** 2).mean()
    assert loss.item() == again.item() != other.item()
    torch.testing.assert_close(loss, expected)


def test_sampler_draws_x_T_first_and_keeps_every_kth_step(denoiser):
    s = ddpm.ddpm_schedules(1e-4, 0.02, 45, "linear")
    labels = sample_labels(2)
    x, kept = ddpm.ddpm_sample(denoiser, labels, s, "epsilon", 2.0, torch.Generator().manual_seed(1), 10)
    assert x.shape == (20, 64) and kept.shape == (45 // 10 + 1, 20, 64)  # x_40, x_30, ..., x_0
    torch.testing.assert_close(kept[-1], x)
    x2, kept2 = ddpm.ddpm_sample(denoiser, labels, s, "epsilon", 2.0, torch.Generator().manual_seed(1), 15)
    assert kept2.shape == (4, 20, 64)  # x_45 = the first draw, x_30, x_15, x_0
    torch.testing.assert_close(kept2[0], torch.randn((20, 64), generator=torch.Generator().manual_seed(1)))
    torch.testing.assert_close(x2, x)
    assert x.abs().max() <= 1 + 1e-5  # the last step returns the clipped clean estimate


def test_sampler_uses_the_labels_and_guidance(denoiser):
    s = ddpm.ddpm_schedules(1e-4, 0.02, 20, "cosine")
    labels = sample_labels(1)
    runs = [ddpm.ddpm_sample(denoiser, y, s, "sample", w, torch.Generator().manual_seed(0), 20)[0]
            for y, w in [(labels, 1.0), (labels, 0.0), (torch.full_like(labels, NULL_CLASS), 1.0)]]
    assert not torch.allclose(runs[0], runs[1]) and not torch.allclose(runs[0], runs[2])


def test_training_reduces_the_loss_and_is_reproducible():
    from hw4.ddpm_model import new_denoiser

    images, labels = digits()
    s = ddpm.ddpm_schedules(1e-4, 0.02, 100, "linear")
    runs = [ddpm.train(new_denoiser(0, 32), images, labels, s, "epsilon", 40, torch.Generator().manual_seed(0))
            for _ in range(2)]
    assert len(runs[0]) == 40 and runs[0] == runs[1]
    assert np.mean(runs[0][-10:]) < np.mean(runs[0][:10])


def test_shipped_digits_are_the_sklearn_digits_scaled_to_unit_range():
    x, y = digits_numpy()
    assert x.shape == (1797, 64) and y.shape == (1797,) and x.min() == -1 and x.max() == 1
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_classifier_from_the_shipped_arrays_is_accurate_on_held_out_digits():
    x, y = digits_numpy()
    heldout = digit_judge.classifier()["heldout"]
    assert len(heldout) == 450
    assert (digit_judge.classify(x[heldout]) == y[heldout]).mean() >= 0.97


def test_copy_check_flags_training_digits_and_passes_fresh_samples(denoiser):
    x, y = digits_numpy()
    assert digit_judge.copies_training_image(x).all()
    noisy = x[:200] + np.random.default_rng(0).normal(0, 0.1, (200, 64))
    assert digit_judge.copies_training_image(noisy).all()
    s = ddpm.ddpm_schedules(1e-4, 0.02, T, "linear")
    labels = sample_labels(10)
    samples, _ = ddpm.ddpm_sample(denoiser, labels, s, "epsilon", 2.0, torch.Generator().manual_seed(0), T)
    quality = digit_judge.judge_samples(samples.numpy(), labels.numpy())
    assert quality.copies <= 5
    copied = digit_judge.judge_samples(x[:100], y[:100])
    assert copied.classified_as_label >= 97 and copied.copies == 100 and copied.share == 0


def test_quality_run_trains_samples_and_judges_with_the_given_functions():
    run = quality_run(ddpm, "epsilon", "cosine", Budget(T=20, steps=3, batch_size=16, per_class=1))
    assert run.samples.shape == (10, 64) and run.labels.tolist() == list(range(10))
    assert run.quality.samples == 10 and 0 <= run.quality.share <= 1


def test_denoiser_script_reproduces_the_shipped_weights(denoiser):
    trained = load_script("train_ddpm_denoiser").train_denoiser()
    for name, shipped in denoiser.state_dict().items():
        torch.testing.assert_close(trained.state_dict()[name], shipped, rtol=1e-3, atol=1e-4, msg=name)


def test_classifier_script_reproduces_the_shipped_files():
    pytest.importorskip("sklearn")
    script = load_script("train_digits_classifier")
    data = script.digits_arrays()
    with np.load(ROOT / "hw4" / "data" / "digits.npz") as shipped:
        assert all(np.array_equal(data[k], shipped[k]) for k in ("images", "labels"))
    arrays, accuracy = script.fit_classifier(data["images"], data["labels"])
    assert accuracy >= 0.97
    shipped = digit_judge.classifier()
    assert np.array_equal(arrays["heldout"], shipped["heldout"])
    # Training is iterative, so its weights differ in the last digits across numpy/BLAS builds: compare what the
    # two classifiers say about every digit instead of their weights.
    x, _ = digits_numpy()
    hidden = np.maximum(x @ arrays["w1"] + arrays["b1"], 0)
    refitted = np.argmax(hidden @ arrays["w2"] + arrays["b2"], axis=1)
    assert np.mean(refitted == digit_judge.classify(x)) >= 0.99
