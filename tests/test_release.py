"""The student bundle (``hw4 release``): complete, importable on its own, and free of solution code.

The bundle is written from a temporary copy of the repository tree; inputs that other build
steps produce (the stub notebook, the runner, environment.yml, the self-check data) get small
stand-ins there when the repository does not have them yet.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import release
from hw4 import colab
from hw4.install_settings import read_settings

pytestmark = pytest.mark.slow  # builds and installs the student bundle

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions" / "homework4.py"
TREE = ("hw4", "autograder", "solutions", "notebooks", "scripts", "runner.ipynb", "pyproject.toml",
        "requirements-nodeps.txt", "environment.yml", "README.md")
TARGET = ("someone/hw4-student", "fall-2026")
# Solution lines that must never reach students (none is a self-check hint or generic runtime code: hw4/case_inputs.py
# builds the masks of Q3-Q4 cases itself with `mask[..., start:end] = 1`).
DISTINCTIVE = (
    "return (x - denoised) / append_dims(sigma, x.ndim)",
    "noised_reference = reference + torch.randn_like(reference) * sigmas[i + 1]",
    "x = mask * x + (1 - mask) * noised_reference",
    "if paint_start <= i < paint_end:",
    "return simple_sample(model, x, sigmas[k:], extra_args)",
)
# Run in the bundle with the editable install's finder removed, so only the bundle's files can be imported.
STANDALONE = """
import importlib.util, sys
sys.meta_path[:] = [f for f in sys.meta_path if not (getattr(f, "__module__", "") or "").startswith("__editable__")]
assert importlib.util.find_spec("solutions") is None, "solutions is importable"
assert importlib.util.find_spec("autograder") is None, "autograder is importable"
import hw4, hw4.runner, hw4.selfcheck, hw4.colab
print(hw4.__file__)
print(hw4.colab.colab_url("runner.ipynb"))
from hw4.cli import main
sys.exit(main(["references"]))
"""


def _notebook(cells: list[tuple[str, str]]) -> dict:
    return {"cells": [{"cell_type": kind, "metadata": {}, "source": text,
                       **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                      for kind, text in cells],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def copy_tree(destination: Path) -> Path:
    """A copy of the repository's inputs, with stand-ins for those not produced yet."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    for name in TREE:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, destination / name)
    stand_ins = {
        "notebooks/homework4_stub.ipynb": _notebook([
            ("markdown", "# Homework 4\n\n<!-- colab-badge -->\n"),
            ("code", colab.setup_cell_source()),
            ("code", "def to_d(x, sigma, denoised):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
        ]),
        "runner.ipynb": _notebook([("markdown", "# Runner\n\n<!-- colab-badge -->"),
                                   ("code", "from hw4.runner import write_answers")]),
    }
    for name, notebook in stand_ins.items():
        if not (destination / name).exists():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            (destination / name).write_text(json.dumps(notebook))
    if not (destination / "environment.yml").exists():
        (destination / "environment.yml").write_text("name: hw4\ndependencies:\n  - python=3.11\n")
    selfcheck = destination / "hw4" / "data" / "selfcheck.pkl"
    if not selfcheck.exists():
        from hw4.safe_pickle import dump_answers

        selfcheck.parent.mkdir(parents=True, exist_ok=True)
        dump_answers({"stand-in": True}, selfcheck)
    return destination


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return copy_tree(tmp_path_factory.mktemp("repo"))


@pytest.fixture(scope="module")
def bundle(tree, tmp_path_factory) -> Path:
    return release.write_release(tmp_path_factory.mktemp("out") / "bundle", root=tree)


@pytest.fixture(scope="module")
def targeted(tree, tmp_path_factory) -> Path:
    return release.write_release(tmp_path_factory.mktemp("out") / "bundle", *TARGET, root=tree)


def files(bundle: Path) -> list[Path]:
    return sorted(p for p in bundle.rglob("*") if p.is_file())


def texts(bundle: Path) -> dict[str, str]:
    """Every text file of the bundle (notebooks as their joined cell sources)."""
    found = {}
    for path in files(bundle):
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":
            cells = json.loads(text)["cells"]
            text = "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells)
        found[path.relative_to(bundle).as_posix()] = text
    return found


def solution_blocks() -> list[list[str]]:
    """The stripped lines of each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region of the solutions."""
    blocks, current = [], None
    for line in SOLUTIONS.read_text().splitlines():
        stripped = line.strip()
        if stripped == "### BEGIN SOLUTION":
            current = []
        elif stripped == "### END SOLUTION":
            blocks.append(current)
            current = None
        elif current is not None and stripped:
            current.append(stripped)
    return blocks


# ------------------------------------------------------------------------------------------ contents


def test_bundle_layout(bundle):
    names = {p.relative_to(bundle).as_posix() for p in files(bundle)}
    for required in ("notebooks/homework4_stub.ipynb", "runner.ipynb", "environment.yml", "requirements-nodeps.txt",
                     "scripts/setup.sh", "README.md", "pyproject.toml", "hw4/__init__.py", "hw4/runner.py",
                     "hw4/colab.py", "hw4/data/selfcheck.pkl", "hw4/embedded/model.safetensors",
                     "hw4/embedded/model_config.json"):
        assert required in names, required
    tops = {name.split("/")[0] for name in names}
    assert tops <= {"notebooks", "runner.ipynb", "environment.yml", "requirements-nodeps.txt", "scripts", "README.md",
                    "pyproject.toml", "hw4", ".gitignore"}, tops
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert not any(n.startswith("notebooks/template") for n in names)
    assert (REPO / "hw4" / "embedded" / "model.safetensors").read_bytes() == \
        (bundle / "hw4" / "embedded" / "model.safetensors").read_bytes()


def test_pyproject_packages_only_hw4(bundle):
    ours = tomllib.loads((REPO / "pyproject.toml").read_text())
    theirs = tomllib.loads((bundle / "pyproject.toml").read_text())
    assert theirs["tool"]["setuptools"]["packages"]["find"]["include"] == ["hw4*"]
    assert theirs["project"]["dependencies"] == ours["project"]["dependencies"]
    assert theirs["project"]["scripts"] == ours["project"]["scripts"]
    assert theirs["build-system"] == ours["build-system"]
    assert theirs["tool"]["setuptools"]["package-data"]["hw4"] == ours["tool"]["setuptools"]["package-data"]["hw4"]
    assert theirs == release.bundle_pyproject(ours)
    assert "nbgrader" not in (bundle / "pyproject.toml").read_text()
    assert "tomli" not in (bundle / "pyproject.toml").read_text()  # the TOML writer is staff-only, like nbgrader
    assert "staff" not in theirs["project"].get("optional-dependencies", {})
    assert theirs["project"]["optional-dependencies"]["dev"] == [
        r for r in ours["project"]["optional-dependencies"]["dev"] if r not in ours["project"]["optional-dependencies"]["staff"]]
    assert "autograder" not in (bundle / "pyproject.toml").read_text()


def test_no_solution_code(bundle):
    found = texts(bundle)
    assert "hw4/colab.py" in found and "notebooks/homework4_stub.ipynb" in found and "README.md" in found
    blocks = solution_blocks()
    assert len(blocks) >= 6 and all(blocks)
    solution_lines = {line for block in blocks for line in block}
    assert set(DISTINCTIVE) <= solution_lines, "update DISTINCTIVE: the solutions changed"
    for name, text in found.items():
        assert "### BEGIN SOLUTION" not in text and "### END SOLUTION" not in text, name
        # hw4/assignments.py names where the staff keep the solutions (a path the bundle does not have)
        assert "solutions/homework4.py" not in text or name in ("hw4/cli.py", "hw4/assignments.py"), name
        for line in DISTINCTIVE:
            assert line not in text, f"{name} contains the solution line {line!r}"
        stripped = "\n".join(line.strip() for line in text.splitlines() if line.strip())
        for block in blocks:
            if len(block) > 1:
                assert "\n".join(block) not in stripped, f"{name} contains a solution block starting {block[0]!r}"


def test_nothing_can_rebuild_references(bundle):
    """No module imports ``solutions``; ``autograder`` only inside a try that handles its absence."""
    for path in (bundle / "hw4").rglob("*.py"):
        tree = ast.parse(path.read_text())
        guarded = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(
                    isinstance(h.type, ast.Name) and h.type.id in ("ModuleNotFoundError", "ImportError")
                    for h in node.handlers):
                guarded |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            assert "solutions" not in roots, f"{path} imports solutions"
            assert "autograder" not in roots or id(node) in guarded, f"{path} imports autograder unguarded"


def test_hw4_is_importable_standalone(bundle):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONPATH=str(bundle), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    done = subprocess.run([sys.executable, "-c", STANDALONE], cwd=bundle, env=env, capture_output=True, text=True,
                          timeout=180)
    out = done.stdout.splitlines()
    assert out and Path(out[0]).resolve() == (bundle / "hw4" / "__init__.py").resolve(), done.stdout + done.stderr
    assert done.returncode == 2, done.stdout + done.stderr  # `hw4 references` is refused: staff only
    assert "course staff" in done.stderr


def test_code_cells_have_no_outputs(bundle):
    for name in release.NOTEBOOKS:
        for cell in json.loads((bundle / name).read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None


# ------------------------------------------------------------------------------------------- badges


def _badge_targets(text: str) -> list[str]:
    return re.findall(r"\]\((https://colab\.research\.google\.com/github/[^)]*)\)", text)


def test_badges_point_at_the_target_repository(targeted, tree):
    repository, branch = TARGET
    found = texts(targeted)
    for name in (*release.NOTEBOOKS, "README.md"):
        targets = _badge_targets(found[name])
        assert targets, f"no Colab badge in {name}"
        assert "<!-- colab-badge -->" not in found[name]
        for url in targets:
            assert url.startswith(f"https://colab.research.google.com/github/{repository}/blob/{branch}/"), url
    for name in release.NOTEBOOKS:
        assert f"https://colab.research.google.com/github/{repository}/blob/{branch}/{name}" in _badge_targets(found[name])
    settings = read_settings(targeted / "hw4" / "data" / "install.json")
    assert (settings.repository, settings.branch) == TARGET
    for name in release.NOTEBOOKS:  # each setup cell installs the suite from the student repository
        assert f"git+https://github.com/{repository}@{branch}" in found[name], name
    # Nothing in the bundle points at the staff repository any more.
    for name, text in found.items():
        assert colab.REPOSITORY not in text, name
    # The source tree is untouched.
    assert read_settings(tree / "hw4" / "data" / "install.json").repository == colab.REPOSITORY


def test_default_badges_keep_the_repository(bundle):
    found = texts(bundle)
    for name in release.NOTEBOOKS:
        assert f"https://colab.research.google.com/github/{colab.REPOSITORY}/blob/{colab.BRANCH}/{name}" in \
            _badge_targets(found[name])
    assert (bundle / "hw4" / "data" / "install.json").read_text() == (REPO / "hw4" / "data" / "install.json").read_text()


def test_retargeting_changes_only_the_settings_file_of_the_package(bundle, targeted):
    """No source code is rewritten: the bundle's hw4 differs from the repository's in install.json's two settings."""
    package = {p.relative_to(bundle).as_posix() for p in (bundle / "hw4").rglob("*") if p.is_file()}
    differ = [n for n in sorted(package) if (bundle / n).read_bytes() != (targeted / n).read_bytes()]
    assert differ == ["hw4/data/install.json"]
    ours, theirs = (read_settings(b / "hw4" / "data" / "install.json") for b in (bundle, targeted))
    assert theirs == ours.retargeted(*TARGET) and ours == read_settings()


def test_notebooks_are_rendered_the_way_build_notebooks_renders_them(bundle):
    """Release renders through solutions/build.py: with the default target the bundle's notebooks are the committed
    stubs and runner, byte for byte."""
    for name in release.NOTEBOOKS:
        assert (bundle / name).read_text() == (REPO / name).read_text(), name


def test_student_readme_comes_from_its_template(targeted):
    readme = (targeted / "README.md").read_text()
    template = (REPO / "autograder" / "release_files" / "README.md").read_text()
    assert "$" not in readme and template.count("${") == 4
    for name in release.NOTEBOOKS:
        assert colab.badge_markdown(name, *TARGET) in readme
    assert readme.splitlines()[0] == template.splitlines()[0] and readme.endswith(template.rsplit("}", 1)[1])


# ---------------------------------------------------------------------------------------- behaviour


def test_rerelease_replaces_only_its_own_files(tree, tmp_path):
    out = tmp_path / "student-repo"
    (out / ".git").mkdir(parents=True)
    (out / "LICENSE").write_text("keep me")
    release.write_release(out, root=tree)
    (out / "hw4" / "stale.py").write_text("left over from an old release")
    release.write_release(out, *TARGET, root=tree)
    assert (out / "LICENSE").read_text() == "keep me" and (out / ".git").is_dir()
    assert not (out / "hw4" / "stale.py").exists()
    assert read_settings(out / "hw4" / "data" / "install.json").branch == "fall-2026"


@pytest.mark.parametrize("missing", ["runner.ipynb", "notebooks/homework4_stub.ipynb", "environment.yml",
                                     "hw4/data/selfcheck.pkl"])
def test_missing_input_is_a_clear_error(tree, tmp_path, missing):
    partial = tmp_path / "repo"
    shutil.copytree(tree, partial)
    (partial / missing).unlink()
    with pytest.raises(release.ReleaseError, match=re.escape(missing)):
        release.write_release(tmp_path / "out", root=partial)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("repository, branch", [("no-slash", None), ("a/b c", None), (None, "x;rm -rf"),
                                                (None, "../up")])
def test_bad_target_is_refused(tree, tmp_path, repository, branch):
    with pytest.raises(release.ReleaseError):
        release.write_release(tmp_path / "out", repository, branch, root=tree)


def test_refuses_to_write_over_the_repository(tree):
    with pytest.raises(release.ReleaseError):
        release.write_release(tree, root=tree)


def test_the_stub_is_generated_from_the_solutions_not_copied(tmp_path):
    """A TA who saved a solved stub in the working tree still releases an unsolved one."""
    import nbformat

    from solutions.build import source_notebook

    root = copy_tree(tmp_path / "repo")
    nbformat.write(source_notebook(), root / release.STUB)
    out = release.write_release(tmp_path / "bundle", root=root)
    stub = (out / release.STUB).read_text()
    assert "raise NotImplementedError()" in stub and "BEGIN SOLUTION" not in stub
    assert all(line not in stub for line in DISTINCTIVE)


def test_a_bundle_with_solution_code_is_refused(tmp_path):
    root = copy_tree(tmp_path / "repo")
    helper = root / "hw4" / "helpers.py"
    helper.write_text("def step(x, d, sigmas, i):\n    return x + d * (sigmas[i + 1] - sigmas[i])\n")
    with pytest.raises(release.ReleaseError, match=r"hw4/helpers.py holds solution code"):
        release.write_release(tmp_path / "bundle", root=root)
    assert not (tmp_path / "bundle").exists()


DDPM_CHECK = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if not (getattr(f, "__module__", "") or "").startswith("__editable__")]
import hw4.assignments as A
from hw4.selfcheck import run_checks
record = A.get("ddpm")
print(record.stub.exists(), record.self_check_data.exists())
namespace = {}
exec(sys.stdin.read(), namespace)
print(run_checks(namespace["beta_schedule"])[0][0].split()[0])
"""


def test_every_assignment_ships_and_the_ddpm_check_runs_from_the_bundle_alone(bundle):
    """Each assignment's notebook and self-check data are in the bundle, and a DDPM student's check() works there
    without the course's files (the cases' schedules and expected answers ship with hw4)."""
    from hw4.assignments import every

    names = {p.relative_to(bundle).as_posix() for p in files(bundle)}
    for record in every():
        assert record.stub.relative_to(REPO).as_posix() in names, record.key
        assert record.self_check_data.relative_to(REPO).as_posix() in names, record.key
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONPATH=str(bundle))
    source = (REPO / "solutions" / "ddpm.py").read_text()  # a student's file: the solutions as they are
    done = subprocess.run([sys.executable, "-c", DDPM_CHECK], cwd=bundle, env=env, input=source, capture_output=True,
                          text=True, timeout=300)
    assert done.stdout.split() == ["True", "True", "PASS"], done.stdout + done.stderr
