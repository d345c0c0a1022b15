"""The solutions with catalogue knobs turned: each entry of ``hw4.catalogue`` as code.

Entries of one function are knobs of one family (``euler``, ``frames_mask``, ``inpaint``, ``style``),
so any combination of them is the family with all their knobs turned: accepted variants compose with
each other and with mistakes. ``implementation(names)`` builds such a module; the grader's diagnosis
(``autograder.mistakes``) and the self-check data (``solutions.build``) both run it, so ``check()``
judges like the grader.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import torch
from k_diffusion.sampling import sample_euler
from k_diffusion.utils import append_dims

from hw4.catalogue import BY_NAME
from hw4.questions import HOMEWORK

from . import fresh_solutions

# -- families: each is the solution's function with knobs; every knob off is the solution itself ----------

def derivative(mod: types.ModuleType, sign_flipped: bool = False, sigma_squared: bool = False) -> Callable:
    """``to_d`` with its sign or its power of sigma wrong."""
    def to_d(x, sigma, denoised):
        sigma = append_dims(torch.as_tensor(sigma, dtype=x.dtype), x.ndim)
        d = (denoised - x if sign_flipped else x - denoised) / sigma
        return d / sigma if sigma_squared else d
    return to_d


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
    """``simple_sample_variable_inpaint`` with knobs turned; with the default window it is also Q3's sampler."""
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


def inpaint_q3(mod: types.ModuleType, **knobs: Any) -> Callable:
    """Q3's signature (no window arguments) over ``inpaint``."""
    fn = inpaint(mod, **knobs)

    def simple_sample_inpaint(model, x, sigmas, reference, mask, extra_args=None):
        return fn(model, x, sigmas, reference, mask, extra_args)
    return simple_sample_inpaint


def style(mod: types.ModuleType, reversed_strength: bool = False, noise: str = "k",
          rounding: Callable[[float], int] = int, index_from_length: bool = False) -> Callable:
    """``simple_sample_style_transfer`` with the strength mapping or the starting noise level wrong."""
    def simple_sample_style_transfer(model, sigmas, reference, extra_args=None, transfer_strength=0):
        strength = 1 - transfer_strength if reversed_strength else transfer_strength
        k = rounding(strength * (len(sigmas) if index_from_length else len(sigmas) - 1))
        sigma = {"k": sigmas[k], "max": sigmas[0], "none": 0.0}[noise]
        x = reference + torch.randn_like(reference) * sigma
        return mod.simple_sample(model, x, sigmas[k:], extra_args)
    return simple_sample_style_transfer


FAMILIES: dict[str, Callable[..., Callable]] = {
    "to_d": derivative, "simple_sample": euler, "generate_inpainting_mask": frames_mask,
    "simple_sample_inpaint": inpaint_q3, "simple_sample_variable_inpaint": inpaint,
    "simple_sample_style_transfer": style,
}

# Each catalogue entry: the knobs it turns in its question's function.
KNOBS: dict[str, dict] = {
    "to_d_sign_flipped": {"sign_flipped": True},
    "to_d_sigma_squared": {"sigma_squared": True},
    "step_reversed": {"reverse_step": True},
    "extra_args_dropped": {"drop_extra_args": True},
    "last_step_skipped": {"skip_last": True},
    "mask_inverted": {"invert": True},
    "mask_in_seconds": {"unit": "seconds"},
    "mask_in_samples": {"unit": "samples"},
    "mask_rounded": {"rounding": round},
    "reference_noised_to_current_sigma": {"noise_at": "current"},
    "reference_not_noised": {"noise_at": "none"},
    "replacement_before_step": {"replace_first": True},
    "blend_mask_swapped": {"swap_mask": True},
    "paint_end_inclusive": {"end_inclusive": True},
    "paint_window_ignored": {"ignore_window": True},
    "strength_reversed": {"reversed_strength": True},
    "strength_rounded": {"rounding": round},
    "strength_index_from_length": {"index_from_length": True},
    "style_without_noise": {"noise": "none"},
    "style_noised_to_sigma_max": {"noise": "max"},
    "noise_drawn_every_step": {"noise_every_step": True},
    "k_diffusion_euler_q3": {"k_euler": True},
    "k_diffusion_euler_q4": {"k_euler": True},
}


def implementation(names: tuple[str, ...]) -> types.ModuleType:
    """A fresh copy of the solutions with the knobs of every named entry turned (entries of one function merge)."""
    module = fresh_solutions()
    knobs: dict[str, dict] = {}
    for name in names:
        function = HOMEWORK[BY_NAME[name].question].function
        knobs.setdefault(function, {}).update(KNOBS[name])
    for function, turned in knobs.items():
        setattr(module, function, FAMILIES[function](module, **turned))
    return module
