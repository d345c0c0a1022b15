"""Catalogue of common mistakes (and accepted variants), each a copy of the solutions with one change.

The grader runs an entry on a question a student got wrong: when the student's answers
match a mistake, the feedback names it. A mistake in ``to_d``/``simple_sample`` also
changes Q3-Q5 (they call them); the grader then gives credit on those questions when
they are right *given* that mistake. Variants are correct readings of the handout that
only draw random numbers in another order; they earn full credit.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass

import torch
from k_diffusion.sampling import sample_euler
from k_diffusion.utils import append_dims

from .references import SOLUTIONS_FILE


@dataclass(frozen=True)
class Entry:
    """One mutated implementation: which question it belongs to and what to tell the student."""

    name: str
    question: str
    feedback: str
    build: Callable[[types.ModuleType], dict[str, Callable]]
    accepted: bool = False

    def implementation(self) -> types.ModuleType:
        """A fresh copy of the solutions module with this entry's functions swapped in."""
        module = fresh_solutions()
        for name, fn in self.build(module).items():
            setattr(module, name, fn)
        return module


def fresh_solutions() -> types.ModuleType:
    """A new, independent module made from the solutions' source (so overrides never leak)."""
    module = types.ModuleType("solutions_copy")
    module.__file__ = str(SOLUTIONS_FILE)
    exec(compile(SOLUTIONS_FILE.read_text(), module.__file__, "exec"), module.__dict__)
    return module


# -- knobs: each family of mistakes is the solution's loop with one thing changed --------------------------

def euler(mod: types.ModuleType, reverse_step: bool = False, drop_extra_args: bool = False,
          skip_last: bool = False) -> Callable:
    """``simple_sample`` with one of its three usual slips."""
    def simple_sample(model, x, sigmas, extra_args=None):
        extra_args = {} if extra_args is None or drop_extra_args else extra_args
        s_in = x.new_ones([x.shape[0]])
        for i in range(len(sigmas) - (2 if skip_last else 1)):
            d = mod.to_d(x, sigmas[i], model(x, sigmas[i] * s_in, **extra_args))
            dt = sigmas[i] - sigmas[i + 1] if reverse_step else sigmas[i + 1] - sigmas[i]
            x = x + d * dt
        return x
    return simple_sample


def frames_mask(mod: types.ModuleType, unit: str = "frames", rounding: Callable[[float], int] = int,
                invert: bool = False) -> Callable:
    """``generate_inpainting_mask`` counting time in another unit, rounding, or inverted."""
    def generate_inpainting_mask(reference, mask_start_s, mask_end_s):
        ratio = mod.model.pretransform.downsampling_ratio
        per_second = {"frames": mod.SAMPLE_RATE / ratio, "seconds": 1.0, "samples": mod.SAMPLE_RATE}[unit]
        mask = torch.zeros_like(reference)
        mask[..., rounding(mask_start_s * per_second):rounding(mask_end_s * per_second)] = 1
        return 1 - mask if invert else mask
    return generate_inpainting_mask


def inpaint(mod: types.ModuleType, noise_at: str = "next", replace_first: bool = False, swap_mask: bool = False,
            end_inclusive: bool = False, ignore_window: bool = False, noise_every_step: bool = False,
            k_euler: bool = False) -> Callable:
    """``simple_sample_variable_inpaint`` with one change; with the default window it is also Q3's sampler."""
    def simple_sample_variable_inpaint(model, x, sigmas, reference, mask, extra_args=None,
                                       paint_start=None, paint_end=None):
        extra_args = {} if extra_args is None else extra_args
        start = 0 if paint_start is None else paint_start
        end = len(sigmas) - 1 if paint_end is None else paint_end
        for i in range(len(sigmas) - 1):
            inside = ignore_window or start <= i < end or (end_inclusive and i == end)
            if replace_first and inside:
                x = mask * x + (1 - mask) * (reference + torch.randn_like(reference) * sigmas[i])
            if k_euler:
                x = sample_euler(model, x, sigmas[i:i + 2], extra_args=extra_args, disable=True)
            else:
                x = mod.simple_sample(model, x, sigmas[i:i + 2], extra_args)
            if replace_first:
                continue
            eps = torch.randn_like(reference) if inside or noise_every_step else None
            if inside:
                sigma = {"next": sigmas[i + 1], "current": sigmas[i], "none": 0.0}[noise_at]
                keep = (1 - mask, mask) if swap_mask else (mask, 1 - mask)
                x = keep[0] * x + keep[1] * (reference + eps * sigma)
        return x
    return simple_sample_variable_inpaint


def as_q3(fn: Callable) -> Callable:
    """Q3's signature over a Q4-style sampler (no window arguments)."""
    def simple_sample_inpaint(model, x, sigmas, reference, mask, extra_args=None):
        return fn(model, x, sigmas, reference, mask, extra_args)
    return simple_sample_inpaint


def style(mod: types.ModuleType, reversed_strength: bool = False, noise: str = "k") -> Callable:
    """``simple_sample_style_transfer`` with the strength or the starting noise level wrong."""
    def simple_sample_style_transfer(model, sigmas, reference, extra_args=None, transfer_strength=0):
        strength = 1 - transfer_strength if reversed_strength else transfer_strength
        k = int(strength * (len(sigmas) - 1))
        sigma = {"k": sigmas[k], "max": sigmas[0], "none": 0.0}[noise]
        x = reference + torch.randn_like(reference) * sigma
        return mod.simple_sample(model, x, sigmas[k:], extra_args)
    return simple_sample_style_transfer


CATALOG: tuple[Entry, ...] = (
    Entry("to_d_sign_flipped", "q1_to_d",
          "to_d has its sign flipped: the derivative is (x - denoised) / sigma, pointing from the clean "
          "estimate towards x.",
          lambda m: {"to_d": lambda x, sigma, denoised: (denoised - x) / append_dims(torch.as_tensor(sigma), x.ndim)}),
    Entry("to_d_sigma_squared", "q1_to_d",
          "to_d divides by sigma squared; divide by sigma once (the score times sigma, by Tweedie's formula).",
          lambda m: {"to_d": lambda x, sigma, denoised: (x - denoised) / append_dims(torch.as_tensor(sigma), x.ndim) ** 2}),
    Entry("step_reversed", "q1_sample",
          "The Euler step has the wrong sign: the step size is sigmas[i + 1] - sigmas[i] (negative, since "
          "the noise level goes down).",
          lambda m: {"simple_sample": euler(m, reverse_step=True)}),
    Entry("extra_args_dropped", "q1_sample",
          "The model is called without **extra_args, so the prompt and guidance are ignored: call "
          "model(x, sigmas[i] * s_in, **extra_args).",
          lambda m: {"simple_sample": euler(m, drop_extra_args=True)}),
    Entry("last_step_skipped", "q1_sample",
          "The loop stops one step early: take every step i in range(len(sigmas) - 1), down to the final sigma 0.",
          lambda m: {"simple_sample": euler(m, skip_last=True)}),
    Entry("mask_inverted", "q2_mask",
          "The mask is inverted: it must be 1 on the frames to regenerate (between the two times) and 0 elsewhere.",
          lambda m: {"generate_inpainting_mask": frames_mask(m, invert=True)}),
    Entry("mask_in_seconds", "q2_mask",
          "The mask uses seconds as frame indices: convert with SAMPLE_RATE / model.pretransform.downsampling_ratio "
          "latent frames per second.",
          lambda m: {"generate_inpainting_mask": frames_mask(m, unit="seconds")}),
    Entry("mask_in_samples", "q2_mask",
          "The mask uses audio samples (seconds * SAMPLE_RATE) as indices: the latent has one frame per "
          "downsampling_ratio samples.",
          lambda m: {"generate_inpainting_mask": frames_mask(m, unit="samples")}),
    Entry("mask_rounded", "q2_mask",
          "Frame indices are rounded; the convention is to truncate with int(t * SAMPLE_RATE / downsampling_ratio).",
          lambda m: {"generate_inpainting_mask": frames_mask(m, rounding=round)}),
    Entry("reference_noised_to_current_sigma", "q3_inpaint",
          "The reference is noised to sigmas[i]; after the step, x is at noise level sigmas[i + 1], so noise the "
          "reference to sigmas[i + 1].",
          lambda m: {"simple_sample_inpaint": as_q3(inpaint(m, noise_at="current"))}),
    Entry("reference_not_noised", "q3_inpaint",
          "The clean reference is pasted in without noise; add torch.randn_like(reference) * sigmas[i + 1] "
          "so it matches x's noise level.",
          lambda m: {"simple_sample_inpaint": as_q3(inpaint(m, noise_at="none"))}),
    Entry("replacement_before_step", "q3_inpaint",
          "The reference is pasted in before the Euler update; update x first, then replace the unmasked frames.",
          lambda m: {"simple_sample_inpaint": as_q3(inpaint(m, replace_first=True))}),
    Entry("blend_mask_swapped", "q3_inpaint",
          "The blend uses the mask the wrong way round: keep x where mask == 1 and the noised reference where mask == 0.",
          lambda m: {"simple_sample_inpaint": as_q3(inpaint(m, swap_mask=True))}),
    Entry("paint_end_inclusive", "q4_variable_inpaint",
          "The paint window includes paint_end; paint only on steps paint_start <= i < paint_end.",
          lambda m: {"simple_sample_variable_inpaint": inpaint(m, end_inclusive=True)}),
    Entry("paint_window_ignored", "q4_variable_inpaint",
          "The paint window is ignored (every step is painted); paint only when paint_start <= i < paint_end.",
          lambda m: {"simple_sample_variable_inpaint": inpaint(m, ignore_window=True)}),
    Entry("strength_reversed", "q5_style_transfer",
          "transfer_strength is mapped the wrong way: strength 1 must start at the end of the schedule "
          "(k = int(strength * (len(sigmas) - 1))) and return the reference.",
          lambda m: {"simple_sample_style_transfer": style(m, reversed_strength=True)}),
    Entry("style_without_noise", "q5_style_transfer",
          "The reference is not noised before sampling; start from reference + randn_like(reference) * sigmas[k].",
          lambda m: {"simple_sample_style_transfer": style(m, noise="none")}),
    Entry("style_noised_to_sigma_max", "q5_style_transfer",
          "The reference is noised to sigmas[0] but sampling starts at sigmas[k]; noise it to sigmas[k].",
          lambda m: {"simple_sample_style_transfer": style(m, noise="max")}),
    # Accepted variants: the handout leaves the order of random draws open.
    Entry("noise_drawn_every_step", "q4_variable_inpaint",
          "Accepted: you draw the reference noise on every step and use it only inside the window.",
          lambda m: {"simple_sample_variable_inpaint": inpaint(m, noise_every_step=True)}, accepted=True),
    Entry("k_diffusion_euler_q3", "q3_inpaint",
          "Accepted: your Euler step is k-diffusion's sample_euler, which draws one unused noise tensor per step.",
          lambda m: {"simple_sample_inpaint": as_q3(inpaint(m, k_euler=True))}, accepted=True),
    Entry("k_diffusion_euler_q4", "q4_variable_inpaint",
          "Accepted: your Euler step is k-diffusion's sample_euler, which draws one unused noise tensor per step.",
          lambda m: {"simple_sample_variable_inpaint": inpaint(m, k_euler=True)}, accepted=True),
)

MISTAKES = tuple(e for e in CATALOG if not e.accepted)
VARIANTS = tuple(e for e in CATALOG if e.accepted)


def entries_for(question: str) -> tuple[Entry, ...]:
    """The catalogue entries that belong to ``question``."""
    return tuple(e for e in CATALOG if e.question == question)
