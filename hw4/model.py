"""Load the model the homework samples from: the embedded stand-in (default) or the real SAO 1.0.

The embedded model is a small DiT trained on a synthetic sound library
(``scripts/train_embedded_model.py``) whose autoencoder is the fixed codec ``hw4.codec``.

Both come out of ``stable_audio_tools``' own factory and checkpoint loader, so they
share one interface: ``model.pretransform.downsampling_ratio``, ``model.conditioner``,
``model.model`` (the DiT), ``model.sample_rate``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UserError

if TYPE_CHECKING:
    from collections.abc import Callable

    import torch

    class Pretransform(torch.nn.Module):
        """The autoencoder: SAO's VAE or ``hw4.codec.BandCodec`` (for the type checker: it is a stable_audio_tools
        ``Pretransform``)."""

        downsampling_ratio: int

        def encode(self, x: torch.Tensor) -> torch.Tensor: ...

        def decode(self, z: torch.Tensor) -> torch.Tensor: ...

    class AudioModel(torch.nn.Module):
        """What the suite uses of the model ``load_model`` returns, a stable_audio_tools
        ``ConditionedDiffusionModelWrapper`` (untyped there; this class exists for the type checker only)."""

        pretransform: Pretransform
        conditioner: Callable[[list[dict[str, Any]], str], dict[str, Any]]
        model: torch.nn.Module  # the DiT
        sample_rate: int
        min_input_length: int
        hw4_model_id: str

        def get_conditioning_inputs(self, conditioning: dict[str, Any]) -> dict[str, Any]: ...

EMBEDDED = "embedded"
SAO = "sao"
SAO_REPO_ID = "stabilityai/stable-audio-open-1.0"
EMBEDDED_DIR = Path(__file__).resolve().parent / "embedded"
MODEL_CHOICES = (EMBEDDED, SAO)
CODEC_TYPE = "hw4_band_codec"  # the embedded config's pretransform: hw4.codec.BandCodec

ACCESS_HELP = (
    f"Stable Audio Open is gated on the Hugging Face hub: accept its licence at "
    f"https://huggingface.co/{SAO_REPO_ID}, then provide a token (the HF_TOKEN environment "
    f"variable, a Colab secret named HF_TOKEN, or `huggingface-cli login`) - "
    f"or keep using the embedded model, which needs no account."
)


class ModelAccessError(UserError, RuntimeError):
    """The real SAO weights could not be obtained (no token, no access, or no network)."""


def _quiet_import_stable_audio_tools() -> Any:
    """Import stable_audio_tools without its 'flash_attn not installed' chatter."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from stable_audio_tools.models import factory, utils
    return factory, utils


def model_id(name: str = EMBEDDED) -> str:
    """A name for the model that changes whenever the embedded config or weights change (no torch needed)."""
    if name == SAO:
        return f"sao:{SAO_REPO_ID}"
    digest = hashlib.sha256()
    for filename in ("model_config.json", "model.safetensors"):
        digest.update((EMBEDDED_DIR / filename).read_bytes())
    return f"embedded:{digest.hexdigest()[:12]}"


def create_model(config: dict) -> AudioModel:
    """A stable_audio_tools model from ``config`` (untrained); a ``"hw4_band_codec"`` pretransform becomes ``BandCodec``."""
    factory, _ = _quiet_import_stable_audio_tools()
    pretransform = config["model"].get("pretransform") or {}
    codec = pretransform.get("type") == CODEC_TYPE
    if codec:
        config = copy.deepcopy(config)
        del config["model"]["pretransform"]
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = factory.create_model_from_config(config)
    if codec:
        from .codec import BandCodec

        model.pretransform = BandCodec(config["sample_rate"], config["audio_channels"], **pretransform["config"])
        model.min_input_length = model.pretransform.downsampling_ratio * model.model.model.patch_size
    return model


def build_model(config: dict, checkpoint: str | Path) -> AudioModel:
    """Create a stable_audio_tools model from ``config`` and load ``checkpoint`` into it (CPU, eval, no grad)."""
    import torch

    _, utils = _quiet_import_stable_audio_tools()
    model = create_model(config)
    model.load_state_dict(utils.load_ckpt_state_dict(str(checkpoint)))
    return model.to("cpu", torch.float32).eval().requires_grad_(False)


def embedded_config() -> dict:
    """The embedded model's config, with its tokenizer path made absolute."""
    config = json.loads((EMBEDDED_DIR / "model_config.json").read_text())
    for conditioner in config["model"]["conditioning"]["configs"]:
        name = conditioner["config"].get("tokenizer_name")
        if name and not Path(name).is_absolute():
            conditioner["config"]["tokenizer_name"] = str(EMBEDDED_DIR / name)
    return config


def load_embedded_model() -> tuple[AudioModel, dict]:
    """The small SAO-shaped model shipped with the suite; works offline."""
    config = embedded_config()
    return build_model(config, EMBEDDED_DIR / "model.safetensors"), config


def hub_unreachable(timeout_s: float = 5.0) -> str | None:
    """Why the Hugging Face hub cannot be reached (e.g. "name resolution failed"), or None when it can."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except socket.gaierror:
        return f"the name {host} could not be resolved"
    except OSError as err:
        return f"{host} could not be reached ({err.strerror or type(err).__name__})"
    return None


def download_sao_files(token: str | None = None, cache_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Fetch (or find in the Hugging Face cache) SAO's config and weights; explain access problems in one sentence.

    Files already in the cache need no network; otherwise the hub is tried once, before any download, so that
    a machine without network gets one sentence at once instead of retries.
    """
    import huggingface_hub
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    token = token or os.environ.get("HF_TOKEN") or None
    names = ("model_config.json", "model.safetensors")
    try:
        local = [Path(huggingface_hub.hf_hub_download(SAO_REPO_ID, f, cache_dir=cache_dir, local_files_only=True))
                 for f in names]
        return local[0], local[1]
    except Exception:  # noqa: BLE001 - not (all) in the cache: download below
        pass
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    reason = None if offline else hub_unreachable()
    if reason:
        raise ModelAccessError(f"Could not download {SAO_REPO_ID}: {reason} (no network?); the real SAO needs "
                               f"network access once, then it is cached - or keep using the embedded model, "
                               f"which works offline.")
    paths = []
    for filename in names:
        try:
            paths.append(Path(huggingface_hub.hf_hub_download(SAO_REPO_ID, filename, token=token,
                                                              cache_dir=cache_dir)))
        except (GatedRepoError, RepositoryNotFoundError, LocalEntryNotFoundError, HfHubHTTPError, OSError) as err:
            raise ModelAccessError(f"Could not get {filename} of {SAO_REPO_ID} ({type(err).__name__}). {ACCESS_HELP}") from None
    return paths[0], paths[1]


def load_sao_model(token: str | None = None, cache_dir: str | Path | None = None) -> tuple[AudioModel, dict]:
    """The real Stable Audio Open 1.0 from the hub (gated: needs an accepted licence and a token)."""
    config_path, weights_path = download_sao_files(token, cache_dir)
    config = json.loads(config_path.read_text())
    return build_model(config, weights_path), config


def load_model(name: str = EMBEDDED, token: str | None = None) -> tuple[AudioModel, dict]:
    """Load ``"embedded"`` (default, offline) or ``"sao"`` (real weights; see ``ACCESS_HELP``)."""
    if name == EMBEDDED:
        model, config = load_embedded_model()
    elif name == SAO:
        model, config = load_sao_model(token)
    else:
        raise ValueError(f"Unknown model {name!r}; choose one of {', '.join(MODEL_CHOICES)}.")
    model.hw4_model_id = model_id(name)  # recorded in every answers file made with this model
    return model, config
