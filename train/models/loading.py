"""Load a causal chat model (hub id or local folder), optionally with a LoRA adapter.

    loaded = load_model("Polygl0t/Tucano2-qwen-0.5B-Instruct", adapter="runs/r1/checkpoint-50")
    loaded.model, loaded.tokenizer, loaded.backend, loaded.reason

Two backends, chosen by `choose_backend` and logged with the reason:
- "unsloth": a CUDA device and the `gpu` extra installed -> Unsloth's FastLanguageModel in
  4-bit NF4, as the production recipe trains (one L4-class GPU);
- "transformers": anything else -> plain transformers (+ PEFT for adapters) on the device
  that exists (float32 on CPU, bfloat16 on CUDA); `load_in_4bit` quantises it through
  bitsandbytes (CUDA only), the same NF4 as Unsloth without Unsloth's kernels.

Every check that can fail runs before any weight is read: the model folder exists and is a
model, a hub id is reachable or cached (HF_HUB_OFFLINE honoured), the adapter's recorded
base and its tensor shapes match the base model, the tokenizer has a chat template.

The model's shipped `generation_config.json` is set aside (kept in
`LoadedModel.shipped_generation`) and replaced by a neutral one, so nothing downstream can
inherit a default such as temperature 0.1: sampling parameters come only from
train.models.generation.GenParams.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from train.models.adapter_check import check_adapter, resolve_adapter
from train.models.attention import GROUPED_SDPA, use_grouped_attention
from train.models.errors import (
    AdapterMismatch,
    BackendUnavailable,
    ModelError,
    ModelNotFound,
    ModelUnavailable,
)

__all__ = ["AdapterMismatch", "BackendUnavailable", "LoadedModel", "ModelError", "ModelNotFound",
           "ModelUnavailable", "check_adapter", "load_model", "resolve_adapter", "resolve_model"]

logger = logging.getLogger(__name__)

# Set before torch is first imported (libgomp reads it once). Spinning OpenMP threads starve
# each other when a small machine is shared (sampling while a training job runs, the app,
# parallel tests): on 2 busy cores a SmolLM2-135M decode step took 0.38 s spinning and 0.10 s
# passive. An OMP_WAIT_POLICY already in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

BACKENDS = ("auto", "unsloth", "transformers")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_TRUE = {"1", "true", "yes", "on"}


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    model_id: str
    checkpoint_id: str | None
    device: str
    backend: str
    reason: str
    shipped_generation: dict = field(default_factory=dict)


# -- backend choice ------------------------------------------------------------------------
def choose_backend(cuda_available: bool, unsloth_installed: bool, requested: str = "auto") -> tuple[str, str]:
    """(backend, reason) for the given machine; pure so every branch is testable anywhere."""
    if requested not in BACKENDS:
        raise ModelError(f"unknown backend {requested!r}; valid: {', '.join(BACKENDS)}")
    if requested == "unsloth":
        if not cuda_available:
            raise BackendUnavailable("backend 'unsloth' needs a CUDA device and none is available")
        if not unsloth_installed:
            raise BackendUnavailable(
                "backend 'unsloth' requested but unsloth is not installed: pip install -e '.[gpu]' "
                "(CUDA machines only)"
            )
        return "unsloth", "requested explicitly: Unsloth FastLanguageModel, 4-bit NF4 on CUDA"
    if requested == "transformers":
        return "transformers", "requested explicitly: transformers + PEFT"
    if cuda_available and unsloth_installed:
        return "unsloth", "CUDA device and unsloth installed: Unsloth FastLanguageModel, 4-bit NF4"
    if cuda_available:
        return "transformers", ("CUDA device but unsloth is not installed (pip install -e '.[gpu]'): "
                                "transformers + PEFT in bfloat16 on CUDA")
    return "transformers", "no CUDA device: transformers + PEFT in float32 on CPU"


def detect_backend(requested: str = "auto") -> tuple[str, str]:
    """choose_backend for this machine (torch.cuda and an importable unsloth)."""
    import torch

    return choose_backend(torch.cuda.is_available(), importlib.util.find_spec("unsloth") is not None, requested)


# -- resolving the model and the adapter -----------------------------------------------------
def hub_offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def resolve_model(model: str | os.PathLike) -> tuple[str, bool]:
    """(source to pass to from_pretrained, is_local). Raises before any download."""
    text = str(model).strip()
    if not text:
        raise ModelNotFound("no model given: pass a hub id (org/name) or a local model folder")
    path = Path(text).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelNotFound(f"{path} is not a model folder (no config.json in it)")
        return str(path.resolve()), True
    if text.startswith((".", "/", "~")) or not _HUB_ID.match(text):
        raise ModelNotFound(f"model path {text} does not exist")
    _check_hub_reachable(text)
    return text, False


def _check_hub_reachable(repo_id: str) -> None:
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, "config.json")
    if isinstance(cached, str):
        return
    if hub_offline():
        raise ModelUnavailable(
            f"model {repo_id} is neither a local folder nor in the local Hugging Face cache, and the hub "
            "is off (HF_HUB_OFFLINE=1): download it on a connected machine or pass a local folder"
        )
    from huggingface_hub import model_info

    try:
        model_info(repo_id, timeout=15)
    except Exception as exc:  # no network, DNS failure, 404, gated repo...
        raise ModelUnavailable(
            f"model {repo_id} is neither a local folder nor cached, and the hub cannot be reached ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); pass a local model folder instead"
        ) from exc


# -- loading ---------------------------------------------------------------------------------
def load_model(model: str | os.PathLike, adapter: str | os.PathLike | None = None, *,
               for_training: bool = False, backend: str = "auto", max_seq_length: int = 2048,
               load_in_4bit: bool = False, quant_type: str = "nf4") -> LoadedModel:
    """Load `model` (hub id or folder) and optionally a LoRA `adapter` folder on top.

    `for_training` leaves the model in train mode and the adapter trainable. `backend`
    forces "unsloth" or "transformers" ("auto" decides by the machine). `load_in_4bit` on
    the transformers backend quantises through bitsandbytes (Unsloth always loads 4-bit).
    Raises ModelError subclasses (ValueError / FileNotFoundError / LookupError) before
    loading anything.
    """
    source, is_local = resolve_model(model)
    adapter_dir = resolve_adapter(adapter) if adapter is not None else None
    chosen, reason = detect_backend(backend)
    quantization = None
    if load_in_4bit and chosen == "transformers":
        quantization = bnb_4bit_config(quant_type)
        reason += f"; 4-bit {quant_type.upper()} through bitsandbytes"
    local_only = is_local or hub_offline()
    if adapter_dir is not None:
        check_adapter(adapter_dir, source, local_only=local_only)
    logger.info("loading %s%s with %s: %s", source, f" + {adapter_dir}" if adapter_dir else "", chosen, reason)
    if chosen == "unsloth":
        mdl, tok, device = _load_unsloth(source, adapter_dir, for_training, max_seq_length, local_only)
    else:
        mdl, tok, device = _load_transformers(source, adapter_dir, for_training, local_only, quantization)
    _prepare_tokenizer(tok, source)
    shipped = _neutralise_generation_config(mdl, tok)
    return LoadedModel(
        model=mdl, tokenizer=tok, model_id=source,
        checkpoint_id=str(adapter_dir) if adapter_dir else None,
        device=device, backend=chosen, reason=reason, shipped_generation=shipped,
    )


def bnb_4bit_config(quant_type: str = "nf4"):
    """transformers' BitsAndBytesConfig for 4-bit weights with bf16 compute; BackendUnavailable
    without CUDA or without bitsandbytes (the `gpu` extra)."""
    import torch

    if not torch.cuda.is_available():
        raise BackendUnavailable("4-bit loading through bitsandbytes needs a CUDA device and none is available")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise BackendUnavailable("4-bit loading needs bitsandbytes: pip install -e '.[gpu]' (CUDA machines only)")
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=quant_type, bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16)


def _load_transformers(source: str, adapter_dir: Path | None, for_training: bool, local_only: bool,
                       quantization=None):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    tok = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
    if quantization is not None:  # bitsandbytes places the quantised weights itself
        mdl = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, local_files_only=local_only,
                                                   quantization_config=quantization, device_map={"": 0})
    else:
        mdl = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, local_files_only=local_only).to(device)
    if use_grouped_attention(mdl):
        logger.info("attention: %s (grouped-query attention without copying the KV cache)", GROUPED_SDPA)
    if adapter_dir is not None:
        from peft import PeftModel

        mdl = PeftModel.from_pretrained(mdl, str(adapter_dir), is_trainable=for_training)
    mdl.train(for_training)
    return mdl, tok, device


def _load_unsloth(source: str, adapter_dir: Path | None, for_training: bool, max_seq_length: int,
                  local_only: bool):
    try:
        from unsloth import FastLanguageModel
    except ImportError as exc:  # find_spec saw it but it does not import (broken CUDA stack...)
        raise BackendUnavailable(f"unsloth is installed but does not import: {exc}") from exc

    mdl, tok = FastLanguageModel.from_pretrained(
        model_name=source, max_seq_length=max_seq_length, dtype=None, load_in_4bit=True,
        local_files_only=local_only,
    )
    if adapter_dir is not None:
        from peft import PeftModel

        mdl = PeftModel.from_pretrained(mdl, str(adapter_dir), is_trainable=for_training)
    if not for_training:
        FastLanguageModel.for_inference(mdl)
    return mdl, tok, "cuda"


def _base(model):
    """The transformers model under any PEFT wrappers (where generation_config lives)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _neutralise_generation_config(model, tokenizer) -> dict:
    """Replace the shipped generation_config with one that only knows EOS and padding."""
    from transformers import GenerationConfig

    base = _base(model)
    shipped = base.generation_config.to_diff_dict() if getattr(base, "generation_config", None) else {}
    base.generation_config = GenerationConfig(
        eos_token_id=eos_token_ids(model, tokenizer), pad_token_id=tokenizer.pad_token_id
    )
    sampling = {k: shipped[k] for k in ("do_sample", "temperature", "top_p", "top_k") if k in shipped}
    if sampling:
        logger.info("ignoring sampling defaults shipped with the model: %s", sampling)
    return shipped


def _prepare_tokenizer(tok, source: str) -> None:
    if not getattr(tok, "chat_template", None):
        raise ModelError(f"{source} has no chat template; an instruct/chat model is needed")
    if tok.pad_token_id is None:
        # Padding positions are masked out, so reusing EOS as the pad token is safe.
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"


def eos_token_ids(model, tokenizer) -> list[int]:
    """Token ids that end a completion: the tokenizer's EOS and the model config's EOS ids."""
    ids: list[int] = []
    if tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    cfg = getattr(_base(model), "config", None)
    extra = getattr(cfg, "eos_token_id", None)
    for i in extra if isinstance(extra, list | tuple) else [extra]:
        if i is not None and int(i) not in ids:
            ids.append(int(i))
    return ids
