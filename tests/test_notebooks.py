"""The notebooks: generated from the one copy of the solutions, clean, and executable headless offline."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from hw4.assignments import HOMEWORK4, get
from hw4.colab import colab_url
from solutions.build import RUNNER, build_all, function_sources, solution_fragments, source_notebook

STUB = HOMEWORK4.stub

pytestmark = pytest.mark.slow  # executes whole notebooks in kernels

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*.ipynb")
                   if not {".venv", "build", ".ipynb_checkpoints"} & set(p.relative_to(ROOT).parts))


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 300) -> nbformat.NotebookNode:
    """Run ``nb`` top to bottom in a fresh kernel (one thread, offline); raises on a cell error."""
    os.environ.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MPLBACKEND="Agg",
                      PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def text_output(nb: nbformat.NotebookNode, last: bool = True) -> str:
    """What the code cells printed; without the last (submit) cell when ``last`` is False."""
    cells = [c for c in nb.cells if c.cell_type == "code"]
    return "\n".join(o.get("text", "") for c in (cells if last else cells[:-1]) for o in c.outputs)


def test_generated_files_are_up_to_date():
    """The committed stub, runner badges and self-check data equal what the solutions generate."""
    assert build_all(check=True) == []


@pytest.mark.parametrize("name", ["homework4", "lab", "ddpm"])
def test_stub_is_byte_identical_to_the_generated_one(name):
    """``hw4 build-notebooks`` leaves the committed stub untouched, metadata (locks, nbgrader checksums) included."""
    from solutions import build

    assignment = get(name)
    stub = assignment.stub
    generated = build.generate_stub(build.assignment_source(assignment))
    assert nbformat.writes(generated) + "\n" == stub.read_text()
    locked = [c for c in generated.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert locked and all(c.metadata["deletable"] is False and c.metadata["nbgrader"]["checksum"] for c in locked)


def test_stub_holds_no_solution_code():
    assert "BEGIN SOLUTION" not in STUB.read_text() and "END SOLUTION" not in STUB.read_text()
    stub = "\n".join(c.source for c in nbformat.read(STUB, as_version=4).cells if c.cell_type == "code")
    for name, source in function_sources().items():
        for line in source.splitlines():
            body = line.strip()
            if body.startswith(("x = ", "return (x", "mask[", "k = int", "denoised = ", "noised_reference")):
                assert body not in stub, f"{name}: {body}"
    assert stub.count("raise NotImplementedError()") == 6


@pytest.mark.parametrize("path", COMMITTED)
def test_committed_notebooks_carry_no_outputs(path):
    nb = json.loads((ROOT / path).read_text())
    assert all(not c.get("outputs") and not c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("path", ["notebooks/homework4_stub.ipynb", "runner.ipynb"])
def test_notebooks_open_in_colab_from_a_badge(path):
    first = nbformat.read(ROOT / path, as_version=4).cells[0].source
    assert f"({colab_url(path)})" in first and "colab-badge.svg" in first


def saved(nb: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    """``nb`` saved as ``folder/homework4_stub.ipynb``, as a student's notebook is before its submission cell runs."""
    nbformat.write(nb, folder / "homework4_stub.ipynb")
    return nb


@pytest.fixture(scope="module")
def solution_run(tmp_path_factory) -> tuple[nbformat.NotebookNode, Path]:
    """The solution notebook executed top to bottom once, and the folder it ran in."""
    folder = tmp_path_factory.mktemp("solution-notebook")
    return execute(saved(source_notebook(), folder), folder), folder


def test_solution_notebook_runs_every_self_check_passes_and_submits_in_one_step(solution_run):
    nb, tmp_path = solution_run
    out, checks = text_output(nb), text_output(nb, last=False)
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert "execute_result" not in [o.output_type for o in last.outputs], "submit() shows a value"
    assert checks.count("PASS") == 6, checks  # one per check() cell
    assert out.count("self-check PASS") == 6, out  # and submit's summary, one line per question
    assert "FAIL" not in checks and "TODO" not in checks
    assert "self-check FAIL" not in out and "self-check TODO" not in out
    pickle, script = tmp_path / "homework4.pkl", tmp_path / "homework4_stub.py"
    assert pickle.is_file() and script.is_file()
    assert out.rstrip().endswith(f"Upload these two files to Gradescope:\n  {pickle.resolve()}\n  {script.resolve()}")


def test_mistakes_and_variants_filled_in_get_the_graders_verdict(tmp_path):
    """to_d with its sign flipped, a rounded mask and Q4 noise drawn on every step, as a student would type them."""
    nb = source_notebook()
    edits = {
        "to_d": ("return (x - denoised)", "return (denoised - x)"),
        "generate_inpainting_mask": ("int(mask_", "round(mask_"),
        "simple_sample_variable_inpaint": (
            "        if paint_start <= i < paint_end:\n            noised_reference = reference + torch.randn_like(reference) * sigmas[i + 1]\n",
            "        noised_reference = reference + torch.randn_like(reference) * sigmas[i + 1]\n        if paint_start <= i < paint_end:\n"),
    }
    for cell in nb.cells:
        name = cell.metadata.get("nbgrader", {}).get("grade_id")
        if name in edits:
            old, new = edits[name]
            assert old in cell.source, name
            cell.source = cell.source.replace(old, new)
    checks = [o.get("text", "") for c in execute(saved(nb, tmp_path), tmp_path).cells
              if c.cell_type == "code" and c.source.startswith("check(") for o in c.outputs]
    out = "\n".join(checks)
    assert "FAIL  Q1 to_d" in out and "Likely mistake (to_d_sign_flipped)" in out, out
    assert "FAIL  Q2 generate_inpainting_mask" in out and "Likely mistake (mask_rounded)" in out, out
    for title in ("Q1 simple_sample", "Q3 simple_sample_inpaint", "Q4 simple_sample_variable_inpaint",
                  "Q5 simple_sample_style_transfer"):
        assert f"PASS  {title}" in out and "already counted in Q1 to_d" in out, out
    assert out.count("PASS") == 4 and out.count("FAIL") == 2


PLAYER = re.compile(r'(?:<div><b>(.*?)</b></div>)?\s*<audio[^>]*>\s*<source src="data:audio/wav;base64,([^"]+)"')
LATENT_HOP_S = 2048 / 44100  # one latent frame of the embedded model, in seconds


def players(nb: nbformat.NotebookNode) -> dict[str, tuple[int, np.ndarray]]:
    """Every audio player in the executed notebook: title (or ``cell N``) -> (rate, samples frames x channels)."""
    found = {}
    for number, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            for title, data in PLAYER.findall(output.get("data", {}).get("text/html", "")):
                with wave.open(io.BytesIO(base64.b64decode(data))) as w:
                    samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
                    found[html.unescape(title) or f"cell {number}"] = (w.getframerate(),
                                                                       samples.reshape(-1, w.getnchannels()))
    return found


def band_energies(rate: int, samples: np.ndarray, bands: int = 48) -> np.ndarray:
    """Log energies of ``bands`` log-spaced frequency bands per latent frame (frames x bands), as one hears them."""
    frame = round(LATENT_HOP_S * rate)
    mono = samples.astype(np.float64).mean(1)
    frames = mono[: len(mono) // frame * frame].reshape(-1, frame) * np.hanning(frame)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.unique(np.geomspace(1, power.shape[1], bands + 1).astype(int))
    return np.log(np.stack([power[:, lo:hi].mean(1) for lo, hi in zip(edges[:-1], edges[1:])], 1) + 1e-3)


def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per frame, how far two band-energy pictures are apart, ignoring the players' loudness normalisation."""
    diff = a - b
    return np.abs(diff - np.median(diff)).mean(1)


def gap_to_kept_loudness(rate: int, samples: np.ndarray, start: int, end: int) -> float:
    """RMS of latent frames ``start:end`` over the RMS of the frames around them (the players' scale cancels)."""
    mono = samples.astype(np.float64).mean(1)
    lo, hi = round(start * LATENT_HOP_S * rate), round(end * LATENT_HOP_S * rate)
    rms = lambda x: np.sqrt((x ** 2).mean())  # noqa: E731
    return float(rms(mono[lo:hi]) / rms(np.r_[mono[:lo], mono[hi:]]))


def test_every_player_sounds_different_and_inpainting_fills_only_the_gap(solution_run):
    found = players(solution_run[0])
    heard = {title: band_energies(*player) for title, player in found.items()}
    expected = {"reference: drums", "reference: chord", "inpainted", "paint_end=30", "paint_end=40", "paint_end=45",
                "strength 0.3", "strength 0.9"}
    assert expected <= set(heard) and len(heard) == len(expected) + 1, sorted(heard)  # + the Q1 generation
    for title, (_, samples) in found.items():
        assert np.sqrt((samples.astype(np.float64) ** 2).mean()) > 300, f"{title} is (nearly) silent"
    for a in heard:
        for b in heard:
            assert a == b or distance(heard[a], heard[b]).mean() > 1.0, f"{a} sounds like {b}"
    # the notebook regenerates 1.5 s to 3.0 s of the drums: latent frames 32 to 64
    gap = distance(heard["inpainted"], heard["reference: drums"])
    assert np.median(np.r_[gap[:32], gap[64:]]) < 0.5 and np.median(gap[32:64]) > 3.0, gap.round(1)


def test_players_are_not_clipped(solution_run):
    """Issue 19: generations decoded far above full scale, so the players (normalised to their peak) held up to
    43 % of samples at full scale."""
    for title, (_, samples) in players(solution_run[0]).items():
        peak = np.abs(samples.astype(np.float64)).max()
        assert (np.abs(samples) > 0.99 * peak).mean() <= 0.01, f"{title} is clipped"


def test_an_inpainted_gap_is_as_loud_as_its_surroundings(solution_run):
    """Issue 19: an inpainted gap was up to 8 times louder (RMS) than the frames around it."""
    found = players(solution_run[0])
    for title in ("inpainted", "paint_end=45"):
        ratio = gap_to_kept_loudness(*found[title], 32, 64)
        assert 0.5 <= ratio <= 2.0, f"{title}: the gap is {ratio:.2f} times as loud as the frames around it"


def test_an_executed_homework_notebook_stays_light(solution_run):
    """Players embed mono 11 kHz audio: the whole executed notebook, players and figures, stays under 3 MB."""
    size = len(nbformat.writes(solution_run[0]).encode())
    assert size < 3_000_000, f"{size / 1e6:.1f} MB"


def test_every_demo_plays_the_reference_next_to_the_result():
    code = [c.source for c in nbformat.read(STUB, as_version=4).cells if c.cell_type == "code"]
    demos = [c for c in code if "clip_latent(model" in c or "inpaint(denoiser" in c]
    assert len(demos) == 4 and all('plots.listen(model, reference, title="reference: ' in c for c in demos)


def test_stub_notebook_runs_and_reports_todo(tmp_path):
    out = text_output(execute(saved(nbformat.read(STUB, as_version=4), tmp_path), tmp_path), last=False)
    assert out.count("TODO") == 6, out
    assert "Traceback" not in out


def test_the_notebook_and_its_feedback_do_not_give_the_solution_away():
    """Prose, hints, code cells and every catalogue message hold none of the solutions' expressions."""
    from solutions.mistakes import CATALOGUE

    fragments = solution_fragments()
    assert "x-denoised" in fragments and "transfer_strength*(len(sigmas)-1)" in fragments  # the test can fail
    cells = [c.source for c in nbformat.read(STUB, as_version=4).cells]
    texts = {"stub notebook": "\n".join(cells), **{m.name: m.feedback for m in CATALOGUE}}
    for where, text in texts.items():
        bare = "".join(text.split())
        assert not [f for f in fragments if f in bare], where


def test_every_question_has_two_folded_hints():
    markdown = [c.source for c in nbformat.read(STUB, as_version=4).cells if c.cell_type == "markdown"]
    questions = [m for m in markdown if re.search(r"^#+ Q\d(\.\d)?\.? `", m, re.M)]
    assert len(questions) == 6
    assert all(m.count("<details><summary>Hint 1</summary>") == 1 and m.count("<summary>Hint 2</summary>") == 1
               for m in questions)


@pytest.mark.parametrize("path", ["notebooks/homework4_stub.ipynb", "runner.ipynb"])
def test_nbconvert_writes_a_python_script(path, tmp_path):
    shutil.copy(ROOT / path, tmp_path / Path(path).name)
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "script", "--log-level=WARN",
                    str(tmp_path / Path(path).name)], check=True)
    assert (tmp_path / Path(path).with_suffix(".py").name).is_file()


def test_runner_notebook_writes_the_pickle_from_a_converted_notebook(tmp_path, solution_answers):
    from hw4.safe_pickle import load_answers

    nbformat.write(source_notebook(), tmp_path / "homework4_stub.ipynb")
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "script", "--log-level=WARN",
                    str(tmp_path / "homework4_stub.ipynb")], check=True)
    shutil.copy(RUNNER, tmp_path / "runner.ipynb")
    execute(nbformat.read(tmp_path / "runner.ipynb", as_version=4), tmp_path)
    answers = load_answers(tmp_path / "homework4.pkl")
    for question, entry in solution_answers.questions.items():
        assert answers["questions"][question]["answers"].keys() == entry.answers.keys()
        for name, value in entry.answers.items():
            assert (answers["questions"][question]["answers"][name] == value).all()


def test_readme_badge_comes_from_the_one_setting():
    from hw4.colab import badge_markdown

    assert badge_markdown("notebooks/homework4_stub.ipynb") in (ROOT / "README.md").read_text()


def test_self_check_data_is_judged_within_tolerance_not_bit_for_bit():
    """Data made on one CPU stays valid on another (last-bit float32 differences), but real changes are stale."""
    import numpy as np

    from solutions.build import same_answers

    base = np.linspace(-1, 1, 4096, dtype=np.float32).reshape(1, 64, 64)

    def answers(value):
        return {"questions": {"q": {"answers": {"c": value}}}}

    assert same_answers(answers(base), answers(base * np.float32(1 + 6.7e-7)))
    assert not same_answers(answers(base), answers(base * np.float32(1.01)))
    assert not same_answers(answers(base), {"questions": {"q": {"answers": {}}}})
