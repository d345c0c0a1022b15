"""The embedded model's world: a library of synthetic sounds made from formulas (no files, no licences).

Each category renders mono audio from a ``numpy`` random generator, so ``render(category, seed)``
gives a different variation (tempo, key, pitch, timing...) per seed and the same one on every run.
``prompt_for`` writes a text prompt for a category from the embedded tokenizer's words. The
training script (``scripts/train_embedded_model.py``), the benchmark (``bench/model.py``) and
the reference clips (``hw4/clips.py``) all draw from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

SAMPLE_RATE = 44100
SAMPLES = 128 * 2048  # one latent of 128 frames, about 5.9 s

Synth = Callable[[np.random.Generator, np.ndarray], np.ndarray]


def _midi_hz(note: np.ndarray | float) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(note, dtype=np.float64) - 69) / 12)


def _tone(freq: np.ndarray | float, t: np.ndarray, harmonics: tuple[float, ...] = (1.0,)) -> np.ndarray:
    """A sum of harmonics of ``freq`` (constant or per sample) with phase accumulated over ``t``."""
    freq = np.broadcast_to(np.asarray(freq, dtype=np.float64), t.shape)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    return np.asarray(sum(a * np.sin((k + 1) * phase) for k, a in enumerate(harmonics) if a))  # same sums, one type


def _filtered_noise(rng: np.random.Generator, n: int, low_hz: float, high_hz: float, tilt: float = 0.0) -> np.ndarray:
    """White noise kept between ``low_hz`` and ``high_hz`` (FFT mask), ``tilt`` dB per octave, unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    gain = ((freqs >= low_hz) & (freqs <= high_hz)) * (np.maximum(freqs, 20.0) / 1000.0) ** (tilt / 6.02)
    out = np.fft.irfft(spec * gain, n)
    return out / (out.std() + 1e-12)


def _place(out: np.ndarray, sound: np.ndarray, start: int) -> None:
    """Add ``sound`` into ``out`` from sample ``start``, cut at the end."""
    if 0 <= start < len(out):
        end = min(len(out), start + len(sound))
        out[start:end] += sound[: end - start]


def _decay(seconds: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return t, np.exp(-t / tau)


def drums(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A kick / snare / hi-hat loop at 90-140 bpm."""
    bpm = rng.choice([90, 100, 110, 120, 128, 140])
    beat = 60.0 / bpm
    out = np.zeros_like(t)
    k_t, k_env = _decay(0.5, 0.12)
    kick = _tone(45 + 110 * np.exp(-k_t / 0.03), k_t) * k_env
    s_t, s_env = _decay(0.3, 0.06)
    snare = (0.6 * _filtered_noise(rng, len(s_t), 1000, 9000) + 0.5 * _tone(190.0, s_t)) * s_env
    h_t, h_env = _decay(0.1, 0.015 + 0.02 * rng.random())
    hat = _filtered_noise(rng, len(h_t), 7000, 16000) * h_env
    offset = rng.uniform(0, beat)
    n_beats = int(t[-1] / beat) + 2
    for b in range(n_beats):
        start = int((offset + b * beat - beat) * SAMPLE_RATE)
        _place(out, 0.9 * kick, start)
        if b % 2:
            _place(out, 0.5 * snare, start)
        _place(out, 0.25 * hat, start + int(beat / 2 * SAMPLE_RATE))
        if rng.random() < 0.3:
            _place(out, 0.6 * kick, start + int(beat * 0.75 * SAMPLE_RATE))
    return out


def _chord_notes(rng: np.random.Generator, low: int, high: int) -> list[list[int]]:
    """A progression of 2-4 triads (major or minor) with roots between midi ``low`` and ``high``."""
    root = int(rng.integers(low, high))
    steps = np.asarray(rng.choice([[0, 5, 7, 0], [0, 9, 5, 7], [0, 7, 9, 5], [0, 3, 8, 10]]))
    chords = []
    for step in steps[: int(rng.integers(2, 5))]:
        third = 3 if rng.random() < 0.4 else 4
        base = root + int(step)
        chords.append([base, base + third, base + 7, base + 12])
    return chords


def piano(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Struck, decaying piano-like chords in a random key, one chord every 0.7-1.5 s."""
    period = rng.uniform(0.7, 1.5)
    out = np.zeros_like(t)
    n_t, _ = _decay(3.0, 1.0)
    chords = _chord_notes(rng, 48, 60)
    for i in range(int(t[-1] / period) + 1):
        notes = chords[i % len(chords)]
        start = int((i * period + rng.uniform(0, 0.03)) * SAMPLE_RATE)
        for j, note in enumerate(notes):
            f = float(_midi_hz(note))
            env = np.exp(-n_t / rng.uniform(0.5, 1.2)) * np.minimum(1.0, n_t / 0.003)
            _place(out, 0.2 * _tone(f, n_t, (1.0, 0.45, 0.2, 0.1, 0.05)) * env, start + j * int(rng.uniform(0, 0.02) * SAMPLE_RATE))
    return out


def bass(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A sub-bass arpeggio (square-ish, 30-110 Hz) in eighths or sixteenths."""
    step = rng.choice([0.125, 0.1875, 0.25])
    root = int(rng.integers(28, 40))
    pattern = np.array(rng.choice([[0, 3, 7, 10], [0, 7, 12, 7], [0, 4, 7, 12], [0, 5, 7, 3]]))
    index = (np.floor(t / step).astype(int)) % len(pattern)
    freq = _midi_hz(root + pattern[index])
    env = np.exp(-np.remainder(t, step) / rng.uniform(0.08, 0.3))
    return 0.5 * _tone(freq, t, (1.0, 0.0, 0.33, 0.0, 0.2)) * env


def sweep(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Synth sweeps rising (or falling) between about 100 Hz and 5 kHz, 1.5-6 s each."""
    period = rng.choice([1.5, 2.0, 3.0, 6.0])
    low, high = rng.uniform(80, 300), rng.uniform(1500, 5000)
    position = np.remainder(t, period) / period
    if rng.random() < 0.25:
        position = 1.0 - position
    freq = low * (high / low) ** position
    return 0.4 * _tone(freq, t, (1.0, 0.3, 0.1))


def bells(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Inharmonic bell strikes (partials 1, 2.76, 5.4, 8.93) at 400-1300 Hz every 0.5-1.2 s."""
    period = rng.uniform(0.5, 1.2)
    out = np.zeros_like(t)
    b_t, _ = _decay(2.5, 1.0)
    pitches = _midi_hz(rng.integers(67, 88, size=4))
    for i in range(int(t[-1] / period) + 1):
        f = pitches[i % 4]
        tau = rng.uniform(0.5, 1.2)
        sound = sum(a * np.sin(2 * np.pi * f * r * b_t) * np.exp(-b_t * r / (tau * 2))
                    for r, a in ((1.0, 1.0), (2.76, 0.5), (5.4, 0.25), (8.93, 0.12)))
        _place(out, 0.3 * sound, int(i * period * SAMPLE_RATE))
    return out


def rain(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Broadband hiss with a slow swell and random droplets."""
    out = 0.15 * _filtered_noise(rng, len(t), 300, 12000, tilt=-2.0) * (0.8 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t))
    d_t, d_env = _decay(0.02, 0.004)
    for _ in range(int(rng.uniform(20, 60) * t[-1])):
        f = rng.uniform(1500, 6000)
        _place(out, rng.uniform(0.05, 0.2) * np.sin(2 * np.pi * f * d_t) * d_env, int(rng.integers(0, len(t))))
    return out


def pad(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A sustained, detuned synth chord that swells in slowly."""
    notes = _chord_notes(rng, 45, 57)[0][:3]
    out = np.zeros_like(t)
    for note in notes:
        for detune in (-0.08, 0.0, 0.08):
            out += _tone(float(_midi_hz(note + detune)), t + rng.uniform(0, 1), (1.0, 0.5, 0.3, 0.2, 0.1))
    swell = np.minimum(1.0, t / rng.uniform(0.5, 2.0)) * (0.85 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t))
    return 0.06 * out * swell


def wind(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Gusting low wind noise with one or two rumbles of thunder."""
    gust = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t + rng.uniform(0, 6.3))
    out = 0.25 * _filtered_noise(rng, len(t), 80, 1200, tilt=-3.0) * gust
    r_t, r_env = _decay(2.5, 0.7)
    rumble = _filtered_noise(rng, len(r_t), 25, 150) * r_env * np.minimum(1.0, r_t / 0.05)
    for _ in range(int(rng.integers(1, 3))):
        _place(out, 0.5 * rumble, int(rng.uniform(0, max(t[-1] - 1, 0.0)) * SAMPLE_RATE))
    return out


def lead(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A bright lead melody (pentatonic, 300-1100 Hz, sawtooth-like with vibrato)."""
    step = rng.choice([0.2, 0.25, 0.33])
    root = int(rng.integers(64, 74))
    scale = np.array([0, 2, 4, 7, 9, 12, 14])
    melody = root + scale[rng.integers(0, len(scale), size=int(t[-1] / step) + 2)]
    freq = _midi_hz(melody[np.floor(t / step).astype(int)]) * (1 + 0.006 * np.sin(2 * np.pi * 5.5 * t))
    env = np.minimum(1.0, np.remainder(t, step) / 0.01) * np.exp(-np.remainder(t, step) / 0.6)
    return 0.2 * _tone(freq, t, tuple(1.0 / k for k in range(1, 8))) * env


CATEGORIES: dict[str, Synth] = {
    "drums": drums,
    "piano": piano,
    "bass": bass,
    "sweep": sweep,
    "bells": bells,
    "rain": rain,
    "pad": pad,
    "wind": wind,
    "lead": lead,
}

# Words that name each category in a prompt (all in the embedded tokenizer's vocabulary).
NOUNS: dict[str, tuple[str, ...]] = {
    "drums": ("drums", "drum loop", "kick and snare", "techno beat", "drum beat", "kick and hihat", "snare roll"),
    "piano": ("piano chords", "piano", "piano melody", "keys", "jazz piano chords"),
    "bass": ("bass", "bassline", "sub bass arpeggio", "bass arpeggio", "distorted bass"),
    "sweep": ("sweep", "rising synth sweep", "riser", "synth sweep", "falling sweep"),
    "bells": ("bells", "bell", "chimes", "bells melody"),
    "rain": ("rain", "rain on a roof", "rain in a forest", "water drops"),
    "pad": ("pad", "synth pads", "ambient pad", "pads", "strings pad"),
    "wind": ("wind", "thunder and wind", "howling wind", "thunder", "storm"),
    "lead": ("lead", "guitar lead", "synth lead", "electric guitar lead", "melody lead"),
}
ADJECTIVES = ("", "", "warm", "bright", "dark", "calm", "soft", "heavy", "dreamy", "mellow", "epic", "gentle",
              "deep", "crisp", "slow", "fast", "ambient", "cinematic", "lofi", "electronic")
SUFFIXES = ("", "", "", "with reverb", "in the distance", "loop", "120 bpm", "close up", "with soft reverb")


def render(category: str, seed: int, samples: int = SAMPLES) -> np.ndarray:
    """Mono float32 audio of one variation (``seed``) of ``category``, peak at most 0.9."""
    if category not in CATEGORIES:
        raise KeyError(f"Unknown sound category {category!r}; choose one of {', '.join(CATEGORIES)}.")
    rng = np.random.default_rng([seed, list(CATEGORIES).index(category)])
    t = np.arange(samples) / SAMPLE_RATE
    audio = CATEGORIES[category](rng, t)
    peak = np.abs(audio).max()
    if peak > 0.9:
        audio = audio * (0.9 / peak)
    return audio.astype(np.float32)


def prompt_for(category: str, rng: np.random.Generator) -> str:
    """A random prompt that names ``category``: an optional adjective, a noun phrase, an optional suffix."""
    words = [rng.choice(ADJECTIVES), rng.choice(NOUNS[category]), rng.choice(SUFFIXES)]
    return " ".join(w for w in words if w)


CATEGORY_WORDS: dict[str, frozenset[str]] = {
    "drums": frozenset({"drums", "drum", "kick", "snare", "beat", "hihat", "hi-hat", "techno", "percussion"}),
    "piano": frozenset({"piano", "keys", "chords", "chord"}),
    "bass": frozenset({"bass", "bassline", "arpeggio"}),
    "sweep": frozenset({"sweep", "riser", "rising", "falling"}),
    "bells": frozenset({"bells", "bell", "chimes"}),
    "rain": frozenset({"rain", "water", "drops"}),
    "pad": frozenset({"pad", "pads"}),
    "wind": frozenset({"wind", "thunder", "storm"}),
    "lead": frozenset({"lead", "guitar"}),
}


def category_of(prompt: str) -> str | None:
    """The category named by the first category word of ``prompt``, or None."""
    for token in prompt.lower().split():
        for category, words in CATEGORY_WORDS.items():
            if token.strip(".,!?") in words:
                return category
    return None


def library_latents(codec: Any, seeds: Iterable[int], categories: Iterable[str] = tuple(CATEGORIES)) -> tuple[Any, list[str]]:
    """Codec latents ``[n, 64, 128]`` of every (category, seed) variation, with each one's category."""
    import torch

    seeds = list(seeds)
    latents, labels = [], []
    for category in categories:
        mono = torch.from_numpy(np.stack([render(category, seed) for seed in seeds]))[:, None]
        with torch.no_grad():
            latents.append(codec.encode(mono.expand(-1, 2, -1)))
        labels += [category] * len(seeds)
    return torch.cat(latents), labels
