"""The graded cases - defined once, used by the runner, the self-checks and the reference builder.

A case is plain data. ``hw4.answers`` turns each case into inputs (seeding the RNG
itself, so no question's randomness can shift another's) and calls the student's
function with them. Masks for Q3/Q4 are built here from frame ranges, so a Q2
mistake costs Q2 only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

DEFAULT_STEPS = 50
DEFAULT_CFG_SCALE = 7.0

QUESTIONS = ("q1_to_d", "q1_sample", "q2_mask", "q3_inpaint", "q4_variable_inpaint", "q5_style_transfer")
TITLES = {
    "q1_to_d": "Q1 to_d",
    "q1_sample": "Q1 simple_sample",
    "q2_mask": "Q2 generate_inpainting_mask",
    "q3_inpaint": "Q3 simple_sample_inpaint",
    "q4_variable_inpaint": "Q4 simple_sample_variable_inpaint",
    "q5_style_transfer": "Q5 simple_sample_style_transfer",
}
FUNCTIONS = {
    "q1_to_d": "to_d",
    "q1_sample": "simple_sample",
    "q2_mask": "generate_inpainting_mask",
    "q3_inpaint": "simple_sample_inpaint",
    "q4_variable_inpaint": "simple_sample_variable_inpaint",
    "q5_style_transfer": "simple_sample_style_transfer",
}


@dataclass(frozen=True)
class ToDCase:
    """``to_d`` on random ``x``/``denoised`` of ``shape`` with per-batch noise levels ``sigma``."""

    name: str
    seed: int
    shape: tuple[int, ...]
    sigma: tuple[float, ...]


@dataclass(frozen=True)
class SampleCase:
    """Plain Euler sampling of ``prompt`` from the noise of ``seed``."""

    name: str
    prompt: str
    seed: int
    steps: int = field(default=DEFAULT_STEPS, kw_only=True)
    cfg_scale: float = field(default=DEFAULT_CFG_SCALE, kw_only=True)


@dataclass(frozen=True)
class MaskCase:
    """A mask over the latent of ``clip`` from ``start_s`` to ``end_s`` seconds."""

    name: str
    clip: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class InpaintCase(SampleCase):
    """Inpainting frames ``[start_frame, end_frame)`` of ``clip`` with ``prompt``; Q4 adds a paint window."""

    clip: str
    start_frame: int
    end_frame: int
    paint_start: int | None = None
    paint_end: int | None = None


@dataclass(frozen=True)
class StyleCase(SampleCase):
    """Style transfer from ``clip`` towards ``prompt`` at ``strength``."""

    clip: str
    strength: float


@dataclass(frozen=True)
class CaseSet:
    """All cases of one run, by question."""

    cases: dict[str, tuple] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """A fingerprint of every case; answers made for other cases are refused by the grader."""
        return hashlib.sha256(repr(sorted(self.cases.items())).encode()).hexdigest()[:16]

    def __getitem__(self, question: str) -> tuple:
        return self.cases[question]

    def __iter__(self):
        return iter(self.cases)

    def items(self):
        return self.cases.items()


GRADED = CaseSet({
    "q1_to_d": (
        ToDCase("batch1", 11, (1, 64, 128), (14.6,)),
        ToDCase("batch2", 12, (2, 64, 128), (0.3, 500.0)),
        ToDCase("batch3_small_sigma", 13, (3, 64, 32), (0.05, 1.0, 2.5)),
        ToDCase("batch4_mixed", 14, (4, 64, 16), (120.0, 3.3, 0.7, 42.0)),
    ),
    "q1_sample": (
        SampleCase("ambient_pad", "warm ambient pad with soft reverb", 101),
        SampleCase("techno_kick", "driving techno kick and hihat 128 bpm", 102),
        SampleCase("jazz_piano", "mellow jazz piano chords", 103),
        SampleCase("rain_forest", "rain in a forest with birds", 104),
        SampleCase("cinematic_sweep", "epic cinematic rising synth sweep", 105),
        SampleCase("lofi_no_guidance", "lofi hip-hop beat with vinyl", 106, cfg_scale=1.0),
    ),
    "q2_mask": (
        MaskCase("one_to_two", "chord", 1.0, 2.0),
        MaskCase("half_to_3_3", "drums", 0.5, 3.3),
        MaskCase("2_25_to_4_8", "bass_arpeggio", 2.25, 4.8),
        MaskCase("start_to_1_75", "sweep", 0.0, 1.75),
        MaskCase("past_the_end", "bells", 4.1, 6.5),
        MaskCase("3_to_3_6", "rain", 3.0, 3.6),
    ),
    "q3_inpaint": (
        InpaintCase("chord_middle", "bright electric guitar lead", 201, "chord", 40, 88),
        InpaintCase("drums_start", "heavy distorted bass", 202, "drums", 0, 32),
        InpaintCase("arp_end", "dreamy synth pads", 203, "bass_arpeggio", 96, 128),
        InpaintCase("sweep_short", "snare roll", 204, "sweep", 60, 70),
        InpaintCase("bells_long", "calm piano melody", 205, "bells", 10, 110),
        InpaintCase("rain_two_thirds", "thunder and wind", 206, "rain", 21, 107),
    ),
    "q4_variable_inpaint": (
        InpaintCase("defaults", "bright electric guitar lead", 301, "chord", 40, 88),
        InpaintCase("early_window", "heavy distorted bass", 302, "drums", 30, 90, 0, 25),
        InpaintCase("middle_window", "dreamy synth pads", 303, "bass_arpeggio", 20, 60, 10, 40),
        InpaintCase("late_window", "snare roll", 304, "sweep", 64, 100, 25, 50),
        InpaintCase("short_window", "calm piano melody", 305, "bells", 0, 64, 5, 15),
        InpaintCase("full_window", "thunder and wind", 306, "rain", 50, 128, 0, 50),
    ),
    "q5_style_transfer": (
        StyleCase("chord_to_guitar", "bright electric guitar lead", 401, "chord", 0.1),
        StyleCase("drums_to_bass", "heavy distorted bass", 402, "drums", 0.3),
        StyleCase("arp_to_pads", "dreamy synth pads", 403, "bass_arpeggio", 0.45),
        StyleCase("sweep_to_snare", "snare roll", 404, "sweep", 0.6),
        StyleCase("bells_to_piano", "calm piano melody", 405, "bells", 0.75),
        StyleCase("rain_to_thunder", "thunder and wind", 406, "rain", 0.93),  # int(.93 * 51) != int(.93 * 50)
        StyleCase("full_strength", "jazz piano chords", 407, "chord", 1.0),
        StyleCase("zero_strength", "bells", 408, "drums", 0.0),
    ),
})

# Small, fast versions of each question for the notebook's self-check cells.
SELF_CHECK = CaseSet({
    "q1_to_d": (ToDCase("check", 1, (2, 64, 8), (0.5, 80.0)),),
    "q1_sample": (SampleCase("check", "warm ambient pad", 2, steps=8),),
    "q2_mask": (MaskCase("check_a", "chord", 1.0, 2.0), MaskCase("check_b", "drums", 3.0, 7.0)),
    "q3_inpaint": (InpaintCase("check", "calm piano melody", 3, "chord", 30, 70, steps=8),),
    "q4_variable_inpaint": (InpaintCase("check", "calm piano melody", 4, "bells", 30, 70, 2, 5, steps=8),),
    # Two strengths, so that a rounded start index, one scaled by len(sigmas) and a reversed one all differ.
    "q5_style_transfer": (StyleCase("check_a", "snare roll", 5, "drums", 0.7, steps=8),
                          StyleCase("check_b", "snare roll", 6, "chord", 0.8, steps=8)),
})


# -- The lecture lab (notebooks/lab_stub.ipynb): self-checked with the same machinery, never graded ---------

LAB_QUESTIONS = ("lab_corrupt_ve", "lab_corrupt_vp", "lab_corrupt_flow", "lab_cosine", "lab_linear", "lab_cfg")
LAB_TITLES = {
    "lab_corrupt_ve": "Lab corrupt_ve",
    "lab_corrupt_vp": "Lab corrupt_vp",
    "lab_corrupt_flow": "Lab corrupt_flow",
    "lab_cosine": "Lab cosine_sigma",
    "lab_linear": "Lab get_sigmas_linear",
    "lab_cfg": "Lab cfg_combine",
}
LAB_FUNCTIONS = {
    "lab_corrupt_ve": "corrupt_ve",
    "lab_corrupt_vp": "corrupt_vp",
    "lab_corrupt_flow": "corrupt_flow",
    "lab_cosine": "cosine_sigma",
    "lab_linear": "get_sigmas_linear",
    "lab_cfg": "cfg_combine",
}


@dataclass(frozen=True)
class CorruptCase:
    """Clean ``x0`` and ``noise`` of ``shape`` drawn from ``seed``, corrupted to ``sigma`` (one number, or one per item)."""

    name: str
    seed: int
    shape: tuple[int, ...]
    sigma: float | tuple[float, ...]


@dataclass(frozen=True)
class CosineCase:
    """The cosine schedule at times ``t`` out of ``T``, with offset ``s``."""

    name: str
    t: tuple[float, ...]
    T: float
    s: float


@dataclass(frozen=True)
class ScheduleCase:
    """A schedule of ``steps`` levels from ``sigma_max`` down to ``sigma_min``."""

    name: str
    steps: int
    sigma_min: float
    sigma_max: float


@dataclass(frozen=True)
class GuidanceCase:
    """Unconditional and conditional estimates of ``shape`` drawn from ``seed``, combined at ``cfg_scale``."""

    name: str
    seed: int
    shape: tuple[int, ...]
    cfg_scale: float


_CORRUPT = (
    CorruptCase("one_sigma", 21, (1, 64, 16), 0.6),
    CorruptCase("per_item", 22, (3, 64, 8), (0.0, 0.3, 0.8)),
    CorruptCase("pure_noise", 23, (1, 64, 8), 1.0),
)
LAB_CHECK = CaseSet({
    "lab_corrupt_ve": (*_CORRUPT, CorruptCase("large_sigma", 24, (2, 64, 8), (14.6, 500.0))),
    "lab_corrupt_vp": _CORRUPT,
    "lab_corrupt_flow": _CORRUPT,
    "lab_cosine": (CosineCase("thousand_steps", (0.0, 1.0, 250.0, 500.0, 999.0, 1000.0), 1000.0, 0.008),
                   CosineCase("no_offset", (0.0, 10.0, 25.0, 40.0, 50.0), 50.0, 0.0)),
    "lab_linear": (ScheduleCase("sao_range", 8, 0.3, 500.0), ScheduleCase("unit_range", 20, 0.01, 1.0)),
    "lab_cfg": (GuidanceCase("scale_7", 31, (1, 64, 16), 7.0), GuidanceCase("scale_1", 32, (2, 64, 8), 1.0),
                GuidanceCase("scale_0", 33, (1, 64, 8), 0.0)),
})

# Lookups over both notebooks' self-checked functions (the graded ``QUESTIONS`` stay the homework's only).
ALL_FUNCTIONS = {**FUNCTIONS, **LAB_FUNCTIONS}
ALL_TITLES = {**TITLES, **LAB_TITLES}
