"""Merge a LoRA adapter (a run's best_checkpoint/ or any checkpoint-N/) into its base model,
giving a plain transformers folder that any inference stack loads without PEFT.

    merge_adapter("runs/cpu-demo/best_checkpoint", "models/cpu-demo-merged")
    tucano-audit train export --adapter runs/cpu-demo/best_checkpoint --out models/cpu-demo-merged

The base is the model recorded in the adapter (adapter_config.json) unless `base` is
given; train.models checks that the adapter fits it before anything is merged. The merge
runs in full precision even for a run trained on a 4-bit base: merging into quantised
weights would round the adapter away. The result is written to a temporary sibling
folder and renamed into place, so a failed export leaves nothing half-written.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from train.models.adapter_check import read_adapter_config
from train.models.loading import check_adapter, resolve_adapter, resolve_model


class ExportError(ValueError):
    """The adapter or the output folder cannot be used as given."""


def merge_adapter(adapter: str | Path, out: str | Path, *, base: str | None = None) -> Path:
    """Write base + adapter merged into `out` (which must not exist yet); returns `out`."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter_dir = resolve_adapter(adapter)
    out = Path(out)
    if out.exists():
        raise ExportError(f"output folder {out} already exists; choose a new one")
    recorded = read_adapter_config(adapter_dir).get("base_model_name_or_path")
    base = base or recorded
    if not base:
        raise ExportError(f"{adapter_dir}/adapter_config.json names no base model; pass --model")
    source, is_local = resolve_model(base)
    check_adapter(adapter_dir, source, local_only=is_local)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, local_files_only=is_local)
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    # The adapter folder carries the tokenizer the run trained with (chat template included).
    tok_source = adapter_dir if (adapter_dir / "tokenizer_config.json").is_file() else source
    tokenizer = AutoTokenizer.from_pretrained(str(tok_source), local_files_only=tok_source == adapter_dir or is_local)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        merged.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / "merged_from.json").write_text(json.dumps({"base": source, "adapter": str(adapter_dir)}, indent=2),
                                              encoding="utf-8")
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
