"""The embedded model's autoencoder: a fixed signal-processing codec, not a trained network.

``BandCodec`` is a ``stable_audio_tools`` ``Pretransform``, so ``model.pretransform.encode``,
``decode`` and ``downsampling_ratio`` work as with SAO's VAE. A latent ``[batch, 64, frames]``
holds, per 2048-sample frame, the log energies of 64 frequency bands (mel-spaced, 0-22 kHz),
each frame shifted so that its mean over the bands is its loudness (the log of its mean band
energy), then scaled by fixed constants to roughly zero mean and unit variance: every latent is
a spectrogram, and a frame's loudness is linear in its latent (see ``log_energy_to_latent``). Decoding resynthesises audio: a fixed excitation (a sine at the centre of each
band below ``TONAL_MAX_HZ``, white noise above) is analysed once, its band energies are scaled
to the latent's frame by frame, and the result is overlap-added back (inverse STFT), followed
by ``REFINE_STEPS`` corrections that re-encode the audio and fix the remaining error per band.
Energies beyond the sound library's are bent back softly and a limiter keeps every sample within
full scale (see ``BAND_KNEE``), so a generation never clips.
``model.py`` attaches it in place of the config's ``"hw4_band_codec"`` pretransform.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from stable_audio_tools.models.pretransforms import Pretransform

HOP = 2048
N_FFT = 2 * HOP
BANDS = 64
SAMPLE_RATE = 44100
TONAL_MAX_HZ = 4000.0
EPS = 1e-6  # energy floor: about -60 dB below a full-scale sine
LOG_MEAN = -7.0  # fixed normalisation of the levelled log energies, measured on the sound library
LOG_SCALE = 3.0
# Decoding keeps the model's generations within the loudness of the sound library they learnt from: guidance
# extrapolates, and a generation can ask for more energy than any clip of the library has. Three soft stages,
# none a hard clamp, calibrated on the library (``sounds.library_latents``: loudest band ln-energy -1.2, loudest
# frame -0.7, median frame -2.65):
BAND_KNEE, BAND_CEILING = -4.5, -1.2  # a band's ln energy above the knee bends towards the library's loudest band
FRAME_KNEE, FRAME_CEILING = -2.0, -0.7  # a frame's total ln energy above the knee bends towards the loudest frame
PEAK = 0.98  # a look-ahead limiter turns the last overshoots down smoothly: |audio| <= PEAK always
LIMITER_BLOCK, LIMITER_BLOCKS = 64, 8  # its gain changes per 64 samples, over 8 blocks either side (12 ms)
REFINE_STEPS = 2
EXCITATION_SEED = 2048


def soft_ceiling(x: torch.Tensor, knee: float, ceiling: float) -> torch.Tensor:
    """``x`` unchanged up to ``knee``, then bent smoothly (tanh) so that it never exceeds ``ceiling``."""
    width = ceiling - knee
    return torch.where(x <= knee, x, knee + width * torch.tanh((x - knee) / width))


def limit_peaks(audio: torch.Tensor, peak: float = PEAK, block: int = LIMITER_BLOCK, blocks: int = LIMITER_BLOCKS) -> torch.Tensor:
    """``audio`` ``[..., samples]`` under a smooth gain that keeps every sample within ``peak`` (no hard clamp).

    Per ``block`` of samples, the gain the block needs (``peak / max |x|``, at most 1) is spread to the
    ``blocks`` blocks either side by a minimum, then smoothed by a moving average as wide: every average
    includes the block's own need, so no sample exceeds ``peak``, and the gain moves gradually."""
    shape, samples = audio.shape, audio.shape[-1]
    flat = torch.nn.functional.pad(audio.reshape(-1, samples), (0, -samples % block))
    loudest = flat.abs().reshape(flat.shape[0], -1, block).amax(-1)
    need = (peak / loudest.clamp(min=1e-12)).clamp(max=1.0)[:, None]
    size = 2 * blocks + 1
    spread = -torch.nn.functional.max_pool1d(-need, size, stride=1, padding=blocks)
    gain = torch.nn.functional.avg_pool1d(torch.nn.functional.pad(spread, (blocks, blocks), mode="replicate"), size, stride=1)
    gain = gain[:, 0].repeat_interleave(block, dim=-1)[:, :samples]
    return (flat[:, :samples] * gain).reshape(shape)


def log_energy_to_latent(log_energy: torch.Tensor) -> torch.Tensor:
    """Latent ``[..., bands, frames]`` of log band energies ``ln(energy + EPS)`` of the same shape.

    Each frame is shifted so that its mean over the bands is its loudness (the log of its mean band energy),
    and the shape of its spectrum (the log energies less their mean) is kept: guidance, which extrapolates
    latents, then extrapolates loudness in proportion and sharpens a spectrum without making it louder. On
    plain log energies a sharper spectrum is a louder one (the log of a sum grows with its largest term), and
    a guided gap came out several times louder than the frames around it. Exactly inverted by
    ``latent_to_log_energy``."""
    level = torch.logsumexp(log_energy, dim=-2, keepdim=True) - math.log(log_energy.shape[-2])
    levelled = log_energy - log_energy.mean(dim=-2, keepdim=True) + level
    return (levelled - LOG_MEAN) / LOG_SCALE


def latent_to_log_energy(z: torch.Tensor) -> torch.Tensor:
    """Log band energies ``ln(energy + EPS)`` ``[..., bands, frames]`` of a latent: ``log_energy_to_latent`` undone."""
    levelled = z * LOG_SCALE + LOG_MEAN
    return torch.log_softmax(levelled, dim=-2) + levelled.mean(dim=-2, keepdim=True) + math.log(z.shape[-2])


def _mel(hz: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def band_edges(bands: int = BANDS, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT) -> torch.Tensor:
    """FFT-bin edges ``[bands + 1]`` of mel-spaced bands from 0 Hz to Nyquist, each at least one bin wide."""
    hz = _mel_to_hz(torch.linspace(0.0, float(_mel(torch.tensor(sample_rate / 2))), bands + 1, dtype=torch.float64))
    edges = torch.round(hz * n_fft / sample_rate).long()
    edges[-1] = n_fft // 2 + 1
    for i in range(1, bands + 1):  # widen the narrowest low bands to one bin at least
        edges[i] = max(int(edges[i]), int(edges[i - 1]) + 1)
    return edges


def band_centres_hz(bands: int = BANDS, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT) -> torch.Tensor:
    """The centre frequency of each band in Hz (the middle of its bins), for labelling plots."""
    edges = band_edges(bands, sample_rate, n_fft).double()
    return (edges[:-1] + edges[1:] - 1) / 2 * sample_rate / n_fft


class BandCodec(Pretransform):
    """Audio ``[batch, channels, frames * 2048]`` <-> normalised log band energies ``[batch, 64, frames]``."""

    def __init__(self, sample_rate: int = SAMPLE_RATE, io_channels: int = 2, bands: int = BANDS) -> None:
        super().__init__(enable_grad=False, io_channels=io_channels, is_discrete=False)
        self.sample_rate = sample_rate
        self.downsampling_ratio = HOP
        self.encoded_channels = bands
        edges = band_edges(bands, sample_rate, N_FFT)
        band_of_bin = torch.bucketize(torch.arange(N_FFT // 2 + 1), edges[1:], right=True)
        self.register_buffer("band_of_bin", band_of_bin, persistent=False)
        self.register_buffer("window", torch.hann_window(N_FFT, dtype=torch.float64), persistent=False)
        self.register_buffer("latent_dtype", torch.zeros((), dtype=torch.float32), persistent=False)
        self._excitation: torch.Tensor | None = None

    def parameters(self, recurse: bool = True) -> Iterator[torch.Tensor]:
        """No trainable parameters. ``generate_diffusion_cond`` casts latents to the dtype of the pretransform's
        first parameter, so this yields one float32 (non-trainable) tensor for it to read."""
        yield self.latent_dtype

    # -- analysis
    def _stft(self, mono: torch.Tensor) -> torch.Tensor:
        """Complex STFT ``[batch, bins, frames + 1]``, amplitude-normalised so a full-scale sine has energy ~0.5."""
        spec = torch.stft(mono, N_FFT, HOP, window=self.window, center=True, return_complex=True)
        return spec / (self.window.sum() / 2)

    def _band_energy(self, spec: torch.Tensor) -> torch.Tensor:
        """Summed power of each band: ``[batch, bands, frames]`` from a ``[batch, bins, frames]`` spectrum."""
        power = spec.abs() ** 2
        out = power.new_zeros(power.shape[0], self.encoded_channels, power.shape[-1])
        return out.index_add_(1, self.band_of_bin, power)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Audio ``[batch, channels, samples]`` (samples a multiple of 2048) -> latent ``[batch, 64, samples // 2048]``.

        A band's energy is the mean over channels of each channel's energy, not the energy of the channels' mean:
        a delay or phase difference between channels would comb-filter their mean and lose energy. For equal
        channels (the sound library, every decoded latent) the two are the same."""
        batch, channels, samples = x.shape
        frames = samples // HOP
        spec = self._stft(x.to(torch.float64).reshape(batch * channels, samples))
        energy = self._band_energy(spec).reshape(batch, channels, self.encoded_channels, -1).mean(dim=1)[..., :frames]
        return log_energy_to_latent(torch.log(energy + EPS)).to(x.dtype)

    # -- synthesis
    def _excitation_spec(self, frames: int) -> torch.Tensor:
        """STFT of the fixed excitation (sines at low band centres, noise above), cached for the longest length seen."""
        cached = self._excitation
        if cached is None or cached.shape[-1] < frames + 1 or cached.device != self.window.device:
            samples = max(frames, 128) * HOP
            t = torch.arange(samples, dtype=torch.float64) / self.sample_rate
            generator = torch.Generator().manual_seed(EXCITATION_SEED)
            noise = torch.randn(samples, generator=generator, dtype=torch.float64)
            centres = band_centres_hz(self.encoded_channels, self.sample_rate, N_FFT)
            phases = torch.rand(len(centres), generator=generator, dtype=torch.float64) * 2 * math.pi
            tonal = centres < TONAL_MAX_HZ
            sines = torch.sin(2 * math.pi * centres[tonal, None] * t + phases[tonal, None]).sum(0)
            device = self.window.device
            bin_tonal = tonal.to(device)[self.band_of_bin][:, None]
            spec = torch.where(bin_tonal, self._stft(sines[None].to(device))[0], self._stft(noise[None].to(device))[0])
            self._excitation = cached = spec
        return cached[:, : frames + 1]

    def _render(self, log_energy: torch.Tensor, excitation: torch.Tensor, excitation_log: torch.Tensor) -> torch.Tensor:
        """Mono audio whose band energies follow ``log_energy`` ``[batch, bands, frames]``."""
        padded = torch.cat([log_energy, log_energy[..., -1:]], dim=-1)  # istft wants frames + 1 columns
        gain = torch.exp(0.5 * (padded - excitation_log))[:, self.band_of_bin]
        spec = excitation * gain * (self.window.sum() / 2)
        return torch.istft(spec, N_FFT, HOP, window=self.window, center=True, length=log_energy.shape[-1] * HOP)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent ``[batch, 64, frames]`` -> stereo audio ``[batch, 2, frames * 2048]`` (both channels equal)."""
        frames = z.shape[-1]
        target = soft_ceiling(latent_to_log_energy(z.to(torch.float64)), BAND_KNEE, BAND_CEILING)
        target = torch.log(torch.clamp(torch.exp(target) - EPS, min=1e-12))
        loudness = torch.logsumexp(target, dim=1, keepdim=True)
        target = target + soft_ceiling(loudness, FRAME_KNEE, FRAME_CEILING) - loudness
        excitation = self._excitation_spec(frames)[None]
        excitation_log = torch.log(self._band_energy(excitation) + 1e-12)
        wanted = target.clone()
        audio = self._render(wanted, excitation, excitation_log)
        for _ in range(REFINE_STEPS):
            got = torch.log(self._band_energy(self._stft(audio))[..., :frames] + 1e-12)
            wanted = wanted + (target - got).clamp(-4.0, 4.0)
            audio = self._render(wanted, excitation, excitation_log)
        audio = limit_peaks(audio)
        return audio[:, None].expand(-1, self.io_channels, -1).to(z.dtype).contiguous()
