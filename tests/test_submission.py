"""Importing a student's notebook or nbconvert script keeps the definitions and runs nothing else."""

from __future__ import annotations

import json
import traceback
from pathlib import Path

import nbformat
import pytest

from hw4.submission import ImportReport, SubmissionError, import_submission, read_source, summary

# What ``jupyter nbconvert --to script`` makes of a typical homework notebook. Every
# statement that must not run writes into SIDE_EFFECTS (a folder set by the test).
SCRIPT = '''\
#!/usr/bin/env python
# coding: utf-8

# # Homework 4

# In[1]:


get_ipython().system('pip install stable-audio-tools')
get_ipython().run_line_magic('matplotlib', 'inline')


# In[2]:


import math
from pathlib import Path

import IPython.display as ipd
from google.colab import userdata

SIDE_EFFECTS = "unset"
SAMPLE_RATE = 48000
STEPS = (1, 2)
HF_TOKEN: str = "none"


def load_model():
    Path(SIDE_EFFECTS, "model_loaded").write_text("oops")
    raise SystemExit("no GPU here")


Path(SIDE_EFFECTS, "top_level_ran").write_text("oops")
model, model_config = load_model()


# In[3]:


def to_d(x, sigma, denoised):
    """Karras ODE derivative."""
    return (x - denoised) / sigma


def scaled(x, scale=SAMPLE_RATE):
    return x * scale


def uses_model(x):
    return model(x)


@staticmethod
def decorated_by_name(x):
    return x


def _no_grad():
    def wrap(fn):
        return fn
    return wrap


@_no_grad()
def decorated_by_call(x):
    return x + 1


class Sampler:
    steps = STEPS

    async def run(self):
        return math.pi


# In[4]:


for i in range(3):
    print(i)
    Path(SIDE_EFFECTS, f"loop_{i}").write_text("oops")
ipd.display(ipd.Audio([0.0] * 10, rate=SAMPLE_RATE))
print("done")
assert to_d(1, 1, 1) == 0
with open(Path(SIDE_EFFECTS, "with_block"), "w") as f:
    f.write("oops")
try:
    Path(SIDE_EFFECTS, "try_block").write_text("oops")
except Exception:
    pass
if __name__ == "__main__":
    Path(SIDE_EFFECTS, "main_block").write_text("oops")
'''


def _line(text: str) -> int:
    """Line number of the first SCRIPT line that starts with ``text``."""
    return next(i for i, line in enumerate(SCRIPT.split("\n"), start=1) if line.startswith(text))


def _script(tmp_path: Path) -> Path:
    effects = tmp_path / "effects"
    effects.mkdir()
    path = tmp_path / "homework4_stub.py"
    path.write_text(SCRIPT.replace('SIDE_EFFECTS = "unset"', f"SIDE_EFFECTS = {str(effects)!r}"))
    return path


def _notebook(tmp_path: Path, cells: list[nbformat.NotebookNode]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    path = tmp_path / "homework4_stub.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_script_keeps_definitions_and_runs_nothing_else(tmp_path: Path) -> None:
    path = _script(tmp_path)
    report = import_submission(path)
    m = report.module

    assert isinstance(report, ImportReport)
    assert m.__name__ == "homework4_stub"
    assert m.__file__ == str(path.resolve())
    assert not list((tmp_path / "effects").iterdir()), "a skipped statement was executed"

    assert m.to_d(3.0, 2.0, 1.0) == 1.0
    assert m.to_d.__doc__ == "Karras ODE derivative."
    assert m.scaled(2) == 96000
    assert m.decorated_by_call(1) == 2
    assert m.decorated_by_name is not None
    assert m.Sampler.steps == (1, 2)
    assert (m.SAMPLE_RATE, m.STEPS, m.HF_TOKEN) == (48000, (1, 2), "none")
    assert m.ipd.__name__ == "IPython.display"
    assert not hasattr(m, "model") and not hasattr(m, "userdata")
    with pytest.raises(NameError, match="model"):
        m.uses_model(1)

    assert len(report.failed_imports) == 1
    assert report.failed_imports[0].startswith(
        f"line {_line('from google')}: from google.colab import userdata  ("
    )
    assert "No module named 'google" in report.failed_imports[0]

    skipped = "\n".join(report.skipped)
    assert report.skipped[:5] == [
        f"line {_line('get_ipython().system')}: get_ipython().system('pip install stable-audio-tools')"
        "  (notebook magic: skipped)",
        f"line {_line('get_ipython().run_line')}: get_ipython().run_line_magic('matplotlib', 'inline')"
        "  (notebook magic: skipped)",
        f'line {_line("Path(SIDE")}: Path(SIDE_EFFECTS, "top_level_ran").write_text("oops")'
        "  (writes a file: skipped)",
        f"line {_line('model, ')}: model, model_config = load_model()  (loads or reads something: skipped)",
        f"line {_line('for i')}: for i in range(3): ...  (writes a file: skipped)",
    ]
    for text in ("ipd.display(", 'print("done")', "assert to_d", "with open(", "try: ...", "__main__"):
        assert text in skipped, text
    assert len(report.skipped) == 11
    assert report.skipped[-1].endswith('(`if __name__ == "__main__"` block: skipped)')


def test_extra_globals_are_seen_by_definitions_and_win_over_student_literals(tmp_path: Path) -> None:
    report = import_submission(_script(tmp_path), extra_globals={"SAMPLE_RATE": 44100, "model": abs})
    m = report.module
    assert m.SAMPLE_RATE == 44100
    assert m.scaled(1) == 48000  # the default was taken while the student's own value was set
    assert m.uses_model(-3) == 3


def test_extra_globals_are_there_before_definitions_run() -> None:
    source = "def f(x, m=model):\n    return m(x)\n\n@register\ndef g():\n    return 1\n"
    seen = []
    report = import_submission(
        source, extra_globals={"model": abs, "register": lambda fn: seen.append(fn) or fn}
    )
    assert report.module.f(-2) == 2
    assert [fn.__name__ for fn in seen] == ["g"]
    assert report.skipped == []


def test_definition_that_fails_is_reported_and_the_rest_still_imports() -> None:
    source = "@broken_decorator\ndef f():\n    return 1\n\ndef g():\n    return 2\n"
    report = import_submission(source)
    assert report.module.g() == 2
    assert not hasattr(report.module, "f")
    assert report.skipped == [
        "line 2: def f(): ...  (failed while defining it: NameError: name 'broken_decorator' is not defined)"
    ]


def test_tracebacks_point_at_the_students_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "homework4_stub.py"
    path.write_text("import math\n\n\ndef f(x):\n    return 1 / x\n")
    report = import_submission(path)
    with pytest.raises(ZeroDivisionError) as info:
        report.module.f(0)
    frame = traceback.extract_tb(info.tb)[-1]
    assert (frame.filename, frame.lineno, frame.line) == (str(path.resolve()), 5, "return 1 / x")


def test_dataclass_with_future_annotations() -> None:
    source = (
        "from __future__ import annotations\nfrom dataclasses import dataclass\n\n"
        "@dataclass\nclass Config:\n    steps: int = 10\n\ndef f() -> Undefined:\n    return Config().steps\n"
    )
    report = import_submission(source)
    assert report.module.f() == 10
    assert report.module.f.__annotations__ == {"return": "Undefined"}
    assert report.skipped == [] and report.failed_imports == []


def test_syntax_error_names_file_line_and_code(tmp_path: Path) -> None:
    path = tmp_path / "homework4_stub.py"
    path.write_text("import math\n\n\ndef to_d(x, sigma denoised):\n    return x\n")
    with pytest.raises(SubmissionError) as info:
        import_submission(path)
    message = str(info.value)
    assert message.startswith("homework4_stub.py line 4 has a syntax error (")
    assert message.endswith("): `def to_d(x, sigma denoised):`")


def test_bom_and_windows_newlines_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "homework4_stub.py"
    path.write_bytes("\ufeffSAMPLE_RATE = 44100\r\ndef f():\r\n    return 'é'\r\n".encode())
    assert read_source(path) == "SAMPLE_RATE = 44100\ndef f():\n    return 'é'\n"
    assert import_submission(path).module.f() == "é"


def test_notebook_drops_magics_and_keeps_line_numbers(tmp_path: Path) -> None:
    effects = tmp_path / "effects"
    effects.mkdir()
    path = _notebook(
        tmp_path,
        [
            nbformat.v4.new_markdown_cell("# Homework 4"),
            nbformat.v4.new_code_cell(
                f"%%bash\npip install stable-audio-tools\ntouch {effects / 'capture'}"
            ),
            nbformat.v4.new_code_cell(
                "!pip install k-diffusion\n%matplotlib inline\nimport math\nSAMPLE_RATE = 48000"
            ),
            nbformat.v4.new_code_cell(
                "def to_d(x, sigma, denoised):\n    %time\n    return (x - denoised) / sigma\n\n"
                f"open({str(effects / 'test')!r}, 'w')"
            ),
            nbformat.v4.new_code_cell("%%capture\ndef helper():\n    return 2"),  # a Python body: kept
        ],
    )
    source = read_source(path)
    assert "%" not in source and "!" not in source
    assert source.split("\n")[:8] == [
        "",
        "",
        "",
        "",
        "",
        "import math",
        "SAMPLE_RATE = 48000",
        "def to_d(x, sigma, denoised):",
    ]

    report = import_submission(path, extra_globals={"SAMPLE_RATE": 44100})
    assert report.module.to_d(3.0, 2.0, 1.0) == 1.0
    assert report.module.SAMPLE_RATE == 44100
    assert report.module.__file__ == str(path.resolve())
    assert not list(effects.iterdir())
    assert len(report.skipped) == 1 and report.skipped[0].startswith("cell 4 line 5: open(")
    assert report.module.helper() == 2
    assert [where for where, _, _ in report.blanked] == [
        "cell 2 line 1", "cell 2 line 2", "cell 2 line 3", "cell 3 line 1", "cell 3 line 2", "cell 4 line 2",
        "cell 5 line 1"]
    assert report.blanked[1] == ("cell 2 line 2", "pip install stable-audio-tools", "in a %%bash cell")


def test_notebook_syntax_error_names_cell_and_line(tmp_path: Path) -> None:
    path = _notebook(
        tmp_path,
        [
            nbformat.v4.new_code_cell("import math"),
            nbformat.v4.new_code_cell("x = 1\ndef to_d(x, sigma denoised):\n    pass"),
        ],
    )
    with pytest.raises(
        SubmissionError, match=r"^homework4_stub\.ipynb cell 2 line 2 has a syntax error .*: `def to_d"
    ):
        import_submission(path)


def test_broken_notebook_file(tmp_path: Path) -> None:
    path = tmp_path / "homework4_stub.ipynb"
    path.write_text("{not json")
    with pytest.raises(SubmissionError, match="could not be read as a Jupyter notebook"):
        import_submission(path)


def test_hand_edited_notebook_that_fails_the_schema_still_imports(tmp_path: Path) -> None:
    path = tmp_path / "homework4_stub.ipynb"
    cell = {
        "cell_type": "code",
        "source": ["!nvidia-smi\n", "def f():\n", "    return 7\n"],
    }  # no metadata, outputs
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 2, "metadata": {}, "cells": [cell]}))
    assert import_submission(path).module.f() == 7


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    odd = tmp_path / "homework4_stub.txt"
    odd.write_text("x = 1\n")
    with pytest.raises(SubmissionError, match=r"^homework4_stub\.txt is not a \.py or \.ipynb file"):
        import_submission(odd)
    with pytest.raises(SubmissionError, match=r"homework4_stub\.py does not exist\.$"):
        import_submission(str(tmp_path / "homework4_stub.py"))
    with pytest.raises(SubmissionError, match="does not exist"):
        read_source(tmp_path / "missing.ipynb")


def test_import_leaves_sys_modules_alone() -> None:
    import sys

    assert "homework4_stub" not in sys.modules
    import_submission("def f():\n    return 1\n")
    assert "homework4_stub" not in sys.modules


def test_summary_lists_kept_and_skipped(tmp_path: Path) -> None:
    text = summary(import_submission(_script(tmp_path)))
    assert text.splitlines()[0] == "Imported homework4_stub.py."
    assert (
        "Functions: load_model, to_d, scaled, uses_model, decorated_by_name, _no_grad, decorated_by_call."
        in text
    )
    assert "Classes: Sampler." in text
    assert f"line {_line('model, ')}: model, model_config = load_model()" in text
    assert "from google.colab import userdata" in text

    many = "".join(f"print({i})\n" for i in range(25)) + "def f():\n    pass\n"
    lines = summary(import_submission(many)).splitlines()
    assert "  ... and 15 more" in lines
    assert len(lines) < 20


def test_only_lines_that_start_a_statement_are_blanked_as_magics() -> None:
    """``% y`` continuing a bracket and ``!`` inside a string are Python; a magic under an ``if`` keeps its block."""
    source = (
        "#%%\n"
        "X = ('%d'\n"
        "     % 3)\n"
        'NOTE = """\n'
        "!not a shell line\n"
        '"""\n'
        "if X:\n"
        "    !echo hi\n"
        "#%%\n"
        "%%writefile notes.txt\n"
        "def not_python(:\n"
    )
    report = import_submission(source)
    assert report.module.X == "3" and report.module.NOTE == "\n!not a shell line\n"
    assert [(where, text, why) for where, text, why in report.blanked] == [
        ("line 8", "!echo hi", "shell command"),
        ("line 10", "%%writefile notes.txt", "IPython magic"),
        ("line 11", "def not_python(:", "in a %%writefile cell"),
    ]
    assert [name for _, name, _ in report.kept] == ["X", "NOTE"]
