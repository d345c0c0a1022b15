"""Benchmark of the embedded model: what it can and cannot do, on clips and seeds it never trained on.

    python bench/model.py [--seeds 20] [--steps 50]

Prints one table (figure, value, target) and writes it to ``bench/results/model-latest.md``.
The homework's own solution functions (``solutions/homework4.py``) do the sampling, so the
figures describe what a student hears after solving each question. Rows:

- codec: decode-then-encode error (mean absolute ln band energy) on held-out library clips and on the
  reference clips; decoding time for 5.9 s; the reference clips' largest pairwise latent correlation.
- prompt adherence: a nearest-centroid classifier of time-averaged spectra, fitted on held-out library clips,
  names the category of text-to-audio generations (``--seeds`` per category, prompts it never trained on)
  at guidance 7 and at guidance 1.
- inpainting: each reference clip regenerated in a window (``GAPS``, taken in turn) with a prompt of every other
  category: largest latent error outside the mask, share of gaps recognised as the prompt's category, and how
  loud (RMS) the decoded gap is against the kept frames around it (with Q4's gaps whose reference is pinned on at
  least ``PINNED_PAINT_END`` of the 50 steps).
- loudness: share of decoded samples beyond 0.99 over every generation above (text-to-audio and inpainting), and
  how loud (RMS) text-to-audio generations are against held-out library clips of their prompt's category, at
  guidance 1 and 7 (where a gap's loudness comes from: the prompted category's own level, and the model's overshoot).
- variable inpainting (Q4): kept-frame correlation with the reference against the paint window's end.
- style transfer: mean latent correlation with the reference at strengths 0.1-0.9 (should rise).
- speed: one guided denoiser call (batch 2 under guidance, 128 frames, one thread).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw4 import sounds  # noqa: E402
from hw4.answers import bind_globals  # noqa: E402
from hw4.clips import CLIPS, clip_latent  # noqa: E402
from hw4.codec import latent_to_log_energy  # noqa: E402
from hw4.model import load_model  # noqa: E402
from hw4.sampling import conditioning_args, get_sigmas, initial_noise, make_denoiser, seconds_of  # noqa: E402
from solutions import homework4 as solution  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CLASSIFIER_SEEDS = range(3000, 3030)
CODEC_SEEDS = range(2000, 2004)
GENERATION_SEED = 5000
PROMPT_SEED = 77
GAP = (40, 88)  # the Q4 window
GAPS = ((40, 88), (16, 48), (72, 120), (8, 104))  # inpainting windows, one after another across prompts
PINNED_PAINT_END = 40  # Q4 gaps count in the loudness rows when the reference is pinned on at least this many steps
STRENGTHS = (0.1, 0.3, 0.5, 0.7, 0.9)
PAINT_ENDS = (10, 20, 30, 40, 45, 50)
CLIPPED = 0.99


class Loudness:
    """Decodes generations and keeps the figures of issue 19: clipped samples, gap against kept loudness, and
    text-to-audio loudness against the library's clips of the same category."""

    def __init__(self, model: torch.nn.Module, library: torch.Tensor, labels: list[str]) -> None:
        self.codec, self.clipped, self.samples, self.ratios = model.pretransform, 0, 0, []
        with torch.no_grad():
            rms = [float(r) for chunk in library.split(16) for r in self.codec.decode(chunk)[:, 0].double().pow(2).mean(1).sqrt()]
        self.library = {c: statistics.median(r for r, label in zip(rms, labels) if label == c) for c in set(labels)}
        self.generated: dict[float, dict[str, list[float]]] = {}

    def decode(self, latents: torch.Tensor, clipped: bool = True) -> torch.Tensor:
        with torch.no_grad():
            audio = self.codec.decode(latents)[:, 0].double()
        if clipped:
            self.clipped += int((audio.abs() > CLIPPED).sum())
            self.samples += audio.numel()
        return audio

    def generation(self, latents: torch.Tensor, category: str, cfg_scale: float) -> None:
        """A text-to-audio batch for ``category``: its RMS, kept against the library's; its clipping counted once."""
        audio = self.decode(latents, clipped=cfg_scale == 7.0)
        rms = audio.pow(2).mean(1).sqrt().tolist()
        self.generated.setdefault(cfg_scale, {}).setdefault(category, []).extend(rms)

    def gap(self, latents: torch.Tensor, start: int, end: int) -> None:
        audio = self.decode(latents)
        hop = self.codec.downsampling_ratio
        inside = audio[:, start * hop:end * hop]
        outside = torch.cat([audio[:, :start * hop], audio[:, end * hop:]], dim=1)
        self.ratios += (inside.pow(2).mean(1).sqrt() / outside.pow(2).mean(1).sqrt()).tolist()

    def rows(self) -> list[tuple[str, str, str, bool]]:
        share = self.clipped / max(self.samples, 1)
        ratios = sorted(self.ratios)
        inside = sum(0.5 <= r <= 2 for r in ratios) / max(len(ratios), 1)
        level = self.library
        over = {cfg: {c: statistics.median(r) / level[c] for c, r in sorted(found.items())}
                for cfg, found in sorted(self.generated.items())}
        return [
            ("loudness: library clips' RMS per category, quietest-loudest (" + ", ".join(
                f"{c} {v:.2f}" for c, v in sorted(level.items(), key=lambda i: i[1])) + ")",
             f"{min(level.values()):.2f}-{max(level.values()):.2f}", "", True),
            *((f"loudness: text-to-audio RMS / library RMS of the category at guidance {cfg:g}, median [min-max] ("
               + ", ".join(f"{c} {v:.1f}" for c, v in ratio.items()) + ")",
               f"{statistics.median(ratio.values()):.2f} [{min(ratio.values()):.2f}-{max(ratio.values()):.2f}]", "", True)
              for cfg, ratio in over.items()),
            (f"loudness: decoded samples beyond ±{CLIPPED} ({self.samples / 44100 / 60:.0f} min of generations)",
             f"{share:.2%}", "<= 1 %", share <= 0.01),
            (f"inpainting: gap/kept loudness (RMS), median [min-max] over {len(ratios)} gaps",
             f"{statistics.median(ratios):.2f} [{ratios[0]:.2f}-{ratios[-1]:.2f}]", "0.5-2", 0.5 <= ratios[0] and ratios[-1] <= 2),
            ("inpainting: share of gaps with loudness ratio within 0.5-2", f"{inside:.0%}", "100 %", inside == 1),
        ]


def features(latent: torch.Tensor) -> np.ndarray:
    """The time-averaged spectrum: each channel's mean over frames, ``[batch, 64]``.

    (Not its spread over time: the model's generations flicker more from frame to frame than the library.)"""
    return latent.mean(-1).double().numpy()


class Classifier:
    """Nearest centroid on standardised latent features, fitted on whole clips and on their halves."""

    def __init__(self, latents: torch.Tensor, labels: list[str]) -> None:
        half = latents.shape[-1] // 2
        crops = [latents, latents[..., :half], latents[..., half:]]
        x = np.concatenate([features(c) for c in crops])
        y = np.array(labels * len(crops))
        self.mean, self.std = x.mean(0), x.std(0) + 1e-6
        self.names = sorted(set(labels))
        self.centroids = np.stack([((x[y == n] - self.mean) / self.std).mean(0) for n in self.names])

    def __call__(self, latent: torch.Tensor) -> list[str]:
        z = (features(latent) - self.mean) / self.std
        distance = ((z[:, None] - self.centroids[None]) ** 2).sum(-1)
        return [self.names[i] for i in distance.argmin(1)]


def batch_args(model: torch.nn.Module, prompt: str, batch: int, cfg_scale: float) -> dict:
    """``conditioning_args`` for ``prompt`` repeated over a batch."""
    args = conditioning_args(model, prompt, seconds_of(model), cfg_scale=cfg_scale)
    return {k: v.repeat(batch, *[1] * (v.ndim - 1)) if torch.is_tensor(v) else v for k, v in args.items()}


def noise(seeds: range, sigma: float) -> torch.Tensor:
    return torch.cat([initial_noise(s, sigma=sigma) for s in seeds])


def codec_rows(model: torch.nn.Module) -> list[tuple[str, str, str, bool]]:
    codec = model.pretransform
    held_out, _ = sounds.library_latents(codec, CODEC_SEEDS)
    references = torch.cat([clip_latent(model, name) for name in CLIPS])
    with torch.no_grad():
        error = lambda z: float((latent_to_log_energy(codec.encode(codec.decode(z))) - latent_to_log_energy(z)).abs().mean())  # noqa: E731
        library_error, reference_error = error(held_out), error(references)
        torch.set_num_threads(1)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            codec.decode(references[:1])
            times.append(time.perf_counter() - start)
    corr = np.corrcoef(references.flatten(1).numpy())
    pairwise = float(np.max(corr[~np.eye(len(CLIPS), dtype=bool)]))
    return [
        ("codec: decode->encode error, held-out library clips (mean abs ln energy)", f"{library_error:.3f}", "<= 0.3", library_error <= 0.3),
        ("codec: decode->encode error, the six reference clips", f"{reference_error:.3f}", "<= 0.3", reference_error <= 0.3),
        ("codec: largest pairwise correlation of the reference clips' latents", f"{pairwise:.2f}", "<= 0.8", pairwise <= 0.8),
        ("codec: decoding 5.9 s of audio, one thread", f"{statistics.median(times) * 1000:.0f} ms", "<= 300 ms", statistics.median(times) <= 0.3),
    ]


def adherence_rows(model, classify, seeds_per_category: int, steps: int, loudness: Loudness) -> list[tuple[str, str, str, bool]]:
    denoiser, sigmas = make_denoiser(model), get_sigmas(steps)
    rng = np.random.default_rng(PROMPT_SEED)
    prompts_per_category = 4
    per_prompt = -(-seeds_per_category // prompts_per_category)
    hits = {7.0: 0, 1.0: 0}
    total = 0
    confusion: dict[str, dict[str, int]] = {}
    flickers: list[float] = []
    for category in sounds.CATEGORIES:
        for _ in range(prompts_per_category):
            prompt = sounds.prompt_for(category, rng)
            seeds = range(GENERATION_SEED + total, GENERATION_SEED + total + per_prompt)
            for cfg in hits:
                with torch.no_grad():
                    out = solution.simple_sample(denoiser, noise(seeds, float(sigmas[0])), sigmas,
                                                 batch_args(model, prompt, len(seeds), cfg))
                named = classify(out)
                loudness.generation(out, category, cfg)
                if cfg == 7.0:
                    flickers.append(float(out.std(-1).mean()))
                hits[cfg] += sum(n == category for n in named)
                if cfg == 7.0:
                    row = confusion.setdefault(category, {})
                    for n in named:
                        row[n] = row.get(n, 0) + 1
            total += per_prompt
    acc7, acc1 = hits[7.0] / total, hits[1.0] / total
    flicker = statistics.mean(flickers)
    worst = min(confusion, key=lambda c: confusion[c].get(c, 0))
    return [
        (f"prompt adherence at guidance 7 ({total} generations, {len(sounds.CATEGORIES)} categories, chance "
         f"{100 / len(sounds.CATEGORIES):.1f} %)", f"{acc7:.0%}", ">= 80 %", acc7 >= 0.8),
        ("prompt adherence at guidance 1", f"{acc1:.0%}", "< guidance 7", acc1 < acc7),
        ("generations' frame-to-frame spread (mean std over time; library clips 0.1-0.6)", f"{flicker:.2f}", "", True),
        (f"  weakest category at guidance 7: {worst}", f"{confusion[worst].get(worst, 0)}/{sum(confusion[worst].values())}",
         "", True),
    ]


def inpaint_rows(model, classify, steps: int, loudness: Loudness, seeds: int = 2) -> list[tuple[str, str, str, bool]]:
    denoiser, sigmas = make_denoiser(model), get_sigmas(steps)
    rng = np.random.default_rng(PROMPT_SEED + 1)
    recognised, total, outside = 0, 0, 0.0
    for clip, own in CLIPS.items():
        reference = clip_latent(model, clip)
        for category in sounds.CATEGORIES:
            if category == own:
                continue
            start, end = GAPS[total // seeds % len(GAPS)]
            mask = torch.zeros_like(reference)
            mask[..., start:end] = 1
            seed_range = range(GENERATION_SEED + 1000 + total, GENERATION_SEED + 1000 + total + seeds)
            torch.manual_seed(seed_range[0])
            with torch.no_grad():
                out = solution.simple_sample_inpaint(denoiser, noise(seed_range, float(sigmas[0])), sigmas,
                                                     reference.expand(seeds, -1, -1), mask.expand(seeds, -1, -1),
                                                     batch_args(model, sounds.prompt_for(category, rng), seeds, 7.0))
            outside = max(outside, float(((latent_to_log_energy(out) - latent_to_log_energy(reference)) * (1 - mask)).abs().max()))
            recognised += sum(n == category for n in classify(out[..., start:end]))
            loudness.gap(out, start, end)
            total += seeds
    share = recognised / total
    return [
        ("inpainting: largest ln-energy error outside the mask", f"{outside:.2g}", "<= 0.01", outside <= 0.01),
        (f"inpainting: gap recognised as the prompt's category ({total} gaps)", f"{share:.0%}", ">= 70 %", share >= 0.7),
    ]


def style_rows(model, steps: int, seeds: int = 3) -> list[tuple[str, str, str, bool]]:
    denoiser, sigmas = make_denoiser(model), get_sigmas(steps)
    rng = np.random.default_rng(PROMPT_SEED + 2)
    similarity = {s: [] for s in STRENGTHS}
    for clip, own in CLIPS.items():
        reference = clip_latent(model, clip).expand(seeds, -1, -1)
        others = [c for c in sounds.CATEGORIES if c != own]
        prompt = sounds.prompt_for(others[int(rng.integers(len(others)))], rng)
        for strength in STRENGTHS:
            torch.manual_seed(GENERATION_SEED + 2000)
            with torch.no_grad():
                out = solution.simple_sample_style_transfer(denoiser, sigmas, reference,
                                                            batch_args(model, prompt, seeds, 7.0), strength)
            for a, b in zip(out, reference):
                similarity[strength].append(float(np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1]))
    means = [statistics.mean(similarity[s]) for s in STRENGTHS]
    monotone = all(b >= a for a, b in zip(means, means[1:]))
    return [("style transfer: correlation with the reference at strength " + ", ".join(map(str, STRENGTHS)),
             " ".join(f"{m:.2f}" for m in means), "rising", monotone)]


def variable_inpaint_rows(model, steps: int, loudness: Loudness) -> list[tuple[str, str, str, bool]]:
    """Q4: how much of the reference the kept frames keep, against the step at which pinning stops."""
    denoiser, sigmas = make_denoiser(model), get_sigmas(steps)
    rng = np.random.default_rng(PROMPT_SEED + 3)
    similarity: dict[int, list[float]] = {end: [] for end in PAINT_ENDS}
    for number, (clip, own) in enumerate(CLIPS.items()):
        reference = clip_latent(model, clip)
        mask = torch.zeros_like(reference)
        mask[..., GAP[0]:GAP[1]] = 1
        others = [c for c in sounds.CATEGORIES if c != own]
        args = batch_args(model, sounds.prompt_for(others[int(rng.integers(len(others)))], rng), 1, 7.0)
        x = initial_noise(GENERATION_SEED + 3000 + number, sigma=float(sigmas[0]))
        keep = mask[0, 0] == 0
        for end in PAINT_ENDS:
            torch.manual_seed(GENERATION_SEED + 3000 + number)
            with torch.no_grad():
                out = solution.simple_sample_variable_inpaint(denoiser, x, sigmas, reference, mask, args, paint_end=end)
            similarity[end].append(float(np.corrcoef(out[..., keep].flatten().numpy(),
                                                     reference[..., keep].flatten().numpy())[0, 1]))
            if end >= PINNED_PAINT_END:
                loudness.gap(out, *GAP)
    means = [statistics.mean(similarity[end]) for end in PAINT_ENDS]
    rising = all(b >= a for a, b in zip(means, means[1:])) and means[-1] > means[0]
    return [("variable inpainting: kept-frame correlation at paint_end " + ", ".join(map(str, PAINT_ENDS)),
             " ".join(f"{m:.2f}" for m in means), "rising", rising)]


def speed_rows(model) -> list[tuple[str, str, str, bool]]:
    torch.set_num_threads(1)
    denoiser = make_denoiser(model)
    x = initial_noise(0) / 50
    args = conditioning_args(model, "warm ambient pad", seconds_of(model))
    sigma = torch.tensor([10.0])
    times = []
    with torch.no_grad():
        for i in range(60):
            start = time.perf_counter()
            denoiser(x, sigma, **args)
            if i >= 10:
                times.append(time.perf_counter() - start)
    ms = statistics.median(times) * 1000
    return [("one guided denoiser call (batch 2 under guidance, 128 frames, one thread)", f"{ms:.1f} ms", "<= 10 ms", ms <= 10)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="generations per category for prompt adherence")
    parser.add_argument("--steps", type=int, default=50, help="sampling steps (the graded cases use 50)")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    model, _ = load_model("embedded")
    bind_globals(solution, model)
    started = time.time()
    library, labels = sounds.library_latents(model.pretransform, CLASSIFIER_SEEDS)
    classify = Classifier(library, labels)
    rows = speed_rows(model) + codec_rows(model)
    torch.set_num_threads(2)
    loudness = Loudness(model, library, labels)
    rows += adherence_rows(model, classify, args.seeds, args.steps, loudness)
    rows += inpaint_rows(model, classify, args.steps, loudness)
    rows += variable_inpaint_rows(model, args.steps, loudness)
    rows += loudness.rows()
    rows += style_rows(model, args.steps)
    table = ["| figure | value | target | met |", "|---|---|---|---|"]
    table += [f"| {name} | {value} | {target} | {'yes' if ok or not target else 'NO'} |" for name, value, target, ok in rows]
    header = (f"# Embedded model benchmark ({dt.date.today()}, {model.hw4_model_id}, {args.steps} steps, "
              f"{time.time() - started:.0f} s)\n\n")
    text = header + "\n".join(table) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "model-latest.md").write_text(text)
    return 0 if all(ok for _, _, _, ok in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
