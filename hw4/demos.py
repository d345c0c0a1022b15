"""The notebooks' demo cells run before the functions they show are written: ``when_implemented`` turns a stub's
``NotImplementedError`` into one line naming the function to write (homework and lab notebooks)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

ANONYMOUS = ("<module>", "<lambda>", "<listcomp>", "<dictcomp>", "<genexpr>")


def unimplemented_function(err: NotImplementedError) -> str | None:
    """The name of the function that raised ``err`` (the innermost frame), or None when it is no named function."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    name = tb.tb_frame.f_code.co_name if tb is not None else None
    return None if name is None or name in ANONYMOUS else name


@contextlib.contextmanager
def when_implemented() -> Iterator[None]:
    """Run a demo cell's block; if a function it calls is still a stub, print which one to implement first and
    skip the rest of the block (the cell's later lines still run)."""
    try:
        yield
    except NotImplementedError as err:
        name = unimplemented_function(err)
        print(f"Implement {name} above first: this cell uses it." if name else
              "Implement the functions above first: this cell uses them.")
