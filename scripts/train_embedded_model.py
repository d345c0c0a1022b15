"""Build the embedded model shipped in ``hw4/embedded/`` (course staff only).

Writes a small Stable-Audio-Open-shaped config, a word-level tokenizer for its
prompt conditioner, and deterministic weights. Every layer that stable_audio_tools
zero-initialises gets random weights, so the prompt, the timing inputs, the noise
level and the guidance scale all change the denoiser's output.

    python scripts/build_embedded_model.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parents[1] / "hw4" / "embedded"
SEED = 20241125

# Words a student is likely to type into a prompt; anything else maps to [UNK].
VOCAB_WORDS = """
a an and the with of in on at to for by from into over under without
music song track beat loop groove melody harmony chord chords rhythm tempo bpm
drum drums kick snare hihat hi-hat cymbal percussion clap claps shaker tom toms
bass bassline sub synth synthesizer pad pads lead arp arpeggio pluck keys piano
organ guitar acoustic electric strings violin cello viola orchestra orchestral
brass trumpet trombone horn horns saxophone sax flute clarinet choir vocal vocals
voice singing bell bells marimba vibraphone harp sitar banjo ukulele accordion
ambient techno house trance dubstep drum-and-bass jungle hiphop hip-hop trap lofi
lo-fi jazz blues rock metal punk pop funk disco soul reggae classical cinematic
folk country latin afrobeat edm electronic industrial experimental minimal
happy sad dark bright warm cold calm energetic aggressive gentle soft loud
dreamy uplifting melancholic epic mellow chill relaxing tense eerie playful
fast slow medium upbeat driving steady swung heavy light deep crisp distorted
clean reverb echo delay filtered noisy glitchy vintage modern analog digital
rain wind water birds forest city street crowd fire thunder ocean waves
major minor key c d e f g b sharp flat
one two three four five six seven eight nine ten 60 70 80 90 100 110 120 128
130 140 150 160 170 174
""".split()


def model_config(tokenizer_dir: str) -> dict:
    """The embedded model's stable_audio_tools config, shaped like SAO 1.0's."""
    oobleck = {"channels": 4, "c_mults": [1, 2, 4, 8, 16], "strides": [2, 4, 4, 8, 8], "use_snake": True}
    return {
        "model_type": "diffusion_cond",
        "sample_size": 2048 * 128,
        "sample_rate": 44100,
        "audio_channels": 2,
        "model": {
            "pretransform": {
                "type": "autoencoder",
                "iterate_batch": True,
                "config": {
                    "encoder": {"type": "oobleck", "requires_grad": False,
                                "config": {"in_channels": 2, "latent_dim": 128, **oobleck}},
                    "decoder": {"type": "oobleck",
                                "config": {"out_channels": 2, "latent_dim": 64, "final_tanh": False, **oobleck}},
                    "bottleneck": {"type": "vae"},
                    "latent_dim": 64,
                    "downsampling_ratio": 2048,
                    "io_channels": 2,
                },
            },
            "conditioning": {
                "configs": [
                    {"id": "prompt", "type": "lut", "config": {"tokenizer_name": tokenizer_dir, "max_length": 32}},
                    {"id": "seconds_start", "type": "number", "config": {"min_val": 0, "max_val": 512}},
                    {"id": "seconds_total", "type": "number", "config": {"min_val": 0, "max_val": 512}},
                ],
                "cond_dim": 64,
            },
            "diffusion": {
                "cross_attention_cond_ids": ["prompt", "seconds_start", "seconds_total"],
                "global_cond_ids": ["seconds_start", "seconds_total"],
                "type": "dit",
                "config": {
                    "io_channels": 64,
                    "embed_dim": 64,
                    "depth": 2,
                    "num_heads": 2,
                    "cond_token_dim": 64,
                    "global_cond_dim": 128,
                    "project_cond_tokens": False,
                    "transformer_type": "continuous_transformer",
                },
            },
            "io_channels": 64,
        },
    }


def build_tokenizer(out_dir: Path) -> None:
    """Save a lower-casing word-level tokenizer that transformers' AutoTokenizer loads offline."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[UNK]": 1}
    for word in VOCAB_WORDS:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", model_max_length=32)
    fast.save_pretrained(str(out_dir))
    # Name a class both transformers 4.x (Colab) and 5.x load, rather than 5.x's "TokenizersBackend".
    config_path = out_dir / "tokenizer_config.json"
    tok_config = json.loads(config_path.read_text())
    tok_config.pop("backend", None)
    tok_config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(tok_config, indent=2) + "\n")


def give_weights_to_silent_layers(module: torch.nn.Module, generator: torch.Generator) -> None:
    """Replace every all-zero weight (stable_audio_tools' zero-init outputs) with small random values."""
    with torch.no_grad():
        for name, param in module.named_parameters():
            if param.numel() and not param.any():
                fan_in = param[0].numel() if param.ndim > 1 else param.numel()
                scale = (0.5 if name.endswith("weight") else 0.05) / math.sqrt(fan_in)
                param.copy_(torch.randn(param.shape, generator=generator) * scale)


def strengthen_conditioning(model: torch.nn.Module) -> None:
    """Scale the conditioning paths up so that prompt, timing and guidance visibly steer the output."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("embedder.embedding.0.weights"):  # Fourier frequencies of seconds_* (inputs are /512)
                param.mul_(32.0)
            elif "embedder.embedding.1." in name:
                param.mul_(4.0)
            elif "to_cond_embed" in name or "to_global_embed" in name:
                param.mul_(2.0)


def main() -> None:
    from stable_audio_tools.models.factory import create_model_from_config

    OUT.mkdir(parents=True, exist_ok=True)
    tokenizer_dir = OUT / "tokenizer"
    build_tokenizer(tokenizer_dir)
    config = model_config("tokenizer")
    (OUT / "model_config.json").write_text(json.dumps(config, indent=2) + "\n")

    torch.manual_seed(SEED)
    resolved = model_config(str(tokenizer_dir))
    model = create_model_from_config(resolved)
    give_weights_to_silent_layers(model, torch.Generator().manual_seed(SEED))
    strengthen_conditioning(model)
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, str(OUT / "model.safetensors"), metadata={"seed": str(SEED)})
    size = (OUT / "model.safetensors").stat().st_size
    print(f"wrote {OUT} ({size / 1e6:.2f} MB of weights, {sum(v.numel() for v in state.values())} values)")


if __name__ == "__main__":
    main()
