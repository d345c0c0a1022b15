"""Reference solutions to the lecture lab: the one place its solution code lives.

``hw4 build-notebooks`` puts each function into ``notebooks/template/lab.ipynb`` where it
says ``# solution: NAME``; nbgrader turns the ``### BEGIN SOLUTION`` regions into
``raise NotImplementedError()`` in ``notebooks/lab_stub.ipynb``. The self-check data of
the lab (``hw4/data/lab_selfcheck.pkl``) is these functions' answers to the self-check cases of
``hw4.assignments.LECTURE_LAB``.
None of them needs the model: they are the lecture's formulas, written as k-diffusion would.
"""

import math

import torch
from k_diffusion.sampling import append_zero
from k_diffusion.utils import append_dims


def corrupt_ve(x0, noise, sigma):
    """Variance exploding: x_sigma = x0 + sigma * noise."""
    ### BEGIN SOLUTION
    sigma = append_dims(torch.as_tensor(sigma, dtype=x0.dtype, device=x0.device), x0.ndim)
    return x0 + sigma * noise
    ### END SOLUTION


def corrupt_vp(x0, noise, sigma):
    """Variance preserving: x_sigma = sqrt(1 - sigma**2) * x0 + sigma * noise, for 0 <= sigma <= 1."""
    ### BEGIN SOLUTION
    sigma = append_dims(torch.as_tensor(sigma, dtype=x0.dtype, device=x0.device), x0.ndim)
    return torch.sqrt(1 - sigma**2) * x0 + sigma * noise
    ### END SOLUTION


def corrupt_flow(x0, noise, sigma):
    """Flow matching (rectified flow): x_sigma = (1 - sigma) * x0 + sigma * noise, for 0 <= sigma <= 1."""
    ### BEGIN SOLUTION
    sigma = append_dims(torch.as_tensor(sigma, dtype=x0.dtype, device=x0.device), x0.ndim)
    return (1 - sigma) * x0 + sigma * noise
    ### END SOLUTION


def cosine_sigma(t, T, s=0.008):
    """The cosine schedule: sigma(t) = sin((t / T + s) / (1 + s) * pi / 2), for a tensor of times t."""
    ### BEGIN SOLUTION
    return torch.sin((t / T + s) / (1 + s) * math.pi / 2)
    ### END SOLUTION


def get_sigmas_linear(n, sigma_min, sigma_max):
    """n noise levels evenly spaced from sigma_max down to sigma_min, then a final 0 (like k-diffusion's)."""
    ### BEGIN SOLUTION
    return append_zero(torch.linspace(sigma_max, sigma_min, n))
    ### END SOLUTION


def cfg_combine(uncond, cond, cfg_scale):
    """Classifier-free guidance: move from the unconditional estimate past the conditional one by cfg_scale."""
    ### BEGIN SOLUTION
    return uncond + (cond - uncond) * cfg_scale
    ### END SOLUTION
