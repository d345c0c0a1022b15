"""Correct DDPM solutions written another way (float64 throughout, other orders of operations, the posterior-mean
form of the step): what a correct student may hand in, and what the tolerances must accept. ``tests/test_ddpm_cases.py``
grades them."""

import math

import torch

from hw4.ddpm_model import NULL_CLASS
from solutions.ddpm_mistakes import DDPM_SOLUTIONS_FILE, edited_module


def beta_schedule(beta1, beta2, T, schedule="linear"):
    """float64 all along, returned as float64."""
    if schedule == "linear":
        return torch.cat([torch.zeros(1, dtype=torch.float64), torch.linspace(beta1, beta2, T, dtype=torch.float64)])
    t = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cat([torch.zeros(1, dtype=torch.float64), betas])


def ddpm_schedules(beta1, beta2, T, schedule="linear"):
    """float64, with alphabar as exp(cumsum(log)) and 1 - alphabar by expm1."""
    beta_t = beta_schedule(beta1, beta2, T, schedule)
    alpha_t = 1 - beta_t
    log_ab = torch.cumsum(torch.log1p(-beta_t), 0)
    alphabar_t = torch.exp(log_ab)
    sqrtmab = torch.sqrt(-torch.expm1(log_ab))
    mab = torch.where(sqrtmab > 0, beta_t / torch.where(sqrtmab > 0, sqrtmab, 1), torch.zeros_like(beta_t))
    return {"beta_t": beta_t, "sqrt_beta_t": beta_t.sqrt(), "alpha_t": alpha_t, "alphabar_t": alphabar_t,
            "sqrtab": torch.exp(log_ab / 2), "oneover_sqrta": alpha_t.rsqrt(), "sqrtmab": sqrtmab,
            "mab_over_sqrtmab": mab}


def ddpm_loss(model, x0, labels, schedules, prediction, generator):
    """The same draws, the mean as a sum over elements divided by their count."""
    T = len(schedules["beta_t"]) - 1
    t = torch.randint(1, T + 1, (x0.shape[0],), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    a, b = schedules["sqrtab"][t].unsqueeze(1), schedules["sqrtmab"][t].unsqueeze(1)
    out = model(b * noise + a * x0, t, labels)
    target = x0 if prediction == "sample" else noise
    return torch.sum((target - out) ** 2) / out.numel()


@torch.no_grad()
def ddpm_sample(model, labels, schedules, prediction="epsilon", guidance=0.0, generator=None, keep_every=20):
    """The posterior-mean form (coefficients of x0 and x_t), computed in float64, the model fed float32."""
    s = {k: v.double() for k, v in schedules.items()}
    T = len(s["beta_t"]) - 1
    x = torch.randn((labels.shape[0], 64), generator=generator).double()
    kept = []
    for t in range(T, 0, -1):
        if t % keep_every == 0:
            kept.append(x.float())
        steps = torch.full((x.shape[0],), t, dtype=torch.long)
        cond = model(x.float(), steps, labels).double()
        out = cond
        if guidance:
            uncond = model(x.float(), steps, torch.full_like(labels, NULL_CLASS)).double()
            out = cond + guidance * (cond - uncond)
        ab, ab_prev, beta = s["alphabar_t"][t], s["alphabar_t"][t - 1], s["beta_t"][t]
        x0 = out if prediction == "sample" else (x - (1 - ab).sqrt() * out) / ab.sqrt()
        x0 = x0.clamp(-1, 1)
        x = ab_prev.sqrt() * beta / (1 - ab) * x0 + s["alpha_t"][t].sqrt() * (1 - ab_prev) / (1 - ab) * x
        if t > 1:
            x = x + beta.sqrt() * torch.randn(x.shape, generator=generator).double()
    kept.append(x.float())
    return x.float(), torch.stack(kept)


TRAIN_EDITS = (
    ("        optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n",
     "        loss.backward()\n        optimizer.step()\n        optimizer.zero_grad(set_to_none=False)\n"),
    ("losses.append(loss.item())", "losses.append(float(loss.detach()))"),
)
"""``train`` is the solution's loop with these edits (made as the mistake catalogue makes its entries, so the loop is
written once): the same draws and updates, the gradients cleared with set_to_none=False after the step, the losses
read with float(loss.detach())."""

_edited = edited_module(DDPM_SOLUTIONS_FILE, [("rewritten_train", "train", TRAIN_EDITS)])
_edited.ddpm_loss = ddpm_loss  # the edited loop calls this file's loss, as the other rewrites call each other
train = _edited.train
