"""Every question of the shipped assignments: its function, title, points, hint and cases.

``HOMEWORK`` (graded) and ``LAB`` (the lecture lab's self-checks, never graded) map a
question's key to its ``Question``, in notebook order; each is the ``questions`` of its
``hw4.assignments.Assignment``, which the runner, the self-checks, the grader and the
notebook builder read. Adding a question is one record here plus its solution function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .cases import (
    Case,
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


@dataclass(frozen=True, kw_only=True)
class Question:
    """One question: the function it asks for, its title and points, a hint, and its graded and self-check cases."""

    key: str
    function: str
    title: str
    points: float = 0  # the lab's questions are never graded
    graded: tuple[Case, ...] = ()
    self_check: tuple[Case, ...] = ()
    hint: str | None = None  # shown by check() when no catalogued mistake explains a wrong answer
    tolerance: float | None = None  # the relative error a case may have and pass; None: hw4.compare.TOLERANCE

    def case(self, name: str) -> Case | None:
        """The graded or self-check case called ``name``."""
        return next((c for c in (*self.graded, *self.self_check) if c.name == name), None)


def registry(*questions: Question) -> dict[str, Question]:
    """Questions by key, in the given order."""
    return {q.key: q for q in questions}


HOMEWORK = registry(
    Question(key="q1_to_d", function="to_d", title="Q1 to_d", points=10, graded=(
        ToDCase(name="batch1", seed=11, shape=(1, 64, 128), sigma=(14.6,)),
        ToDCase(name="batch2", seed=12, shape=(2, 64, 128), sigma=(0.3, 500.0)),
        ToDCase(name="batch3_small_sigma", seed=13, shape=(3, 64, 32), sigma=(0.05, 1.0, 2.5)),
        ToDCase(name="batch4_mixed", seed=14, shape=(4, 64, 16), sigma=(120.0, 3.3, 0.7, 42.0)),
    ), self_check=(ToDCase(name="check", seed=1, shape=(2, 64, 8), sigma=(0.5, 80.0)),)),
    Question(key="q1_sample", function="simple_sample", title="Q1 simple_sample", points=20, graded=(
        SampleCase(name="ambient_pad", prompt="warm ambient pad with soft reverb", seed=101),
        SampleCase(name="techno_kick", prompt="driving techno kick and hihat 128 bpm", seed=102),
        SampleCase(name="jazz_piano", prompt="mellow jazz piano chords", seed=103),
        SampleCase(name="rain_forest", prompt="rain in a forest with birds", seed=104),
        SampleCase(name="cinematic_sweep", prompt="epic cinematic rising synth sweep", seed=105),
        SampleCase(name="lofi_no_guidance", prompt="lofi hip-hop beat with vinyl", seed=106, cfg_scale=1.0),
    ), self_check=(SampleCase(name="check", prompt="warm ambient pad", seed=2, steps=8),)),
    Question(key="q2_mask", function="generate_inpainting_mask", title="Q2 generate_inpainting_mask", points=15, graded=(
        MaskCase(name="one_to_two", clip="chord", start_s=1.0, end_s=2.0),
        MaskCase(name="half_to_3_3", clip="drums", start_s=0.5, end_s=3.3),
        MaskCase(name="2_25_to_4_8", clip="bass_arpeggio", start_s=2.25, end_s=4.8),
        MaskCase(name="start_to_1_75", clip="sweep", start_s=0.0, end_s=1.75),
        MaskCase(name="past_the_end", clip="bells", start_s=4.1, end_s=6.5),
        MaskCase(name="3_to_3_6", clip="rain", start_s=3.0, end_s=3.6),
    ), self_check=(MaskCase(name="check_a", clip="chord", start_s=1.0, end_s=2.0), MaskCase(name="check_b", clip="drums", start_s=3.0, end_s=7.0))),
    Question(key="q3_inpaint", function="simple_sample_inpaint", title="Q3 simple_sample_inpaint", points=20, graded=(
        InpaintCase(name="chord_middle", prompt="bright electric guitar lead", seed=201, clip="chord", start_frame=40, end_frame=88),
        InpaintCase(name="drums_start", prompt="heavy distorted bass", seed=202, clip="drums", start_frame=0, end_frame=32),
        InpaintCase(name="arp_end", prompt="dreamy synth pads", seed=203, clip="bass_arpeggio", start_frame=96, end_frame=128),
        InpaintCase(name="sweep_short", prompt="snare roll", seed=204, clip="sweep", start_frame=60, end_frame=70),
        InpaintCase(name="bells_long", prompt="calm piano melody", seed=205, clip="bells", start_frame=10, end_frame=110),
        InpaintCase(name="rain_two_thirds", prompt="thunder and wind", seed=206, clip="rain", start_frame=21, end_frame=107),
    ), self_check=(InpaintCase(name="check", prompt="calm piano melody", seed=3, clip="chord", start_frame=30, end_frame=70, steps=8),)),
    Question(key="q4_variable_inpaint", function="simple_sample_variable_inpaint", title="Q4 simple_sample_variable_inpaint", points=15, graded=(
        InpaintCase(name="defaults", prompt="bright electric guitar lead", seed=301, clip="chord", start_frame=40, end_frame=88),
        InpaintCase(name="early_window", prompt="heavy distorted bass", seed=302, clip="drums", start_frame=30, end_frame=90, paint_start=0, paint_end=25),
        InpaintCase(name="middle_window", prompt="dreamy synth pads", seed=303, clip="bass_arpeggio", start_frame=20, end_frame=60, paint_start=10, paint_end=40),
        InpaintCase(name="late_window", prompt="snare roll", seed=304, clip="sweep", start_frame=64, end_frame=100, paint_start=25, paint_end=50),
        InpaintCase(name="short_window", prompt="calm piano melody", seed=305, clip="bells", start_frame=0, end_frame=64, paint_start=5, paint_end=15),
        InpaintCase(name="full_window", prompt="thunder and wind", seed=306, clip="rain", start_frame=50, end_frame=128, paint_start=0, paint_end=50),
    ), self_check=(InpaintCase(name="check", prompt="calm piano melody", seed=4, clip="bells", start_frame=30, end_frame=70, paint_start=2, paint_end=5, steps=8),)),
    Question(key="q5_style_transfer", function="simple_sample_style_transfer", title="Q5 simple_sample_style_transfer", points=20, graded=(
        StyleCase(name="chord_to_guitar", prompt="bright electric guitar lead", seed=401, clip="chord", strength=0.1),
        StyleCase(name="drums_to_bass", prompt="heavy distorted bass", seed=402, clip="drums", strength=0.3),
        StyleCase(name="arp_to_pads", prompt="dreamy synth pads", seed=403, clip="bass_arpeggio", strength=0.45),
        StyleCase(name="sweep_to_snare", prompt="snare roll", seed=404, clip="sweep", strength=0.6),
        StyleCase(name="bells_to_piano", prompt="calm piano melody", seed=405, clip="bells", strength=0.75),
        StyleCase(name="rain_to_thunder", prompt="thunder and wind", seed=406, clip="rain", strength=0.93),  # int(.93 * 51) != int(.93 * 50)
        StyleCase(name="full_strength", prompt="jazz piano chords", seed=407, clip="chord", strength=1.0),
        StyleCase(name="zero_strength", prompt="bells", seed=408, clip="drums", strength=0.0),
    ), self_check=(  # two strengths, so that a rounded start index, one scaled by len(sigmas) and a reversed one differ
        StyleCase(name="check_a", prompt="snare roll", seed=5, clip="drums", strength=0.7, steps=8),
        StyleCase(name="check_b", prompt="snare roll", seed=6, clip="chord", strength=0.8, steps=8))),
)

# -- The lecture lab (notebooks/lab_stub.ipynb): self-checked with the same machinery, never graded ---------

_CORRUPT = (
    CorruptCase(name="one_sigma", seed=21, shape=(1, 64, 16), sigma=0.6),
    CorruptCase(name="per_item", seed=22, shape=(3, 64, 8), sigma=(0.0, 0.3, 0.8)),
    CorruptCase(name="pure_noise", seed=23, shape=(1, 64, 8), sigma=1.0),
)
_BROADCAST = "Broadcast sigma as in corrupt_ve."
LAB = registry(
    Question(key="lab_corrupt_ve", function="corrupt_ve", title="Lab corrupt_ve", self_check=(
        *_CORRUPT, CorruptCase(name="large_sigma", seed=24, shape=(2, 64, 8), sigma=(14.6, 500.0))),
        hint="Variance exploding: the clean latent keeps weight 1 and the noise is scaled by sigma. sigma holds one "
             "value per batch item: reshape it to broadcast over the trailing dimensions "
             "(k_diffusion.utils.append_dims)."),
    Question(key="lab_corrupt_vp", function="corrupt_vp", title="Lab corrupt_vp", self_check=_CORRUPT,
             hint="Variance preserving: the noise's weight is sigma, and the clean latent's weight is chosen so that "
                  f"the squares of the two weights add up to 1. {_BROADCAST}"),
    Question(key="lab_corrupt_flow", function="corrupt_flow", title="Lab corrupt_flow", self_check=_CORRUPT,
             hint="Flow matching: a straight line from the clean latent (sigma = 0) to pure noise (sigma = 1), so "
                  f"the two weights add up to 1. {_BROADCAST}"),
    Question(key="lab_cosine", function="cosine_sigma", title="Lab cosine_sigma", self_check=(
        CosineCase(name="thousand_steps", t=(0.0, 1.0, 250.0, 500.0, 999.0, 1000.0), T=1000.0, s=0.008),
        CosineCase(name="no_offset", t=(0.0, 10.0, 25.0, 40.0, 50.0), T=50.0, s=0.0)),
        hint="The angle grows linearly with t, from s / (1 + s) of a quarter turn at t = 0 to a quarter turn at "
             "t = T; the schedule's value is the sine of that angle, elementwise on the tensor t."),
    Question(key="lab_linear", function="get_sigmas_linear", title="Lab get_sigmas_linear", self_check=(
        ScheduleCase(name="sao_range", steps=8, sigma_min=0.3, sigma_max=500.0), ScheduleCase(name="unit_range", steps=20, sigma_min=0.01, sigma_max=1.0)),
        hint="n noise levels evenly spaced from sigma_max down to sigma_min, then the final 0 that every "
             "k-diffusion schedule ends with (k_diffusion.sampling.append_zero)."),
    Question(key="lab_cfg", function="cfg_combine", title="Lab cfg_combine", self_check=(
        GuidanceCase(name="scale_7", seed=31, shape=(1, 64, 16), cfg_scale=7.0), GuidanceCase(name="scale_1", seed=32, shape=(2, 64, 8), cfg_scale=1.0),
        GuidanceCase(name="scale_0", seed=33, shape=(1, 64, 8), cfg_scale=0.0)),
        hint="Guidance starts from the unconditional prediction and moves along the difference towards the "
             "conditional one, past it when the scale is above 1: scale 1 gives the conditional prediction, "
             "scale 0 the unconditional one."),
)

def graded_cases(questions: Mapping[str, Question]) -> CaseSet:
    """The graded cases of ``questions``, by question (what the runner answers and the grader scores)."""
    return CaseSet({key: q.graded for key, q in questions.items()})


def self_check_cases(questions: Mapping[str, Question]) -> CaseSet:
    """The self-check cases of ``questions``, by question: small and fast, the notebook's ``check()``."""
    return CaseSet({key: q.self_check for key, q in questions.items()})
