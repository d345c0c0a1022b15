"""The DDPM notebook's template (``notebooks/template/ddpm.ipynb``): stub made from it and ``solutions/ddpm.py``."""

from __future__ import annotations

import nbformat

from hw4.ddpm_cases import SETTINGS
from hw4.ddpm_quality import BUDGET, PASS_SHARE
from hw4.ddpm_questions import DDPM
from solutions.build import ROOT, generate_stub, solution_fragments, source_notebook
from solutions.ddpm_mistakes import DDPM_SOLUTIONS_FILE

TEMPLATE = ROOT / "notebooks" / "template" / "ddpm.ipynb"
STUB = ROOT / "notebooks" / "ddpm_stub.ipynb"
DEFINITIONS = {"1-beta_t", "1-alphabar_t"}  # alpha_t and sqrtmab's definitions: the handout states them


def build():
    return source_notebook(TEMPLATE, STUB, DDPM_SOLUTIONS_FILE)


def test_each_question_has_its_solution_cell_then_its_check():
    cells = [c.source for c in nbformat.read(TEMPLATE, as_version=4).cells]
    for q in DDPM.values():
        placeholder = cells.index(f"# solution: {q.function}")
        assert cells[placeholder + 1] == f"check({q.function})", q.function
    assert cells.index("# solution: predict_noise") + 1 == cells.index("# solution: ddpm_sample")


def test_the_stub_hides_every_solution_and_keeps_the_skeleton():
    stub = generate_stub(build())
    text = "\n".join(c.source for c in stub.cells)
    squeezed = "".join(text.split())
    assert text.count("raise NotImplementedError()") == len(DDPM) + 1  # predict_noise too
    hidden = solution_fragments(DDPM_SOLUTIONS_FILE) - DEFINITIONS
    assert hidden and not [f for f in hidden if f in squeezed]
    assert "torch.randint(1, T + 1, (x0.shape[0],), generator=generator)" in text  # the draws are given
    assert "if (t - 1) % keep_every == 0:" in text  # and the keeping of steps


def test_the_notebook_states_the_grading_thresholds_and_budget():
    text = "\n".join(c.source for c in nbformat.read(TEMPLATE, as_version=4).cells)
    assert f"at least {PASS_SHARE:.0%}".replace("%", " %") in text
    assert f"{BUDGET.steps} steps of batch {BUDGET.batch_size}" in text and f"guidance {BUDGET.guidance:g}" in text
    assert len(SETTINGS) == 4 and "10 points" in text
    assert sum(q.points for q in DDPM.values()) == 100
    for q in DDPM.values():
        assert f"({q.points} points)" in text, q.key



def test_the_quality_cell_trains_the_graded_settings_and_prints_the_graders_verdict():
    text = "\n".join(c.source for c in nbformat.read(TEMPLATE, as_version=4).cells)
    assert 'for case in DDPM["ddpm_q5_train"].graded:' in text and 'check_graded("ddpm_q5_train", drawn)' in text
