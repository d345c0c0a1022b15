"""Reference solutions to the DDPM assignment (8x8 digits): the one place its solution code lives.

As ``homework4.py``: the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` regions become
``raise NotImplementedError()`` in the student's notebook. Conventions the notebook states:

- Steps are ``t = 1..T``. Every schedule tensor has ``T + 1`` entries; entry ``t`` belongs to step
  ``t``, and entry 0 to the clean image ``x_0`` (``beta_0 = 0``, so ``alphabar_0 = 1``; entry 0 of
  ``mab_over_sqrtmab``, a 0/0, is set to 0). Sampling and training never read entry 0.
- The model is called ``model(x_t, t, labels)`` (``hw4.ddpm_model``); ``labels`` equal to
  ``NULL_CLASS`` mean "no label".
- Random draws come from the ``generator`` passed in, in the order the docstrings state.
"""

import math

import torch

from hw4.ddpm_cases import SCHEDULE_KEYS  # noqa: F401  (the dict's keys, stated in the notebook)
from hw4.ddpm_model import NULL_CLASS

COSINE_OFFSET = 0.008  # improved DDPM's s
MAX_BETA = 0.999  # improved DDPM's clip


def beta_schedule(beta1, beta2, T, schedule="linear"):
    """``beta_t`` for ``t = 0..T`` (``T + 1`` entries, ``beta_0 = 0``): linear from beta1 to beta2, or cosine."""
    t = torch.arange(T + 1, dtype=torch.float64)
    ### BEGIN SOLUTION
    if schedule == "linear":
        betas = beta1 + (beta2 - beta1) * (t - 1) / (T - 1)
    elif schedule == "cosine":
        f = torch.cos((t / T + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
        alphabar = f / f[0]
        betas = torch.ones_like(t)
        betas[1:] = 1 - alphabar[1:] / alphabar[:-1]
        betas = betas.clamp(max=MAX_BETA)
    else:
        raise ValueError(f"unknown schedule {schedule!r}: use 'linear' or 'cosine'")
    betas[0] = 0
    ### END SOLUTION
    return betas.to(torch.float32)


def ddpm_schedules(beta1, beta2, T, schedule="linear"):
    """The precomputed terms of DDPM, a dict of ``T + 1``-entry tensors keyed by ``SCHEDULE_KEYS``."""
    assert beta1 < beta2 < 1.0, "beta1 and beta2 must be in (0, 1)"
    beta_t = beta_schedule(beta1, beta2, T, schedule)
    ### BEGIN SOLUTION
    sqrt_beta_t = torch.sqrt(beta_t)
    alpha_t = 1 - beta_t
    alphabar_t = torch.cumprod(alpha_t, dim=0)
    sqrtab = torch.sqrt(alphabar_t)
    oneover_sqrta = 1 / torch.sqrt(alpha_t)
    sqrtmab = torch.sqrt(1 - alphabar_t)
    mab_over_sqrtmab = torch.zeros_like(beta_t)
    mab_over_sqrtmab[1:] = (1 - alpha_t[1:]) / sqrtmab[1:]
    ### END SOLUTION
    return {
        "beta_t": beta_t, "sqrt_beta_t": sqrt_beta_t, "alpha_t": alpha_t, "alphabar_t": alphabar_t,
        "sqrtab": sqrtab, "oneover_sqrta": oneover_sqrta, "sqrtmab": sqrtmab, "mab_over_sqrtmab": mab_over_sqrtmab,
    }


def ddpm_loss(model, x0, labels, schedules, prediction, generator):
    """Mean squared error of the model's prediction at a random step, for a batch ``x0`` ([batch, 64]).

    Draws, in this order, from ``generator``: ``t`` uniform on 1..T (``[batch]``), then the noise
    (shaped like ``x0``). ``prediction`` is ``"epsilon"`` (the target is the noise) or ``"sample"`` (x0).
    """
    T = len(schedules["beta_t"]) - 1
    t = torch.randint(1, T + 1, (x0.shape[0],), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    ### BEGIN SOLUTION
    x_t = schedules["sqrtab"][t, None] * x0 + schedules["sqrtmab"][t, None] * noise
    target = noise if prediction == "epsilon" else x0
    return ((model(x_t, t, labels) - target) ** 2).mean()
    ### END SOLUTION


def predict_noise(model, x, t, labels, schedules, prediction, guidance):
    """The guided noise estimate at step ``t``, consistent with a clean estimate clipped to [-1, 1].

    Guidance combines the model's outputs as ``(1 + w) * cond - w * uncond``; the clean estimate
    is the output (``"sample"``) or ``(x - sqrtmab * eps) / sqrtab`` (``"epsilon"``), as in DDPM's
    own sampler, which clips it (without the clip, epsilon prediction with the cosine schedule
    diverges: ``1 / sqrt(alpha_T)`` is 31.6 there).
    """
    steps = torch.full((x.shape[0],), t, dtype=torch.long)
    ### BEGIN SOLUTION
    out = model(x, steps, labels)
    if guidance:
        out = (1 + guidance) * out - guidance * model(x, steps, torch.full_like(labels, NULL_CLASS))
    sqrtab, sqrtmab = schedules["sqrtab"][t], schedules["sqrtmab"][t]
    x0 = out if prediction == "sample" else (x - sqrtmab * out) / sqrtab
    return (x - sqrtab * x0.clamp(-1, 1)) / sqrtmab
    ### END SOLUTION


@torch.no_grad()
def ddpm_sample(model, labels, schedules, prediction="epsilon", guidance=0.0, generator=None, keep_every=20):
    """Ancestral sampling of one digit per label: the final ``x_0`` ([n, 64]) and the kept steps.

    Draws, in this order, from ``generator``: ``x_T`` ([n, 64]), then for t = T, ..., 2 the step's
    noise ([n, 64]; none at t = 1). Keeps ``x_t`` for every ``t`` that is a multiple of
    ``keep_every``, from ``T`` down to 0, stacked as ``[T // keep_every + 1, n, 64]``.
    """
    T = len(schedules["beta_t"]) - 1
    x = torch.randn((labels.shape[0], 64), generator=generator)
    kept = [x] if T % keep_every == 0 else []
    for t in range(T, 0, -1):
        ### BEGIN SOLUTION
        eps = predict_noise(model, x, t, labels, schedules, prediction, guidance)
        x = schedules["oneover_sqrta"][t] * (x - schedules["mab_over_sqrtmab"][t] * eps)
        if t > 1:
            x = x + schedules["sqrt_beta_t"][t] * torch.randn(x.shape, generator=generator)
        ### END SOLUTION
        if (t - 1) % keep_every == 0:
            kept.append(x)
    return x, torch.stack(kept)


def train(model, images, labels, schedules, prediction, steps, generator, batch_size=256, lr=2e-3, p_uncond=0.1):
    """Train ``model`` for ``steps`` Adam steps on ``images`` ([N, 64]); returns the losses.

    Each step draws, in this order, from ``generator``: the batch's indices (``[batch_size]``),
    which labels to drop for guidance (``[batch_size]`` uniforms below ``p_uncond``), then the loss's draws.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(steps):
        index = torch.randint(0, images.shape[0], (batch_size,), generator=generator)
        drop = torch.rand(batch_size, generator=generator) < p_uncond
        batch_labels = torch.where(drop, NULL_CLASS, labels[index])
        ### BEGIN SOLUTION
        loss = ddpm_loss(model, images[index], batch_labels, schedules, prediction, generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ### END SOLUTION
        losses.append(loss.item())
    model.eval()
    return losses
