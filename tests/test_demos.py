"""The notebooks' demo cells, run before their functions are written: one line naming the stub, no traceback."""

from __future__ import annotations

import pytest

from hw4.demos import when_implemented


def to_d(x, sigma, denoised):
    raise NotImplementedError()


def simple_sample(model, x, sigmas, extra_args=None):
    return to_d(x, sigmas[0], x)


def test_a_demo_names_the_innermost_stub_and_the_cell_goes_on(capsys):
    ran = []
    with when_implemented():
        simple_sample(None, 1.0, [1.0])
        ran.append("after the stub")  # skipped: the block stops at the stub
    ran.append("after the block")
    assert capsys.readouterr().out == "Implement to_d above first: this cell uses it.\n"
    assert ran == ["after the block"]


def test_a_demo_whose_functions_exist_prints_nothing(capsys):
    with when_implemented():
        value = 2 + 2
    assert value == 4 and capsys.readouterr().out == ""


def test_a_stub_raised_from_no_named_function_still_gets_one_line(capsys):
    cell = "with when_implemented():\n    raise NotImplementedError\n"  # a cell's own code runs as <module>
    exec(compile(cell, "<cell>", "exec"), {"when_implemented": when_implemented})
    assert capsys.readouterr().out == "Implement the functions above first: this cell uses them.\n"


def test_other_errors_are_not_hidden():
    with pytest.raises(ZeroDivisionError), when_implemented():
        1 / 0  # noqa: B018
