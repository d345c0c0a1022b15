"""The catalogue of known mistakes and accepted variants: names, questions and feedback, nothing executable.

Both judges read it: the grader (``autograder.mistakes`` builds each entry as code from
the solutions) and the notebook's ``check()`` (``hw4.selfcheck`` reads each entry's
answers to the self-check cases from ``hw4/data/selfcheck.pkl``). The feedback names
the mistake without stating the answer, so it can be shown in the notebook too.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class Mistake:
    """One catalogue entry: a named change to one question's function; ``accepted`` entries earn full credit."""

    name: str
    question: str
    feedback: str
    accepted: bool = False


CATALOGUE: tuple[Mistake, ...] = (
    Mistake("to_d_sign_flipped", "q1_to_d",
            "to_d has its sign flipped: the derivative points the wrong way (towards the clean estimate "
            "rather than away from it)."),
    Mistake("to_d_sigma_squared", "q1_to_d",
            "to_d divides by sigma squared; revisit Tweedie's formula: the score times sigma^2 is a difference "
            "of latents, and dx/dsigma is sigma times the score."),
    Mistake("step_reversed", "q1_sample",
            "The Euler step has the wrong sign: sigma goes down along the schedule, so the step in sigma is negative."),
    Mistake("extra_args_dropped", "q1_sample",
            "The model is called without extra_args, so the prompt and guidance are ignored."),
    Mistake("last_step_skipped", "q1_sample",
            "The loop stops one step early: the last step, down to the final sigma of 0, is missing."),
    Mistake("mask_inverted", "q2_mask",
            "The mask is inverted: it must be 1 on the frames to regenerate and 0 on the frames to keep."),
    Mistake("mask_in_seconds", "q2_mask",
            "The mask uses seconds as frame indices; convert seconds to latent frames first."),
    Mistake("mask_in_samples", "q2_mask",
            "The mask uses audio samples as frame indices; one latent frame covers downsampling_ratio samples."),
    Mistake("mask_rounded", "q2_mask",
            "Frame indices are rounded to the nearest frame; the convention truncates towards zero."),
    Mistake("reference_noised_to_current_sigma", "q3_inpaint",
            "The reference is noised to the noise level x had before the step, not the one it has after it."),
    Mistake("reference_not_noised", "q3_inpaint",
            "The clean reference is pasted in without noise, so the kept frames are at another noise level than x."),
    Mistake("replacement_before_step", "q3_inpaint",
            "The reference is pasted in before the Euler step; take the step first, then replace the kept frames."),
    Mistake("blend_mask_swapped", "q3_inpaint",
            "The blend uses the mask the wrong way round: the masked frames come from x, the others from the "
            "reference."),
    Mistake("paint_end_inclusive", "q4_variable_inpaint",
            "The paint window includes step paint_end; the window is half-open, like range(paint_start, paint_end)."),
    Mistake("paint_window_ignored", "q4_variable_inpaint",
            "The paint window is ignored: every step is painted, whatever paint_start and paint_end say."),
    Mistake("strength_reversed", "q5_style_transfer",
            "transfer_strength is mapped the wrong way: strength 1 must give back the reference and strength 0 "
            "ignore it."),
    Mistake("strength_rounded", "q5_style_transfer",
            "The start index is rounded to the nearest step; the convention truncates towards zero."),
    Mistake("strength_index_from_length", "q5_style_transfer",
            "The start index scales strength by the number of noise levels; scale it by the number of steps, so "
            "that strength 1 lands on the last level."),
    Mistake("style_without_noise", "q5_style_transfer",
            "The reference is not noised before sampling, so sampling starts from a clean latent at a high sigma."),
    Mistake("style_noised_to_sigma_max", "q5_style_transfer",
            "The reference is noised to the top of the schedule, but sampling starts further down; noise it to the "
            "level sampling starts from."),
    # Accepted variants: the handout leaves the order of random draws open.
    Mistake("noise_drawn_every_step", "q4_variable_inpaint",
            "Accepted: you draw the reference noise on every step and use it only inside the window.", True),
    Mistake("k_diffusion_euler_q3", "q3_inpaint",
            "Accepted: your Euler step is k-diffusion's sample_euler, which draws one unused noise tensor per step.",
            True),
    Mistake("k_diffusion_euler_q4", "q4_variable_inpaint",
            "Accepted: your Euler step is k-diffusion's sample_euler, which draws one unused noise tensor per step.",
            True),
)

BY_NAME = {m.name: m for m in CATALOGUE}


def mistakes_for(question: str) -> tuple[Mistake, ...]:
    """The (not accepted) mistakes of ``question``."""
    return tuple(m for m in CATALOGUE if m.question == question and not m.accepted)


def variants_for(question: str) -> tuple[Mistake, ...]:
    """The accepted variants of ``question``."""
    return tuple(m for m in CATALOGUE if m.question == question and m.accepted)


def variant_sets(question: str) -> list[tuple[str, ...]]:
    """Every combination of ``question``'s accepted variants, the empty one first (they compose freely)."""
    names = [v.name for v in variants_for(question)]
    return [combo for size in range(len(names) + 1) for combo in combinations(names, size)]


def combos_for(question: str, earlier: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every catalogue combination the judge may compare ``question``'s answers with.

    Each mistake of ``question`` or of an ``earlier`` question, alone and with each set of
    ``question``'s variants, and each non-empty set of those variants.
    """
    sets = variant_sets(question)
    own = [(m.name, *s) for m in mistakes_for(question) for s in sets] + [s for s in sets if s]
    cascade = [(m.name, *s) for q in earlier for m in mistakes_for(q) for s in sets]
    return cascade + own


def combo_key(names: tuple[str, ...]) -> str:
    """How a combination is named in caches and data files: the entry names joined by ``+``."""
    return "+".join(names)
