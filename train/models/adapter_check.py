"""Checking a LoRA adapter folder completely before any model generates with it.

A comparison or a sampling run that fails on its adapter half-way has already spent the
base model's generation (and left a partial report), so everything that can be wrong
with the folder is found here, before a weight is loaded:

- adapter_config.json must be readable JSON that PEFT accepts as a LoRA config (its
  parse error names the file);
- the weights must be there: adapter_model.safetensors (or adapter_model.bin), whole
  (a truncated or damaged file is named), with at least one LoRA tensor, every value finite;
- the base model recorded in the config must be the one given, and every LoRA tensor's
  shape must fit the base's layer (read against a weightless `meta` copy of the base).

    check_adapter(resolve_adapter("runs/r1/best_checkpoint"), base_source, local_only=True)
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

from train.models.errors import AdapterMismatch, ModelError, ModelNotFound

CONFIG = "adapter_config.json"
SAFETENSORS = "adapter_model.safetensors"
PICKLED = "adapter_model.bin"
_LORA_KEY = re.compile(r"^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$")


def resolve_adapter(adapter: str | os.PathLike) -> Path:
    path = Path(adapter).expanduser()
    if not path.exists():
        raise ModelNotFound(f"adapter folder {adapter} does not exist")
    if not (path / CONFIG).is_file():
        raise ModelNotFound(f"{path} is not a LoRA adapter folder (no {CONFIG} in it)")
    return path.resolve()


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


# What PEFT reads without checking its type (a text rank fails only when the model loads).
_LORA_FIELDS = (
    ("r", lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0, "a whole number above 0"),
    ("lora_alpha", lambda v: _number(v) and v > 0, "a number above 0"),
    ("lora_dropout", lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    ("target_modules", lambda v: v is None or isinstance(v, str)
     or (isinstance(v, list) and all(isinstance(x, str) for x in v)), "a name or a list of names"),
)


def read_adapter_config(adapter_dir: Path) -> dict:
    """The adapter's config as a dict; ModelError naming the file when it cannot be used."""
    path = Path(adapter_dir) / CONFIG
    try:
        cfg = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ModelError(f"{path} is not UTF-8 text: not an adapter config") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ModelError(f"{path} is not an adapter config (nested too deeply)") from None
    if not isinstance(cfg, dict):
        raise ModelError(f"{path} must hold a JSON object, not {type(cfg).__name__}")
    kind = cfg.get("peft_type", "LORA")
    if kind != "LORA":
        raise ModelError(f"{path}: peft_type is {kind!r}; only LoRA adapters are supported")
    for key, ok, wanted in _LORA_FIELDS:
        if key in cfg and not ok(cfg[key]):
            raise ModelError(f"{path}: {key} must be {wanted}, got {cfg[key]!r}")
    from peft import LoraConfig  # PEFT imports torch: loaded only when an adapter is checked

    known = {k: v for k, v in cfg.items() if k in LoraConfig.__dataclass_fields__}
    try:
        LoraConfig(**known)
    except Exception as exc:  # PEFT validates r, alpha, target modules, ...: any refusal names the file
        raise ModelError(f"{path} is not a usable LoRA config: {type(exc).__name__}: {exc}") from None
    return cfg


def _same_model(a: str, b: str) -> bool:
    """True when two model references name the same model (a moved folder keeps its name)."""
    def norm(s: str) -> str:
        p = Path(s).expanduser()
        return str(p.resolve()) if p.exists() else s.rstrip("/")

    na, nb = norm(a), norm(b)
    return na == nb or Path(na).name == Path(nb).name


def read_lora_shapes(adapter_dir: Path) -> dict[str, tuple[int, ...]]:
    """Every LoRA tensor's shape, after reading all the weights (so a damaged file fails here)."""
    import torch

    st, pickled = adapter_dir / SAFETENSORS, adapter_dir / PICKLED
    if st.is_file():
        path = st
        try:
            from safetensors.torch import load_file

            tensors = load_file(str(st))
        except Exception as exc:  # SafetensorError (truncated header or data), OSError
            raise ModelError(f"{st} cannot be read ({type(exc).__name__}: {exc}); it is truncated or damaged: "
                             "copy the checkpoint again") from None
    elif pickled.is_file():
        path = pickled
        try:
            tensors = torch.load(str(pickled), map_location="cpu", weights_only=True)
        except Exception as exc:  # EOF, unpickling errors, OSError
            raise ModelError(f"{pickled} cannot be read ({type(exc).__name__}: {exc}); it is truncated or "
                             "damaged: copy the checkpoint again") from None
        if not isinstance(tensors, dict):
            raise ModelError(f"{pickled} does not hold a dictionary of tensors")
    else:
        raise ModelError(f"adapter {adapter_dir} has {CONFIG} but no weights ({SAFETENSORS} or {PICKLED}); "
                         "the checkpoint was not saved completely")
    shapes = {}
    for key, tensor in tensors.items():
        if not _LORA_KEY.match(key):
            continue
        if not isinstance(tensor, torch.Tensor):
            raise ModelError(f"{path}: {key} is not a tensor")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelError(f"{path}: {key} holds NaN or infinite values; the adapter is unusable")
        shapes[key] = tuple(tensor.shape)
    if not shapes:
        raise ModelError(f"{path} holds no LoRA weights (no lora_A / lora_B tensors)")
    return shapes


def check_adapter(adapter_dir: Path, base_source: str, *, local_only: bool) -> None:
    """Raise ModelError (AdapterMismatch for another base) unless the adapter folder is
    complete and was trained on `base_source` (see the module docstring). Loads no model weights."""
    adapter_dir = Path(adapter_dir)
    cfg = read_adapter_config(adapter_dir)
    recorded = cfg.get("base_model_name_or_path")
    if recorded is not None and not isinstance(recorded, str):
        raise ModelError(f"{adapter_dir / CONFIG}: base_model_name_or_path must be text, got {recorded!r}")
    if recorded and not _same_model(recorded, base_source):
        raise AdapterMismatch(
            f"adapter {adapter_dir} was trained on {recorded}, not on {base_source}; "
            "load it with the model it was trained on"
        )
    shapes = read_lora_shapes(adapter_dir)
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(base_source, local_files_only=local_only)
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    modules = dict(skeleton.named_modules())
    for key, shape in shapes.items():
        name, which = _LORA_KEY.match(key).groups()
        target = modules.get(name)
        if target is None:
            raise AdapterMismatch(
                f"adapter {adapter_dir} adapts layer {name}, which {base_source} does not have: "
                "it was trained on another base model"
            )
        expected_in = getattr(target, "in_features", None) or getattr(target, "num_embeddings", None)
        expected_out = getattr(target, "out_features", None) or getattr(target, "embedding_dim", None)
        got = shape[1] if which == "A" else shape[0]
        want = expected_in if which == "A" else expected_out
        if want is not None and got != want:
            raise AdapterMismatch(
                f"adapter {adapter_dir} does not fit {base_source}: {key} has shape {list(shape)} "
                f"but the base layer {name} is {expected_in}->{expected_out}; it was trained on another base"
            )
