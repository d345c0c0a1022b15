"""The mistake catalogue (staff only): one record per mistake or accepted variant, and the code that makes it.

Each record names its question, the feedback a student sees (it names the mistake without stating the
answer) and its knobs: ``edits``, text replacements in its question's solution function, as a student
would type them. The variant code is the solution code with those edits (``implementation``), so
``solutions/homework4.py`` stays the only code and the student stub never sees a knob. Entries of one
function compose: a combination applies each entry's edits in turn (mistakes first, then accepted variants).

The grader (``autograder.diagnose``) and the self-check data (``solutions.build``, which ships the records'
names, questions and feedback in ``hw4/data/selfcheck.pkl`` with ``Catalogue.to_data``, never the edits, which
quote the solution) both use ``implementation``,
so ``check()`` judges like the grader.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from pathlib import Path

from hw4.assignments import HOMEWORK4
from hw4.catalogue import Catalogue
from hw4.catalogue import Mistake as Entry
from hw4.questions import HOMEWORK

from . import function_sources, module_from_source

Edit = tuple[str, str]  # (text in the solution function, what replaces every occurrence)


@dataclass(frozen=True)
class Mistake(Entry):
    """One catalogue entry: ``hw4.catalogue.Mistake`` plus its knobs, the edits that make it from the solution."""

    edits: tuple[Edit, ...] = ()


_EULER_STEP = "        x = simple_sample(model, x, sigmas[i : i + 2], extra_args)\n"  # Q3's and Q4's step
_K_EULER = (_EULER_STEP, "        from k_diffusion.sampling import sample_euler\n"
                         "        x = sample_euler(model, x, sigmas[i : i + 2], extra_args, disable=True)\n")

CATALOGUE = Catalogue((
    Mistake("to_d_sign_flipped", "q1_to_d",
            "to_d has its sign flipped: the derivative points the wrong way (towards the clean estimate "
            "rather than away from it).",
            edits=(("(x - denoised)", "(denoised - x)"),)),
    Mistake("to_d_sigma_squared", "q1_to_d",
            "to_d divides by sigma squared; revisit Tweedie's formula: the score times sigma^2 is a difference "
            "of latents, and dx/dsigma is sigma times the score.",
            edits=(("append_dims(sigma, x.ndim)", "append_dims(sigma, x.ndim) ** 2"),)),
    Mistake("step_reversed", "q1_sample",
            "The Euler step has the wrong sign: sigma goes down along the schedule, so the step in sigma is negative.",
            edits=(("(sigmas[i + 1] - sigmas[i])", "(sigmas[i] - sigmas[i + 1])"),)),
    Mistake("extra_args_dropped", "q1_sample",
            "The model is called without extra_args, so the prompt and guidance are ignored.",
            edits=((", **extra_args)", ")"),)),
    Mistake("last_step_skipped", "q1_sample",
            "The loop stops one step early: the last step, down to the final sigma of 0, is missing.",
            edits=(("range(len(sigmas) - 1)", "range(len(sigmas) - 2)"),)),
    Mistake("mask_inverted", "q2_mask",
            "The mask is inverted: it must be 1 on the frames to regenerate and 0 on the frames to keep.",
            edits=(("return mask", "return 1 - mask"),)),
    Mistake("mask_in_seconds", "q2_mask",
            "The mask uses seconds as frame indices; convert seconds to latent frames first.",
            edits=((" * SAMPLE_RATE / model.pretransform.downsampling_ratio", ""),)),
    Mistake("mask_in_samples", "q2_mask",
            "The mask uses audio samples as frame indices; one latent frame covers downsampling_ratio samples.",
            edits=((" / model.pretransform.downsampling_ratio", ""),)),
    Mistake("mask_rounded", "q2_mask",
            "Frame indices are rounded to the nearest frame; the convention truncates towards zero.",
            edits=(("int(mask_", "round(mask_"),)),
    Mistake("reference_noised_to_current_sigma", "q3_inpaint",
            "The reference is noised to the noise level x had before the step, not the one it has after it.",
            edits=(("* sigmas[i + 1]", "* sigmas[i]"),)),
    Mistake("reference_not_noised", "q3_inpaint",
            "The clean reference is pasted in without noise, so the kept frames are at another noise level than x.",
            edits=(("reference + torch.randn_like(reference) * sigmas[i + 1]", "reference"),)),
    Mistake("replacement_before_step", "q3_inpaint",
            "The reference is pasted in before the Euler step; take the step first, then replace the kept frames.",
            edits=((_EULER_STEP + "        noised_reference = reference + torch.randn_like(reference) * sigmas[i + 1]\n"
                                  "        x = mask * x + (1 - mask) * noised_reference\n",
                    "        noised_reference = reference + torch.randn_like(reference) * sigmas[i]\n"
                    "        x = mask * x + (1 - mask) * noised_reference\n" + _EULER_STEP),)),
    Mistake("blend_mask_swapped", "q3_inpaint",
            "The blend uses the mask the wrong way round: the masked frames come from x, the others from the "
            "reference.",
            edits=(("mask * x + (1 - mask) * noised_reference", "(1 - mask) * x + mask * noised_reference"),)),
    Mistake("paint_end_inclusive", "q4_variable_inpaint",
            "The paint window includes step paint_end; the window is half-open, like range(paint_start, paint_end).",
            edits=(("paint_start <= i < paint_end", "paint_start <= i <= paint_end"),)),
    Mistake("paint_window_ignored", "q4_variable_inpaint",
            "The paint window is ignored: every step is painted, whatever paint_start and paint_end say.",
            edits=(("if paint_start <= i < paint_end:", "if True:"),)),
    Mistake("strength_reversed", "q5_style_transfer",
            "transfer_strength is mapped the wrong way: strength 1 must give back the reference and strength 0 "
            "ignore it.",
            edits=(("int(transfer_strength * ", "int((1 - transfer_strength) * "),)),
    Mistake("strength_rounded", "q5_style_transfer",
            "The start index is rounded to the nearest step; the convention truncates towards zero.",
            edits=(("int(transfer_strength", "round(transfer_strength"),)),
    Mistake("strength_index_from_length", "q5_style_transfer",
            "The start index scales strength by the number of noise levels; scale it by the number of steps, so "
            "that strength 1 lands on the last level.",
            edits=(("(len(sigmas) - 1))", "len(sigmas))"),)),
    Mistake("style_without_noise", "q5_style_transfer",
            "The reference is not noised before sampling, so sampling starts from a clean latent at a high sigma.",
            edits=(("reference + torch.randn_like(reference) * sigmas[k]", "reference"),)),
    Mistake("style_noised_to_sigma_max", "q5_style_transfer",
            "The reference is noised to the top of the schedule, but sampling starts further down; noise it to the "
            "level sampling starts from.",
            edits=(("* sigmas[k]", "* sigmas[0]"),)),
    # Accepted variants: the handout leaves the order of random draws open.
    Mistake("noise_drawn_every_step", "q4_variable_inpaint",
            "Accepted: you draw the reference noise on every step and use it only inside the window.", True,
            edits=(("        if ", "        noise = torch.randn_like(reference)\n        if "),  # before the window test
                   ("torch.randn_like(reference) * sigmas[i + 1]", "noise * sigmas[i + 1]"))),
    Mistake("k_diffusion_euler_q3", "q3_inpaint",
            "Accepted: your Euler step is k-diffusion's sample_euler, which draws one unused noise tensor per step.",
            True, edits=(_K_EULER,)),
    Mistake("k_diffusion_euler_q4", "q4_variable_inpaint",
            "Accepted: your Euler step is k-diffusion's sample_euler, which draws one unused noise tensor per step.",
            True, edits=(_K_EULER,)),
))


def edited(source: str, edits: tuple[Edit, ...], name: str = "") -> str:
    """``source`` with every edit applied in turn; ``ValueError`` when an edit's text is not there."""
    for old, new in edits:
        if old not in source:
            raise ValueError(f"catalogue entry {name!r}: {old!r} is not in its solution function")
        source = source.replace(old, new)
    return source


def edited_module(path: Path, changes: list[tuple[str, str, tuple[Edit, ...]]]) -> types.ModuleType:
    """A fresh module made from the solutions at ``path`` with each ``(entry name, function, edits)`` made in turn."""
    source = path.read_text()
    functions = function_sources(path)
    changed: dict[str, str] = {}
    for name, function, edits in changes:
        changed[function] = edited(changed.get(function, functions[function]), edits, name)
    for function, text in changed.items():
        source = source.replace(functions[function], text)
    return module_from_source(source, path, "solutions_copy")


def implementation(names: tuple[str, ...] = ()) -> types.ModuleType:
    """A fresh copy of the solutions with the edits of every named entry made (entries of one function compose)."""
    changes = []
    for name in names:
        entry = CATALOGUE.by_name(name)
        assert isinstance(entry, Mistake)
        changes.append((name, HOMEWORK[entry.question].function, entry.edits))
    return edited_module(HOMEWORK4.solutions_file, changes)
