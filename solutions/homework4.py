"""Reference solutions to Homework 4: the one place the solution code lives (keep its line count: error lines
in tests/golden/ count from here). The autograder imports this module to build reference answers, and the
nbgrader source notebook is generated around these functions (``hw4 build-notebooks``): the ``### BEGIN SOLUTION``
/ ``### END SOLUTION`` regions become ``raise NotImplementedError()`` in the student's notebook. ``SAMPLE_RATE``
and ``model`` are set by whoever runs the functions (the runner does it with ``hw4.answers.bind_globals``).
"""

from typing import Any

import torch
from k_diffusion.utils import append_dims

SAMPLE_RATE = 44100  # replaced by model.sample_rate when the functions run
model: Any = None  # replaced by the loaded model, an hw4.model.AudioModel (it has .pretransform.downsampling_ratio)


def to_d(x, sigma, denoised):
    """Convert the denoiser's clean estimate (x-prediction) into the ODE derivative dx/dsigma."""
    ### BEGIN SOLUTION
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    return (x - denoised) / append_dims(sigma, x.ndim)
    ### END SOLUTION


def simple_sample(model, x, sigmas, extra_args=None):
    """Euler sampler: walk x from noise level sigmas[0] down to sigmas[-1]."""
    extra_args = {} if extra_args is None else extra_args
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        ### BEGIN SOLUTION
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        d = to_d(x, sigmas[i], denoised)
        x = x + d * (sigmas[i + 1] - sigmas[i])
        ### END SOLUTION
    return x


def generate_inpainting_mask(reference, mask_start_s, mask_end_s):
    """A mask shaped like the latent ``reference``: 1 on the frames to regenerate, 0 on frames to keep."""
    ### BEGIN SOLUTION
    start = int(mask_start_s * SAMPLE_RATE / model.pretransform.downsampling_ratio)
    end = int(mask_end_s * SAMPLE_RATE / model.pretransform.downsampling_ratio)
    mask = torch.zeros_like(reference)
    mask[..., start:end] = 1
    return mask
    ### END SOLUTION


def simple_sample_inpaint(model, x, sigmas, reference, mask, extra_args=None):
    """Euler sampling that regenerates the masked frames and keeps the rest close to ``reference``."""
    extra_args = {} if extra_args is None else extra_args
    for i in range(len(sigmas) - 1):
        ### BEGIN SOLUTION
        x = simple_sample(model, x, sigmas[i : i + 2], extra_args)
        noised_reference = reference + torch.randn_like(reference) * sigmas[i + 1]
        x = mask * x + (1 - mask) * noised_reference
        ### END SOLUTION
    return x


def simple_sample_variable_inpaint(
    model, x, sigmas, reference, mask, extra_args=None, paint_start=None, paint_end=None
):
    """Inpainting that pins the unmasked frames to ``reference`` only on the steps of the paint window."""
    extra_args = {} if extra_args is None else extra_args
    paint_start = 0 if paint_start is None else paint_start
    paint_end = len(sigmas) - 1 if paint_end is None else paint_end
    for i in range(len(sigmas) - 1):
        ### BEGIN SOLUTION
        x = simple_sample(model, x, sigmas[i : i + 2], extra_args)
        if paint_start <= i < paint_end:
            noised_reference = reference + torch.randn_like(reference) * sigmas[i + 1]
            x = mask * x + (1 - mask) * noised_reference
        ### END SOLUTION
    return x


def simple_sample_style_transfer(model, sigmas, reference, extra_args=None, transfer_strength=0):
    """Noise ``reference`` part of the way up the schedule, then sample down from there."""
    ### BEGIN SOLUTION
    k = int(transfer_strength * (len(sigmas) - 1))
    x = reference + torch.randn_like(reference) * sigmas[k]
    return simple_sample(model, x, sigmas[k:], extra_args)
    ### END SOLUTION
