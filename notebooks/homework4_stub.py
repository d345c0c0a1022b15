#!/usr/bin/env python
# coding: utf-8

# # Homework 4: Sampling from Stable Audio Open
# 
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/hw4-course/homework4-stable-audio/blob/main/notebooks/homework4_stub.ipynb)
# 
# Nobody trains a large text-to-audio model for a homework, but anyone can learn to *use* one. In this homework you take a pretrained latent diffusion model, Stable Audio Open (SAO), and write the code that turns it into a generator: first a bare-bones sampler, then three ways to steer it at inference time, with no retraining at all. You will fill a gap in an existing clip (inpainting), choose during which denoising steps the gap is tied to its surroundings (variable inpainting), and carry the character of a reference clip into a new generation (style transfer).
# 
# All of it happens in SAO's **latent space**. Its autoencoder compresses every 2048 audio samples into one frame of 64 channels, and your functions only ever handle those latents. Decoding them to audio is just for listening, so you do not need a GPU.
# 
# By default the suite loads a small **embedded** model instead of SAO. It has SAO's structure and interfaces (64-channel latents, 2048 samples per frame, the v-objective, prompt conditioning and guidance), ships with the suite, and runs offline in seconds. It is a 1.3-million-parameter transformer trained on nine kinds of synthetic sound: drums, piano, bass, sweep, bells, rain, pad, wind and lead. A prompt that names one of them ("soft piano chords", "heavy rain") gets that kind of sound. Its autoencoder is simple enough to read: each latent channel is the loudness of one frequency band in one 46 ms frame, from the lowest band at the bottom of a plot to about 20 kHz at the top, so every latent you plot is a spectrogram. Decoded, it sounds like a vocoder, and it flickers a little from frame to frame: it is far from SAO, but you can see and hear what each question does. The real SAO is one setting away (`MODEL = "sao"` below); it needs a Hugging Face token with access to the model.
# 
# The questions build on one another, so work through them in order. Each ends with a `check(...)` cell, which runs your function on a few small cases and prints the verdict the grader would give on them: PASS, TODO, or FAIL with the name of the mistake when it is a known one. Each question also has two hints, folded: open the first only when stuck, the second only after the first.

# ## Setup
# 
# The next cell prepares the runtime. Outside Colab it only prints a line: there you install the suite yourself (`bash scripts/setup.sh` in the homework folder, then use `.venv`). On Colab it installs the suite and the packages it needs, leaving Colab's own torch alone.
# 
# To sample with the real SAO on Colab: accept the model's licence on its Hugging Face page, add a Colab secret named `HF_TOKEN` holding your token (key icon in the left sidebar, with notebook access switched on), and change the cell to `setup(model="sao")`.

# In[ ]:


# Setup: on Colab this installs the homework's packages; elsewhere it does nothing.
import importlib.util, subprocess, sys
if "google.colab" in sys.modules and importlib.util.find_spec("hw4") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "git+https://github.com/hw4-course/homework4-stable-audio@main"], check=True)
import hw4.colab
hw4.colab.setup(model='embedded');


# ## The model
# 
# `load_model` gives back the model and its config. Two of its attributes matter for this homework: `model.sample_rate` (44.1 kHz, kept below as `SAMPLE_RATE`) and `model.pretransform.downsampling_ratio`, the number of audio samples per latent frame.
# 
# Your sampling functions never call `model` itself. Their `model` argument is a **denoiser**: k-diffusion's `VDenoiser` wrapped around SAO's transformer. The network was trained to predict v, and the wrapper converts that, so `denoiser(x, sigma, **extra_args)` returns the model's estimate of the *clean* latent (an x-prediction). The one exception is Q2, which reads the frame rate from the global `model` loaded here. Your functions may use the names this cell defines (`model`, `model_config`, `SAMPLE_RATE`, `MODEL`, `device`) and constants you compute from them at the top level: the runner provides the same names when it makes your answers file.
# 
# For the real Stable Audio Open set `MODEL = "sao"`: it downloads several GB of weights and needs `HF_TOKEN` (see Setup). Nothing else changes, and the self-checks always use the embedded model, so they stay fast either way. The examples below run on one CPU thread, which is the fastest for latents this small.

# In[ ]:


import torch
from k_diffusion.utils import append_dims
from hw4.model import load_model
from hw4.sampling import setup_sampling
from hw4.clips import clip_latent
from hw4.selfcheck import check
from hw4 import plots

torch.set_num_threads(1)  # small latents: one thread is fastest, and the answers are the same on every machine
MODEL = "embedded"  # or "sao" for the real Stable Audio Open (needs HF_TOKEN)
model, model_config = load_model(MODEL)
SAMPLE_RATE = model.sample_rate
device = "cpu"


# ## The choices you must match
# 
# The self-checks and the autograder compare your outputs with a reference solution number by number, so the few choices the maths leaves open are fixed. Everything else (the formulas themselves) is for you to derive.
# 
# - **A noise level per batch item.** `sigma` may be a number or a tensor with one value per batch item, while `x` is `[batch, 64, frames]`. Each batch item uses its own level: with `x` of shape `[2, 64, 8]` and `sigma = torch.tensor([0.5, 80.0])`, every entry of item 0 goes with 0.5 and every entry of item 1 with 80. A `[2]` tensor does not broadcast against `[2, 64, 8]` by itself; `append_dims(sigma, 3)` has shape `[2, 1, 1]`, which does.
# - **Seconds to frames.** A time falls in the frame that contains it (round down), and frames are counted from 0. The mask covers the frame of the start time up to, *but not including*, the frame of the end time; past the last frame it simply stops. Example with a made-up rate of 10 frames per second: from 0.25 s to 0.61 s the mask is 1 on frames 2, 3, 4 and 5 (0.25 s is in frame 2, 0.61 s in frame 6, which is left out). The mask has the shape, dtype and device of `reference`.
# - **The paint window.** Steps are numbered `i = 0, 1, ..., len(sigmas) - 2` (step `i` goes from `sigmas[i]` to `sigmas[i + 1]`). The window is half-open, like `range`: with `paint_start=2` and `paint_end=5`, the reference is enforced after steps 2, 3 and 4, not after step 5. Left as `None`, the window is every step.
# - **Random draws.** The grader seeds torch before each case, so one extra or missing `torch.randn_like` shifts all the noise that follows. Draw noise with `torch.randn_like(reference)` only:
#   - `to_d`, `simple_sample`: no draws.
#   - inpainting (Q3): one draw per step, after that step's Euler update; 8 steps, 8 draws.
#   - variable inpainting (Q4): one draw on each step that enforces the reference, none on the others; 8 steps with the window 2 to 5 above, 3 draws. (Drawing on every step and using only the draws inside the window is accepted too.)
#   - style transfer (Q5): one draw, before sampling.
# - **From strength to a starting index.** `transfer_strength` picks the index into `sigmas` that sampling starts from, rounding down. On a schedule of 8 steps (9 levels, the last one 0): strength 0.0 starts at index 0, 0.3 at index 2, 0.7 at index 5, and 1.0 at index 8, the final level 0, so that the reference comes back unchanged.

# ## Q1. A simple diffusion sampler
# 
# Training a diffusion model and sampling from it are two very different algorithms. Training only ever asks the network to clean up one noisy example at a time; generation is a journey from pure noise down to data that the training loop never performs. That journey, the **sampler**, is ours to write. You will build the simplest one in two parts.
# 
# ### Q1.1 `to_d`: from a clean estimate to a direction
# 
# A denoising network can be trained to predict the noise (ε-prediction), the clean signal (x-prediction) or a blend of the two (v-prediction), but every one of these carries the same information as the **score**, the gradient of the log-density of noisy data. The score points towards more data-like `x`, which is exactly what a sampler needs to know at every step.
# 
# Our denoiser predicts the clean latent, with noisy latents made as `x = x0 + sigma * noise`. Derive from Tweedie's formula the derivative `dx/dsigma` of the probability-flow ODE in terms of `x`, `sigma` and the denoiser's output. It is a one-liner.
# 
# - **Inputs**: `x`, the current noisy latent `[batch, 64, frames]`; `sigma`, its noise level (a number, or one value per batch item: see "A noise level per batch item"); `denoised`, the model's clean estimate, shaped like `x`.
# - **Returns**: the derivative, shaped like `x`.
# 
# <details><summary>Hint 1</summary>
# 
# Tweedie's formula writes the posterior mean `E[x0 | x]`, which is what the denoiser estimates, in terms of `x`, `sigma` and the score of the noisy data.
# 
# </details>
# <details><summary>Hint 2</summary>
# 
# For noise added as `x0 + sigma * noise`, the probability-flow ODE is dx/dsigma = -sigma * score(x). Solve Tweedie's formula for the score and substitute it.
# 
# </details>

# In[ ]:


def to_d(x, sigma, denoised):
    """Convert the denoiser's clean estimate (x-prediction) into the ODE derivative dx/dsigma."""
    raise NotImplementedError()


# In[ ]:


check(to_d)


# ### Q1.2 `simple_sample`: Euler steps down the schedule
# 
# With a direction available at any noise level, sampling is a loop. Start with `x` as Gaussian noise at the top level `sigmas[0]`, then for every pair of neighbouring levels:
# 
# 1. ask the model for its clean estimate of `x` at the current level, passing the conditioning along;
# 2. turn that estimate into a direction with `to_d`;
# 3. move `x` along that direction by one Euler step, from the current noise level to the next.
# 
# The schedule ends at `sigmas[-1] = 0`, so the last step lands on a clean latent.
# 
# - **Inputs**: `model`, the denoiser, called as `model(x, sigma, **extra_args)`; `x`, the starting noise; `sigmas`, noise levels in decreasing order; `extra_args`, the prompt conditioning and guidance settings, passed through untouched.
# - **Returns**: the final `x`.
# 
# <details><summary>Hint 1</summary>
# 
# The skeleton already has the loop; its body is about three lines. The denoiser wants `sigma` as a tensor with one entry per batch item: the skeleton makes a vector of ones, `s_in`, for that.
# 
# </details>
# <details><summary>Hint 2</summary>
# 
# An Euler step for dx/dsigma moves `x` by the derivative times the change in sigma over the step. Mind the sign of that change: the noise level goes down.
# 
# </details>

# In[ ]:


def simple_sample(model, x, sigmas, extra_args=None):
    """Euler sampler: walk x from noise level sigmas[0] down to sigmas[-1]."""
    extra_args = {} if extra_args is None else extra_args
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        raise NotImplementedError()
    return x


# In[ ]:


check(simple_sample)


# `setup_sampling` prepares everything around the sampler for a prompt: the denoiser, the starting noise `x_T` (already scaled to `sigmas[0]`), the noise schedule and `extra_args`. SAO's schedule has 50 levels, evenly spaced on a log scale from 500 down to 0.3, followed by a final 0.

# In[ ]:


denoiser, x_T, sigmas, extra_args = setup_sampling(model, "warm ambient pad with soft reverb", seed=0)
plots.plot_sigmas(sigmas)


# Now sample, and compare the starting noise (divided by `sigmas[0]` to bring it to unit scale) with the result. The plot labels each channel with its frequency band: the noise has no structure, while the sample should show the steady bands of a pad. Listen, then try another prompt (say `"bright piano chords"`) or `cfg_scale=1.0` in `setup_sampling`: with less guidance the sample follows the prompt less closely.

# In[ ]:


try:
    sample = simple_sample(denoiser, x_T, sigmas, extra_args)
    display(plots.plot_latents(x_T / sigmas[0], sample, titles=["starting noise (scaled)", "sample"], model=model))
    display(plots.listen(model, sample))
except NotImplementedError:
    print("Implement simple_sample above first.")


# ## Q2. `generate_inpainting_mask`
# 
# With a working sampler we can start bending it to our will, without touching the weights. The first trick is **inpainting**: take an existing clip, blank out a stretch of it, and let the model fill the hole so that it fits its surroundings. Before that, we need a way to say which stretch: a mask.
# 
# The mask lives in latent space, so seconds have to become latent frames. The autoencoder turns every `model.pretransform.downsampling_ratio` audio samples into one frame, and audio runs at `SAMPLE_RATE` samples per second. At 44.1 kHz and 2048 samples per frame a 128-frame latent is about 5.9 s long.
# 
# - **Inputs**: `reference`, the latent to inpaint, `[1, 64, frames]`; `mask_start_s` and `mask_end_s`, where the stretch to regenerate starts and ends, in seconds.
# - **Returns**: `mask`, with the shape, dtype and device of `reference`: 1 on the frames to regenerate, 0 on the frames to keep (see "Seconds to frames" for the rounding and the end frame).
# 
# <details><summary>Hint 1</summary>
# 
# How many latent frames are there per second of audio? Work it out from the two numbers above, in units.
# 
# </details>
# <details><summary>Hint 2</summary>
# 
# Turn each time into a frame index with that rate, rounding as in the worked example, then set a slice of a zero tensor shaped like `reference` to 1. Slicing past the end of a tensor is harmless in PyTorch.
# 
# </details>

# In[ ]:


def generate_inpainting_mask(reference, mask_start_s, mask_end_s):
    """A mask shaped like the latent ``reference``: 1 on the frames to regenerate, 0 on frames to keep."""
    raise NotImplementedError()


# In[ ]:


check(generate_inpainting_mask)


# The suite comes with a few short reference clips, synthesised from formulas and encoded with the model's autoencoder (`chord`, `drums`, `bass_arpeggio`, `sweep`, `bells`, `rain`). Here is the drums clip, and a mask that regenerates 1.5 s to 3.0 s of it:

# In[ ]:


reference = clip_latent(model, "drums")
display(plots.listen(model, reference, title="reference: drums"))
try:
    mask = generate_inpainting_mask(reference, 1.5, 3.0)
    display(plots.plot_mask(mask[0, 0], SAMPLE_RATE, model.pretransform.downsampling_ratio))
except NotImplementedError:
    print("Implement generate_inpainting_mask above first.")


# ## Q3. `simple_sample_inpaint`
# 
# Inpainting is your sampler plus one extra operation per step. The model denoises the whole latent as usual, but after every Euler step the frames we want to keep are overwritten with the reference. Not with the clean reference, though: after a step the sampler's `x` carries a certain amount of noise, and a clean patch next to a noisy one is nothing the model has ever seen. So first bring the reference to the same noise level as `x` by adding fresh Gaussian noise of the right size, then combine the two with the mask: masked frames from `x`, all other frames from the noisy reference.
# 
# As the noise level falls, the kept frames approach the reference and reach it exactly at the final level 0, while the model has spent every step making the gap agree with them.
# 
# - **Inputs**: `model`, `x`, `sigmas` and `extra_args`, as for `simple_sample`; `reference`, the clip's latent; `mask`, from `generate_inpainting_mask` (1 = regenerate).
# - **Returns**: the inpainted latent.
# 
# <details><summary>Hint 1</summary>
# 
# Unlike `simple_sample`, this skeleton has no `s_in`: take each Euler step by calling your `simple_sample` on the two levels `sigmas[i : i + 2]`. Which noise level does `x` have after that call?
# 
# </details>
# <details><summary>Hint 2</summary>
# 
# Make the noisy reference at the level `x` has after the step (one `torch.randn_like(reference)` draw per step), then write a blend of `x` and the noisy reference that takes `x` where the mask is 1 and the reference where it is 0.
# 
# </details>

# In[ ]:


def simple_sample_inpaint(model, x, sigmas, reference, mask, extra_args=None):
    """Euler sampling that regenerates the masked frames and keeps the rest close to ``reference``."""
    extra_args = {} if extra_args is None else extra_args
    for i in range(len(sigmas) - 1):
        raise NotImplementedError()
    return x


# In[ ]:


check(simple_sample_inpaint)


# Let's replace the middle of the drums clip with something else. Compare the latents, and listen to the reference next to the result: outside the mask the result should match the reference.

# In[ ]:


denoiser, x_T, sigmas, extra_args = setup_sampling(model, "soft piano chords", seed=1)
try:
    mask = generate_inpainting_mask(reference, 1.5, 3.0)
    inpainted = simple_sample_inpaint(denoiser, x_T, sigmas, reference, mask, extra_args)
    display(plots.plot_latents(reference, inpainted, titles=["reference: drums", "inpainted 1.5-3.0 s"],
                               model=model, mask=mask))
    display(plots.listen(model, reference, title="reference: drums"), plots.listen(model, inpainted, title="inpainted"))
except NotImplementedError:
    print("Implement the functions above first.")


# ## Q4. `simple_sample_variable_inpaint`
# 
# Play with a few prompts and clips (with the real SAO) and you will hear that the edges of the inpainted stretch can be abrupt. The kept frames are forced onto the reference until the very last step, so the model never gets a chance to adapt them to the new material next door. One fix is to enforce the reference during only some of the steps. The early, noisy steps settle the overall structure and the late ones refine details, so pinning the reference only early keeps something of the clip's shape while leaving the later steps free to smooth the joins, at a price: the kept frames are no longer guaranteed to match the original, and the shorter the window, the further they drift.
# 
# `simple_sample_variable_inpaint` has two more arguments, `paint_start` and `paint_end`: it does the Q3 replacement only on the steps inside the window (see "The paint window"), and a plain Euler step on all the others.
# 
# - **Inputs**: as for `simple_sample_inpaint`, plus `paint_start` and `paint_end` (step indices). Left as `None`, the window covers every step, so that the defaults behave exactly like Q3.
# - **Returns**: the inpainted latent.
# 
# <details><summary>Hint 1</summary>
# 
# Start from your Q3 loop. Which part of the step depends on whether `i` is inside the window, and which part happens on every step?
# 
# </details>
# <details><summary>Hint 2</summary>
# 
# The skeleton already turns the `None`s into the full window. Guard the replacement, and its noise draw, with a condition on `i` that gives the worked example's steps 2, 3 and 4.
# 
# </details>

# In[ ]:


def simple_sample_variable_inpaint(
    model, x, sigmas, reference, mask, extra_args=None, paint_start=None, paint_end=None
):
    """Inpainting that pins the unmasked frames to ``reference`` only on the steps of the paint window."""
    extra_args = {} if extra_args is None else extra_args
    paint_start = 0 if paint_start is None else paint_start
    paint_end = len(sigmas) - 1 if paint_end is None else paint_end
    for i in range(len(sigmas) - 1):
        raise NotImplementedError()
    return x


# In[ ]:


check(simple_sample_variable_inpaint)


# Pin the reference for the first 10 of the 50 steps, then for the first 40, and compare. The cell also prints how closely the kept frames (outside the mask) follow the reference: a correlation of 1 means they match it exactly, 0 means they have nothing in common. Compare the two numbers: how much of the reference survives in the kept frames when it is pinned for only the first 10 steps?

# In[ ]:


def kept_correlation(result, reference, mask):
    keep = mask[0, 0] == 0
    a, b = result[..., keep].flatten(), reference[..., keep].flatten()
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])

try:
    mask = generate_inpainting_mask(reference, 1.5, 3.0)
    early = simple_sample_variable_inpaint(denoiser, x_T, sigmas, reference, mask, extra_args, paint_end=10)
    late = simple_sample_variable_inpaint(denoiser, x_T, sigmas, reference, mask, extra_args, paint_end=40)
    for name, result in (("paint_end=10", early), ("paint_end=40", late)):
        print(f"{name}: kept frames vs reference, correlation {kept_correlation(result, reference, mask):.2f}")
    display(plots.plot_latents(reference, early, late, titles=["reference: drums", "paint_end=10", "paint_end=40"],
                               model=model, mask=mask))
    display(plots.listen(model, reference, title="reference: drums"),
            plots.listen(model, early, title="paint_end=10"), plots.listen(model, late, title="paint_end=40"))
except NotImplementedError:
    print("Implement the functions above first.")


# ## Q5. `simple_sample_style_transfer`
# 
# The last trick needs no mask. To give a new generation the character of a reference clip, add noise to the *whole* reference, part of the way up the schedule, and run the sampler down from there with a new prompt. From a low noise level much of the reference survives and the model only repaints the details; from a high one little survives and the prompt takes over. (Image models know this trick as SDEdit, or img2img.)
# 
# - **Inputs**: `model`, `sigmas` and `extra_args`, as before (there is no `x`: the starting point is made from the reference); `reference`, the clip's latent; `transfer_strength`, a float from 0 to 1, where 1 means the output is the reference itself and 0 means the reference is ignored.
# - **Returns**: the generated latent.
# 
# <details><summary>Hint 1</summary>
# 
# You can build this from `simple_sample` (or from your variable inpainting). Work out the starting index for a few strengths from the table in "From strength to a starting index" first.
# 
# </details>
# <details><summary>Hint 2</summary>
# 
# From the starting index you know the noise level to start from: noise the reference to exactly that level (one draw), then let your sampler walk the remaining levels of the schedule, starting at that index.
# 
# </details>

# In[ ]:


def simple_sample_style_transfer(model, sigmas, reference, extra_args=None, transfer_strength=0):
    """Noise ``reference`` part of the way up the schedule, then sample down from there."""
    raise NotImplementedError()


# In[ ]:


check(simple_sample_style_transfer)


# Carry the chord clip into a new prompt at two strengths, and listen to the reference next to the results:

# In[ ]:


reference = clip_latent(model, "chord")
denoiser, x_T, sigmas, extra_args = setup_sampling(model, "distorted guitar lead", seed=2)
try:
    weak = simple_sample_style_transfer(denoiser, sigmas, reference, extra_args, transfer_strength=0.3)
    strong = simple_sample_style_transfer(denoiser, sigmas, reference, extra_args, transfer_strength=0.9)
    display(plots.plot_latents(reference, weak, strong, titles=["reference: chord", "strength 0.3", "strength 0.9"],
                               model=model))
    display(plots.listen(model, reference, title="reference: chord"),
            plots.listen(model, weak, title="strength 0.3"), plots.listen(model, strong, title="strength 0.9"))
except NotImplementedError:
    print("Implement simple_sample_style_transfer above first.")


# ## Submitting
# 
# Save this notebook (File > Save, or Ctrl+S), then run the cell below. From this notebook's own folder it converts the notebook to `homework4_stub.py`, runs your functions on every graded case (a minute or so on a laptop) and writes `homework4.pkl`; at the end it prints the full paths of the two files to upload to Gradescope. From a terminal, `hw4 submit path/to/homework4_stub.ipynb` does the same.
# 
# You do not need to comment anything out. The runner never runs your file as a whole: it keeps the imports, function definitions and constants computed without loading anything (such as `HOP = model.pretransform.downsampling_ratio`), skips everything else (loading the model, plots, players, checks), and tells you what it skipped.
# 
# On Colab the notebook is not a file the cell can read: download it with File > Download > Download .py, upload `homework4_stub.py` to the Files sidebar, and run `runner.ipynb`.

# In[ ]:


from hw4.runner import submit
submit("homework4_stub.ipynb")

