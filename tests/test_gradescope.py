"""The Gradescope autograder, offline: build the zip, unpack it into a fake /autograder, grade submissions.

Gradescope unpacks the zip into /autograder/source, copies run_autograder to /autograder and
puts the student's files in /autograder/submission; here that tree lives under tmp_path.
The script is run for real, with HW4_PYTHON pointing at this environment's interpreter
instead of the /autograder/venv that setup.sh would make.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder import gradescope_run as gradescope
from autograder import gradescope_zip, integrity
from autograder.references import reference_key
from hw4.assignments import DEFAULT, Assignment, get
from hw4.safe_pickle import AnswerFileError, dump_answers, load_answers

pytestmark = pytest.mark.slow  # whole run_autograder runs, sandboxed re-runs

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions" / "homework4.py"
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


@pytest.fixture(scope="module")
def correct_pickle(solution_pickle) -> Path:
    return solution_pickle


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory) -> Path:
    return gradescope_zip.build_zip(tmp_path_factory.mktemp("zip") / "autograder.zip")


@pytest.fixture
def root(tmp_path, zip_path) -> Path:
    return unpacked_autograder(tmp_path, zip_path)


def unpacked_autograder(tmp_path: Path, zip_path: Path | None = None) -> Path:
    """A fresh /autograder: source unpacked from the zip (built here when not given), run_autograder copied up,
    an empty submission folder."""
    if zip_path is None:
        zip_path = gradescope_zip.build_zip(tmp_path / "autograder.zip")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # extractall drops the mode bits; Gradescope keeps them
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, stat.S_IMODE(mode))
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    return root


def check_schema(results: dict) -> None:
    assert isinstance(results["score"], int | float)
    assert isinstance(results["output"], str) and results["output"]
    assert isinstance(results["tests"], list)
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], int | float) and isinstance(test["max_score"], int | float)
        assert test["status"] in {"passed", "failed"}
        assert test["visibility"] in VISIBILITIES
    json.dumps(results, allow_nan=False)


def written(root: Path) -> dict:
    results = json.loads((root / "results" / "results.json").read_text())
    check_schema(results)
    return results


def graded_tests(results: dict) -> list[dict]:
    return [t for t in results["tests"] if t["name"] != gradescope.INTEGRITY_TEST]


def run_script(root: Path, python: str = sys.executable, timeout: float = 300,
               **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HW4_")}
    env.update(HW4_AUTOGRADER_ROOT=str(root), HW4_PYTHON=python, **env_extra)
    return subprocess.run(["bash", str(root / "run_autograder")], env=env, cwd=root, capture_output=True,
                          text=True, timeout=timeout)


# ------------------------------------------------------------------------------------------- the zip


def test_zip_layout(zip_path):
    with zipfile.ZipFile(zip_path) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        scripts = {name: archive.read(name).decode() for name in ("setup.sh", "run_autograder")}
        config = json.loads(archive.read("gradescope.json"))
        constraints = archive.read("constraints.txt").decode()
    names = set(infos)
    for required in ("setup.sh", "run_autograder", "pyproject.toml", "requirements-nodeps.txt", "README.md",
                     "hw4/__init__.py", "hw4/embedded/model.safetensors", "autograder/gradescope_run.py", "autograder/gradescope_zip.py",
                     "solutions/homework4.py", "constraints.txt", "gradescope.json"):
        assert required in names, required
    key = reference_key("embedded")
    assert f"cache/{key}/references.pkl" in names
    assert config["model_name"] == "embedded" and config["reference_key"] == key
    assert "torch==" in constraints and "numpy==" in constraints
    for name in ("setup.sh", "run_autograder"):
        assert stat.S_IMODE(infos[name].external_attr >> 16) & 0o111, f"{name} is not executable"
    for name in names:
        assert not name.startswith(("/", "..")) and "/../" not in name
        assert "__pycache__" not in name and not name.endswith((".pyc", ".tmp"))
        assert not any(part.startswith(".") for part in name.split("/")), name
        if name.endswith(".pkl"):
            assert name.startswith((f"cache/{key}/", "hw4/data/")), name
    assert ".venv/" not in "".join(names) and not any(n.startswith(("build/", "tests/")) for n in names)

    setup = scripts["setup.sh"]
    assert "python3 -m venv" in setup and "/autograder/venv" in setup
    assert "torch torchvision torchaudio" in setup and "--no-deps" in setup and "requirements-nodeps.txt" in setup
    assert '-e "$SOURCE"' in setup and "/autograder/source" in setup
    assert "HW4_PYTHON" in scripts["run_autograder"] and "-m autograder.gradescope_run" in scripts["run_autograder"]
    assert "@" not in scripts["run_autograder"].replace("$@", "")


def test_scripts_are_valid_bash(zip_path, tmp_path):
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(tmp_path, members=["setup.sh", "run_autograder"])
    for name in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(tmp_path / name)], check=True)


def test_templates_fill_every_placeholder_and_keep_shell_variables():
    """Each file in ``gradescope_files`` renders with no placeholder left; each ``$$`` becomes the shell's ``$``."""
    values = {"MODEL": "sao", "TORCH_INDEX": "--index-url https://example.org/cpu ", "TORCH": "torch torchaudio",
              "OFFLINE": "0"}
    rendered = {}
    for path in sorted(gradescope_zip.TEMPLATES.iterdir()):
        raw, text = path.read_text(), gradescope_zip._template(path.name, **values)
        assert not any(f"${{{key}}}" in text or f"${key}" in text for key in values), path.name
        assert text.count("$") == raw.count("$$"), path.name  # every shell `$` survives, nothing else adds one
        rendered[path.name] = text
    assert "export HW4_MODEL=${HW4_MODEL:-sao}" in rendered["run_autograder"]
    assert 'ROOT=${HW4_AUTOGRADER_ROOT:-/autograder}' in rendered["run_autograder"]
    assert "status=$?" in rendered["run_autograder"]
    assert 'install --quiet --index-url https://example.org/cpu -c "$SOURCE/constraints.txt" torch torchaudio\n' in \
        rendered["setup.sh"]
    assert 'pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@"; }' in rendered["setup.sh"]
    assert "HF_HUB_OFFLINE=0 TRANSFORMERS_OFFLINE=0" in rendered["setup.sh"]
    with pytest.raises(KeyError):
        gradescope_zip._template("setup.sh", OFFLINE="1")


# --------------------------------------------------------------------------------------- grading


def test_full_marks_in_process(root, correct_pickle):
    shutil.copy(correct_pickle, root / "submission" / "homework4.pkl")
    results = gradescope.run_autograder(root=root)
    assert results == written(root)
    assert results["score"] == 100
    tests = graded_tests(results)
    assert len(tests) == 6 and all(t["status"] == "passed" and t["visibility"] == "visible" for t in tests)
    assert sum(t["max_score"] for t in tests) == 100


def test_run_autograder_script_end_to_end(root, correct_pickle):
    """The real script: full marks from the shipped cache (used as is) and a staff note from the real integrity
    check. The submitted .py does not even parse, so the re-run stops early (the pickle still earns the marks)."""
    nested = root / "submission" / "my files"
    nested.mkdir()
    shutil.copy(correct_pickle, nested / "homework4.pkl")
    (nested / "homework4_stub.py").write_text("def to_d(x, sigma, denoised:\n")
    (root / "submission" / "__MACOSX").mkdir()
    (root / "submission" / "__MACOSX" / "._homework4.pkl").write_bytes(b"\0\5\26\7 mac resource fork")
    cache = root / "source" / "cache" / reference_key("embedded")
    before = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}

    done = run_script(root)
    assert done.returncode == 0, done.stdout + done.stderr
    results = written(root)
    assert results["score"] == 100, results["output"]
    note = results["tests"][-1]
    assert note["name"] == gradescope.INTEGRITY_TEST and note["visibility"] == "after_published"
    assert note["max_score"] == 0 and note["score"] == 0
    assert note["status"] == "failed" and note["output"]
    assert results["stdout_visibility"] == "hidden"
    references_pkl = cache / "references.pkl"
    assert {"references.pkl"} <= set(before) and references_pkl.stat().st_mtime_ns == before["references.pkl"], \
        "the references were rebuilt instead of read from the zip's cache"


def test_notebook_only_in_a_read_only_folder_reproduces(root, correct_pickle):
    """The real script on ``homework4.pkl`` + ``homework4_stub.ipynb`` (no .py) in a read-only folder, as
    Gradescope mounts it: the re-run reads the notebook where it is (it used to write the converted .py beside
    it and fail with EROFS, so the note said "Integrity not checked") and nothing in the folder changes."""
    import nbformat

    from solutions.build import source_notebook

    submission = root / "submission"
    shutil.copy(correct_pickle, submission / "homework4.pkl")
    nbformat.write(source_notebook(), submission / "homework4_stub.ipynb")
    before = {p.name: p.read_bytes() for p in submission.iterdir()}
    for path in [*submission.iterdir(), submission]:
        path.chmod(0o555)
    try:
        done = run_script(root)
    finally:
        submission.chmod(0o755)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p.name: p.read_bytes() for p in submission.iterdir()} == before
    results = written(root)
    assert results["score"] == 100, results["output"]
    note = results["tests"][-1]
    assert note["name"] == gradescope.INTEGRITY_TEST and note["status"] == "passed", note["output"]
    assert note["output"].startswith("Integrity: homework4_stub.ipynb reproduces homework4.pkl"), note["output"]


RERUN_BUDGET_S = {DEFAULT: None, "ddpm": 1800}
"""``HW4_TIME_BUDGET_S`` per assignment (None: Gradescope's default): the DDPM re-run trains four models, minutes on
a loaded 2-core test machine, where the default 8 minutes would leave the note "could not finish"."""


@pytest.fixture(scope="module", params=[DEFAULT, "ddpm"])
def correct_submission(request, tmp_path_factory, zip_path, solution_pickle) -> tuple[Assignment, Path, Path]:
    """A graded assignment, its Gradescope zip and the answers file its solution code writes through the runner."""
    from hw4.runner import write_answers

    chosen = get(request.param)
    if chosen.key == DEFAULT:
        return chosen, zip_path, solution_pickle
    folder = tmp_path_factory.mktemp(f"zip-{chosen.key}")
    answers = folder / chosen.answers_file
    write_answers(chosen.solutions_file, answers, progress=False, quiet=True, assignment=chosen.key)
    return chosen, gradescope_zip.build_zip(folder / "autograder.zip", assignment=chosen.key), answers


def test_a_correct_submission_scores_full_marks_and_reproduces(tmp_path, correct_submission):
    """Each graded assignment's zip, as Gradescope runs it: the solution code as the student's ``.py`` beside the
    answers file it wrote; ``run_autograder`` gives 100 and the sandboxed re-run says the code reproduces it."""
    chosen, zip_file, answers = correct_submission
    root = unpacked_autograder(tmp_path, zip_file)
    assert json.loads((root / "source" / "gradescope.json").read_text())["assignment"] == chosen.key
    shutil.copy(answers, root / "submission" / chosen.answers_file)
    shutil.copy(chosen.solutions_file, root / "submission" / chosen.script)
    budget = RERUN_BUDGET_S[chosen.key]
    done = run_script(root, timeout=(budget or gradescope.TIME_BUDGET_S) + 300,
                      **({"HW4_TIME_BUDGET_S": str(budget)} if budget else {}))
    assert done.returncode == 0, done.stdout + done.stderr
    results = written(root)
    assert results["score"] == 100, results["output"]
    tests = graded_tests(results)
    assert [t["name"] for t in tests] == [q.title for q in chosen.questions.values()]
    assert all(t["status"] == "passed" for t in tests), tests
    note = results["tests"][-1]
    assert note["name"] == gradescope.INTEGRITY_TEST and note["status"] == "passed", note["output"]
    assert note["output"].startswith(f"Integrity: {chosen.script} reproduces {chosen.answers_file}"), note["output"]


def test_missing_submission(root):
    results = gradescope.run_autograder(root=root)
    assert results == written(root)
    assert results["score"] == 0 and results["tests"] == []
    assert results["output"] == gradescope.MISSING.format(answers="homework4.pkl", script="homework4_stub.py")
    assert results["output"].startswith("No homework4.pkl was submitted: ")


def test_missing_submission_folder(tmp_path):
    results = gradescope.run_autograder(root=tmp_path / "autograder")
    assert results["score"] == 0 and results["output"].startswith("No homework4.pkl was submitted: ")
    assert written(tmp_path / "autograder") == results


class Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_malicious_pickle_is_refused(root, tmp_path):
    marker = tmp_path / "pwned"
    (root / "submission" / "homework4.pkl").write_bytes(pickle.dumps({"questions": Evil(marker)}, protocol=4))
    results = gradescope.run_autograder(root=root)
    assert results["score"] == 0 and results["tests"] == []
    assert "refused" in results["output"]
    assert not marker.exists()
    assert written(root) == results


def test_garbage_file_gets_the_loaders_message(root):
    path = root / "submission" / "homework4.pkl"
    path.write_bytes(b"this is not a pickle, it is a shopping list\n")
    with pytest.raises(AnswerFileError) as expected:
        load_answers(path)
    results = gradescope.run_autograder(root=root)
    assert results["score"] == 0 and results["output"] == str(expected.value)
    assert written(root) == results


def test_incompatible_file_gets_cannot_grade_message(root):
    dump_answers({"meta": {"format": "something else"}, "questions": {}}, root / "submission" / "homework4.pkl")
    results = gradescope.run_autograder(root=root)
    assert results["score"] == 0 and "another version of the runner" in results["output"]


def test_unexpected_error_is_one_sentence(root, correct_pickle, monkeypatch, capsys):
    shutil.copy(correct_pickle, root / "submission" / "homework4.pkl")

    def broken(*_args, **_kwargs):
        raise RuntimeError("internal detail /autograder/source/solutions")

    monkeypatch.setattr(gradescope, "_grade", broken)
    results = gradescope.run_autograder(root=root)
    assert results["score"] == 0 and "RuntimeError" in results["output"]
    assert "internal detail" not in json.dumps(results) and "Traceback" not in json.dumps(results)
    assert written(root) == results
    assert "Traceback" in capsys.readouterr().out  # staff still get it, on stdout


class FakeIntegrity:
    def __init__(self, ok, message):
        self.ok, self.message = ok, message


@pytest.mark.parametrize("ok", [True, False, None])
def test_integrity_note_never_changes_the_score(root, correct_pickle, monkeypatch, ok):
    shutil.copy(correct_pickle, root / "submission" / "Homework4.PKL")  # name matched ignoring case
    (root / "submission" / "homework4_stub.py").write_text("# the student's code\n")
    calls = []

    def verify(submission, pickle_path, model, time_limit_s, assignment):
        calls.append(([Path(p).name for p in submission], Path(pickle_path).name, model, assignment))
        assert 0 < time_limit_s <= gradescope.TIME_BUDGET_S
        assert json.loads((root / "results" / "results.json").read_text())["score"] == 100  # written before
        return FakeIntegrity(ok, f"integrity says {ok}")

    monkeypatch.setattr(integrity, "verify", verify)
    results = gradescope.run_autograder(root=root)
    assert calls == [(["homework4_stub.py"], "Homework4.PKL", "embedded", "homework4")]
    assert results["score"] == 100
    note = results["tests"][-1]
    assert note == {"name": gradescope.INTEGRITY_TEST, "score": 0, "max_score": 0,
                    "status": "passed" if ok else "failed", "output": f"integrity says {ok}",
                    "visibility": "after_published"}
    assert "integrity" not in results["output"]


def test_integrity_crash_is_a_note(root, correct_pickle, monkeypatch):
    shutil.copy(correct_pickle, root / "submission" / "answers.pkl")  # the only .pkl
    (root / "submission" / "mine.py").write_text("# the only .py\n")

    def verify(*_args, **_kwargs):
        raise OSError("sandbox exploded")

    monkeypatch.setattr(integrity, "verify", verify)
    results = gradescope.run_autograder(root=root)
    assert results["score"] == 100
    assert results["tests"][-1]["status"] == "failed" and "OSError" in results["tests"][-1]["output"]


def test_find_submission(tmp_path):
    (tmp_path / "deep" / "er").mkdir(parents=True)
    assert gradescope.find_submission(tmp_path) == (None, ())
    (tmp_path / "a.pkl").write_bytes(b"")
    (tmp_path / "b.pkl").write_bytes(b"")
    assert gradescope.find_submission(tmp_path)[0] is None  # two unnamed pickles: ambiguous
    (tmp_path / "deep" / "er" / "homework4.pkl").write_bytes(b"")
    (tmp_path / "deep" / "HOMEWORK4.pkl").write_bytes(b"")
    (tmp_path / "deep" / "homework4_stub.py").write_text("")
    (tmp_path / ".homework4.pkl").write_bytes(b"")
    found, code = gradescope.find_submission(tmp_path)
    assert found == tmp_path / "deep" / "er" / "homework4.pkl" and code == (tmp_path / "deep" / "homework4_stub.py",)


# ------------------------------------------------------------------------------- the script's fallbacks


def test_script_without_python(root):
    done = run_script(root, python=str(root / "no" / "python"))
    assert done.returncode == 0
    results = written(root)
    assert results["score"] == 0 and "could not start Python" in results["output"]


def test_script_when_python_dies(root, tmp_path):
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\n[ "$1" = "-c" ] && exit 0\nexit 3\n')
    fake.chmod(0o755)
    (root / "results").mkdir()
    (root / "results" / "results.json").write_text('{"score": 100, "output": "stale", "tests": []}')
    done = run_script(root, python=str(fake))
    assert done.returncode == 0 and "status 3" in done.stdout
    results = written(root)
    assert results["score"] == 0 and "stopped unexpectedly" in results["output"]


def test_no_time_left_for_the_rerun_is_a_note(root, correct_pickle, monkeypatch):
    shutil.copy(correct_pickle, root / "submission" / "homework4.pkl")
    (root / "submission" / "homework4_stub.py").write_text("# the student's code\n")
    monkeypatch.setattr(gradescope, "TIME_BUDGET_S", 1.0)
    results = gradescope.run_autograder(root=root)
    assert results["score"] == 100 and "could not finish" in results["tests"][-1]["output"]


def test_prepare_finds_the_cached_references(zip_path):
    assert "found in the cache" in gradescope.prepare("embedded", catalogue=False)


def test_model_comes_from_the_zip(root, monkeypatch):
    monkeypatch.delenv("HW4_MODEL", raising=False)
    assert gradescope.default_model(root) == "embedded"
    monkeypatch.setenv("HW4_MODEL", "sao")
    assert gradescope.default_model(root) == "sao"


# ------------------------------------------------------------------------------------- a hostile student

# A class body runs at import: it looks for the grader's results folder (through its own environment, every
# process's environment and the usual path), forges a full score there, tries to kill every process it can
# see, and leaves a setsid daemon that forges the score again after the grader has finished. Then to_d hangs.
FORGER = '''
import json
import os
import signal
import time
from pathlib import Path

FORGED = json.dumps({{"score": 100, "output": "forged", "tests": []}})


def _forge():
    roots = {{os.environ.get("HW4_AUTOGRADER_ROOT", ""), "/autograder", {root!r}}}
    for pid in os.listdir("/proc"):
        try:
            for item in Path("/proc", pid, "environ").read_bytes().split(b"\\0"):
                if item.startswith(b"HW4_AUTOGRADER_ROOT="):
                    roots.add(item.split(b"=", 1)[1].decode())
        except OSError:
            pass
    for root in roots:
        try:
            Path(root, "results", "results.json").write_text(FORGED)
        except OSError:
            pass


class Attack:
    _forge()
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(3)
            _forge()
        os._exit(0)


def to_d(x, sigma, denoised):
    while True:
        time.sleep(1)
'''


def test_a_hostile_submission_cannot_forge_its_score(root, solution_pickle, tmp_path):
    worthless = load_answers(solution_pickle)
    for entry in worthless["questions"].values():
        entry["errors"] = {name: "NotImplementedError" for name in entry["answers"]}
        entry["answers"] = {}
    dump_answers(worthless, root / "submission" / "homework4.pkl")
    (root / "submission" / "homework4_stub.py").write_text(FORGER.format(root=str(root)))
    env_budget = {"HW4_TIME_BUDGET_S": "60"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("HW4_")}
    env.update(HW4_AUTOGRADER_ROOT=str(root), HW4_PYTHON=sys.executable, **env_budget)
    done = subprocess.run(["bash", str(root / "run_autograder")], env=env, cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    time.sleep(5)  # longer than the daemon would wait before forging again
    results = written(root)
    assert results["score"] == 0 and "forged" not in json.dumps(results)
    note = results["tests"][-1]
    assert note["name"] == gradescope.INTEGRITY_TEST and note["status"] == "failed"
