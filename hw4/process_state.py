"""The process state a homework function can change, saved and put back: torch's default dtype, grad mode and
thread count, the torch/numpy/``random`` generators, the working directory and ``sys.stdin`` (``saved_state``),
and a model's parameters, buffers and flags (``ModelGuard``). ``generation_state`` is the state every case starts
from."""

from __future__ import annotations

import contextlib
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

GENERATION_THREADS = 1  # float sums depend on the thread count; one thread makes answers bit-identical on a machine


@dataclass
class ProcessState:
    """What ``snapshot`` saved and ``restore`` puts back."""

    dtype: torch.dtype
    grad: bool
    threads: int
    cwd: str
    rng: tuple
    stdin: Any


def snapshot() -> ProcessState:
    """This process's state now."""
    return ProcessState(torch.get_default_dtype(), torch.is_grad_enabled(), torch.get_num_threads(), os.getcwd(),
                        (torch.get_rng_state(), np.random.get_state(), random.getstate()), sys.stdin)


def restore(state: ProcessState) -> None:
    """Put back what ``snapshot`` saved (a working directory that no longer exists stays changed)."""
    torch.set_default_dtype(state.dtype)
    torch.set_grad_enabled(state.grad)
    torch.set_num_threads(state.threads)
    torch.set_rng_state(state.rng[0])
    np.random.set_state(state.rng[1])
    random.setstate(state.rng[2])
    sys.stdin = state.stdin
    with contextlib.suppress(OSError):
        os.chdir(state.cwd)


@contextlib.contextmanager
def saved_state() -> Iterator[None]:
    """Run a block, then put this process's state back as it was before."""
    saved = snapshot()
    try:
        yield
    finally:
        restore(saved)


@contextlib.contextmanager
def generation_state() -> Iterator[None]:
    """Run a block in the state every case starts from (float32, no grad, one thread), then restore the caller's."""
    with saved_state():
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(False)
        torch.set_num_threads(GENERATION_THREADS)
        yield


class ModelGuard:
    """Restores the model's parameters, buffers and flags after a case run in this process (no fork available)."""

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.saved = {name: value.detach().clone() for name, value in model.state_dict().items()}
        self.flags = [(m, m.training) for m in model.modules()]
        self.requires_grad = [(p, p.requires_grad) for p in model.parameters()]

    def restore(self) -> bool:
        """Put everything back; True when something had been changed."""
        changed = False
        for module, training in self.flags:
            changed |= module.training != training
            module.training = training
        for parameter, requires_grad in self.requires_grad:
            parameter.requires_grad_(requires_grad)
        current = self.model.state_dict()
        if current.keys() != self.saved.keys() or any(
                current[k].shape != v.shape or not torch.equal(current[k], v) for k, v in self.saved.items()):
            self.model.load_state_dict(self.saved)
            changed = True
        return changed
