"""Self-checks for the notebook: ``check(to_d)`` runs small cases and prints PASS or FAIL with a hint.

The expected outputs ship in ``hw4/data/selfcheck.pkl`` (written from the solutions by
``hw4 build-selfcheck``; a test proves they match); the lecture lab's, in ``hw4/data/lab_selfcheck.pkl``,
are checked by the same code (its cases: ``hw4.cases.LAB_CHECK``). Checks always use the embedded
model on the CPU, so they take seconds whichever model the notebook samples with.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from . import cases as C
from .compare import TOLERANCE, compare
from .safe_pickle import load_answers

EXPECTED_FILE = Path(__file__).resolve().parent / "data" / "selfcheck.pkl"
QUESTION_OF = {fn: q for q, fn in C.ALL_FUNCTIONS.items()}
HINTS = {
    "q1_to_d": "The derivative is (x - denoised) / sigma, with sigma reshaped to broadcast over x's trailing "
               "dimensions (k_diffusion.utils.append_dims).",
    "q1_sample": "Per step: denoised = model(x, sigmas[i] * s_in, **extra_args); d = to_d(...); "
                 "x = x + d * (sigmas[i + 1] - sigmas[i]).",
    "q2_mask": "Frame of a time t: int(t * SAMPLE_RATE / model.pretransform.downsampling_ratio); the mask is 1 on "
               "frames [start, end) and has reference's shape and dtype.",
    "q3_inpaint": "After each Euler step, x = mask * x + (1 - mask) * (reference + torch.randn_like(reference) "
                  "* sigmas[i + 1]), one fresh noise draw per step.",
    "q4_variable_inpaint": "Replace only on steps with paint_start <= i < paint_end (draw noise only then); "
                           "None means 0 and len(sigmas) - 1.",
    "q5_style_transfer": "k = int(transfer_strength * (len(sigmas) - 1)); start from reference + randn_like * "
                         "sigmas[k]; run simple_sample over sigmas[k:].",
}

_model = None


def _embedded_model():
    global _model
    if _model is None:
        from .model import load_model

        _model, _ = load_model("embedded")
    return _model


def expected_answers() -> dict:
    """The shipped expected outputs of the self-check cases (the homework's and the lab's)."""
    from .lab_checks import EXPECTED_FILE as LAB_EXPECTED_FILE

    expected = load_answers(EXPECTED_FILE)
    if LAB_EXPECTED_FILE.exists():
        expected["questions"].update(load_answers(LAB_EXPECTED_FILE)["questions"])
    return expected


def run_checks(*functions: Callable) -> list[tuple[str, bool]]:
    """Check homework functions on the self-check cases; one ``(message, passed)`` per question."""
    from .answers import generate

    implementation = SimpleNamespace(**{fn.__name__: fn for fn in functions})
    questions = tuple(QUESTION_OF[fn.__name__] for fn in functions if fn.__name__ in QUESTION_OF)
    if not questions:
        names = ", ".join(C.ALL_FUNCTIONS.values())
        raise ValueError(f"check() takes the notebook's functions themselves ({names}).")
    answers = generate(implementation, _embedded_model(), C.ALL_SELF_CHECKS, questions=questions, progress=False)
    expected = expected_answers()
    return [_verdict(q, answers["questions"][q], expected["questions"][q]["answers"]) for q in questions]


def check(*functions: Callable) -> None:
    """Check homework functions (e.g. ``check(to_d)``) on small cases and print PASS, FAIL (with a hint) or TODO."""
    for message, _ in run_checks(*functions):
        print(message)


def _verdict(question: str, got: dict, expected: dict) -> tuple[str, bool]:
    title = C.ALL_TITLES[question]
    errors = got["errors"]
    if errors:
        first = next(iter(errors.values()))
        if first.startswith("not implemented"):
            return f"TODO  {title}: not implemented yet.", False
        return f"FAIL  {title}: {first}\n      Hint: {_hint(question)}", False
    verdicts = [compare(got["answers"].get(name), value) for name, value in expected.items()]
    worst = max((v.error for v in verdicts if v.error is not None), default=None)
    size = f"relative error {worst:.1e}" if worst is not None else "no comparable output"
    if all(v.passed for v in verdicts):
        return f"PASS  {title}: {len(verdicts)}/{len(verdicts)} checks ({size}, tolerance {TOLERANCE:.0e}).", True
    reason = next(v.reason for v in verdicts if not v.passed)
    return f"FAIL  {title}: {reason}.\n      Hint: {_hint(question)}", False


def _hint(question: str) -> str:
    from .lab_checks import HINTS as LAB_HINTS

    return HINTS.get(question) or LAB_HINTS[question]
