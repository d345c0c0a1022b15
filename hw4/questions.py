"""Every question in one place: its function, title, points, hint and cases.

``HOMEWORK`` (graded) and ``LAB`` (the lecture lab's self-checks, never graded) map a
question's key to its ``Question``, in notebook order. The runner, the self-checks, the
grader, the mistake catalogue and the notebook builder read them; ``GRADED``,
``SELF_CHECK`` and ``LAB_CHECK`` are their cases by question. Adding a question is one
record here plus its solution function.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cases import (
    CaseSet,
    CorruptCase,
    CosineCase,
    GuidanceCase,
    InpaintCase,
    MaskCase,
    SampleCase,
    ScheduleCase,
    StyleCase,
    ToDCase,
)


@dataclass(frozen=True)
class Question:
    """One question: the function it asks for, its title and points, a hint, and its graded and self-check cases."""

    key: str
    function: str
    title: str
    points: float = 0  # the lab's questions are never graded
    graded: tuple = ()
    self_check: tuple = ()
    hint: str | None = None  # shown by check() when no catalogued mistake explains a wrong answer


def registry(*questions: Question) -> dict[str, Question]:
    """Questions by key, in the given order."""
    return {q.key: q for q in questions}


HOMEWORK = registry(
    Question("q1_to_d", "to_d", "Q1 to_d", 10, graded=(
        ToDCase("batch1", 11, (1, 64, 128), (14.6,)),
        ToDCase("batch2", 12, (2, 64, 128), (0.3, 500.0)),
        ToDCase("batch3_small_sigma", 13, (3, 64, 32), (0.05, 1.0, 2.5)),
        ToDCase("batch4_mixed", 14, (4, 64, 16), (120.0, 3.3, 0.7, 42.0)),
    ), self_check=(ToDCase("check", 1, (2, 64, 8), (0.5, 80.0)),)),
    Question("q1_sample", "simple_sample", "Q1 simple_sample", 20, graded=(
        SampleCase("ambient_pad", "warm ambient pad with soft reverb", 101),
        SampleCase("techno_kick", "driving techno kick and hihat 128 bpm", 102),
        SampleCase("jazz_piano", "mellow jazz piano chords", 103),
        SampleCase("rain_forest", "rain in a forest with birds", 104),
        SampleCase("cinematic_sweep", "epic cinematic rising synth sweep", 105),
        SampleCase("lofi_no_guidance", "lofi hip-hop beat with vinyl", 106, cfg_scale=1.0),
    ), self_check=(SampleCase("check", "warm ambient pad", 2, steps=8),)),
    Question("q2_mask", "generate_inpainting_mask", "Q2 generate_inpainting_mask", 15, graded=(
        MaskCase("one_to_two", "chord", 1.0, 2.0),
        MaskCase("half_to_3_3", "drums", 0.5, 3.3),
        MaskCase("2_25_to_4_8", "bass_arpeggio", 2.25, 4.8),
        MaskCase("start_to_1_75", "sweep", 0.0, 1.75),
        MaskCase("past_the_end", "bells", 4.1, 6.5),
        MaskCase("3_to_3_6", "rain", 3.0, 3.6),
    ), self_check=(MaskCase("check_a", "chord", 1.0, 2.0), MaskCase("check_b", "drums", 3.0, 7.0))),
    Question("q3_inpaint", "simple_sample_inpaint", "Q3 simple_sample_inpaint", 20, graded=(
        InpaintCase("chord_middle", "bright electric guitar lead", 201, "chord", 40, 88),
        InpaintCase("drums_start", "heavy distorted bass", 202, "drums", 0, 32),
        InpaintCase("arp_end", "dreamy synth pads", 203, "bass_arpeggio", 96, 128),
        InpaintCase("sweep_short", "snare roll", 204, "sweep", 60, 70),
        InpaintCase("bells_long", "calm piano melody", 205, "bells", 10, 110),
        InpaintCase("rain_two_thirds", "thunder and wind", 206, "rain", 21, 107),
    ), self_check=(InpaintCase("check", "calm piano melody", 3, "chord", 30, 70, steps=8),)),
    Question("q4_variable_inpaint", "simple_sample_variable_inpaint", "Q4 simple_sample_variable_inpaint", 15, graded=(
        InpaintCase("defaults", "bright electric guitar lead", 301, "chord", 40, 88),
        InpaintCase("early_window", "heavy distorted bass", 302, "drums", 30, 90, 0, 25),
        InpaintCase("middle_window", "dreamy synth pads", 303, "bass_arpeggio", 20, 60, 10, 40),
        InpaintCase("late_window", "snare roll", 304, "sweep", 64, 100, 25, 50),
        InpaintCase("short_window", "calm piano melody", 305, "bells", 0, 64, 5, 15),
        InpaintCase("full_window", "thunder and wind", 306, "rain", 50, 128, 0, 50),
    ), self_check=(InpaintCase("check", "calm piano melody", 4, "bells", 30, 70, 2, 5, steps=8),)),
    Question("q5_style_transfer", "simple_sample_style_transfer", "Q5 simple_sample_style_transfer", 20, graded=(
        StyleCase("chord_to_guitar", "bright electric guitar lead", 401, "chord", 0.1),
        StyleCase("drums_to_bass", "heavy distorted bass", 402, "drums", 0.3),
        StyleCase("arp_to_pads", "dreamy synth pads", 403, "bass_arpeggio", 0.45),
        StyleCase("sweep_to_snare", "snare roll", 404, "sweep", 0.6),
        StyleCase("bells_to_piano", "calm piano melody", 405, "bells", 0.75),
        StyleCase("rain_to_thunder", "thunder and wind", 406, "rain", 0.93),  # int(.93 * 51) != int(.93 * 50)
        StyleCase("full_strength", "jazz piano chords", 407, "chord", 1.0),
        StyleCase("zero_strength", "bells", 408, "drums", 0.0),
    ), self_check=(  # two strengths, so that a rounded start index, one scaled by len(sigmas) and a reversed one differ
        StyleCase("check_a", "snare roll", 5, "drums", 0.7, steps=8),
        StyleCase("check_b", "snare roll", 6, "chord", 0.8, steps=8))),
)

# -- The lecture lab (notebooks/lab_stub.ipynb): self-checked with the same machinery, never graded ---------

_CORRUPT = (
    CorruptCase("one_sigma", 21, (1, 64, 16), 0.6),
    CorruptCase("per_item", 22, (3, 64, 8), (0.0, 0.3, 0.8)),
    CorruptCase("pure_noise", 23, (1, 64, 8), 1.0),
)
_BROADCAST = "Broadcast sigma as in corrupt_ve."
LAB = registry(
    Question("lab_corrupt_ve", "corrupt_ve", "Lab corrupt_ve", self_check=(
        *_CORRUPT, CorruptCase("large_sigma", 24, (2, 64, 8), (14.6, 500.0))),
        hint="Variance exploding: the clean latent keeps weight 1 and the noise is scaled by sigma. sigma holds one "
             "value per batch item: reshape it to broadcast over the trailing dimensions "
             "(k_diffusion.utils.append_dims)."),
    Question("lab_corrupt_vp", "corrupt_vp", "Lab corrupt_vp", self_check=_CORRUPT,
             hint="Variance preserving: the noise's weight is sigma, and the clean latent's weight is chosen so that "
                  f"the squares of the two weights add up to 1. {_BROADCAST}"),
    Question("lab_corrupt_flow", "corrupt_flow", "Lab corrupt_flow", self_check=_CORRUPT,
             hint="Flow matching: a straight line from the clean latent (sigma = 0) to pure noise (sigma = 1), so "
                  f"the two weights add up to 1. {_BROADCAST}"),
    Question("lab_cosine", "cosine_sigma", "Lab cosine_sigma", self_check=(
        CosineCase("thousand_steps", (0.0, 1.0, 250.0, 500.0, 999.0, 1000.0), 1000.0, 0.008),
        CosineCase("no_offset", (0.0, 10.0, 25.0, 40.0, 50.0), 50.0, 0.0)),
        hint="The angle grows linearly with t, from s / (1 + s) of a quarter turn at t = 0 to a quarter turn at "
             "t = T; the schedule's value is the sine of that angle, elementwise on the tensor t."),
    Question("lab_linear", "get_sigmas_linear", "Lab get_sigmas_linear", self_check=(
        ScheduleCase("sao_range", 8, 0.3, 500.0), ScheduleCase("unit_range", 20, 0.01, 1.0)),
        hint="n noise levels evenly spaced from sigma_max down to sigma_min, then the final 0 that every "
             "k-diffusion schedule ends with (k_diffusion.sampling.append_zero)."),
    Question("lab_cfg", "cfg_combine", "Lab cfg_combine", self_check=(
        GuidanceCase("scale_7", 31, (1, 64, 16), 7.0), GuidanceCase("scale_1", 32, (2, 64, 8), 1.0),
        GuidanceCase("scale_0", 33, (1, 64, 8), 0.0)),
        hint="Guidance starts from the unconditional prediction and moves along the difference towards the "
             "conditional one, past it when the scale is above 1: scale 1 gives the conditional prediction, "
             "scale 0 the unconditional one."),
)

GRADED = CaseSet({key: q.graded for key, q in HOMEWORK.items()})
SELF_CHECK = CaseSet({key: q.self_check for key, q in HOMEWORK.items()})  # small, fast: the notebook's check()
LAB_CHECK = CaseSet({key: q.self_check for key, q in LAB.items()})


def every() -> tuple[Question, ...]:
    """Every self-checked question: the homework's, then the lab's."""
    return (*HOMEWORK.values(), *LAB.values())


def find(key: str) -> Question:
    """The homework or lab question ``key``."""
    return HOMEWORK[key] if key in HOMEWORK else LAB[key]


def by_function(name: str) -> Question | None:
    """The question that asks for the function ``name``, if any."""
    return next((q for q in every() if q.function == name), None)


def before(key: str) -> tuple[str, ...]:
    """The homework questions that come before ``key`` (a mistake made there may cascade into it)."""
    keys = tuple(HOMEWORK)
    return keys[: keys.index(key)]
