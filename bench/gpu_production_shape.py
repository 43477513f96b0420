"""GPU check of the production recipe's shape: a 0.5B-sized Qwen2 (random weights, as no
hub is reachable) trained for a few GRPO steps with `tucano2-0.5b-l4.yaml`'s settings
(LoRA r=16 all-linear, 2 prompts x 16 completions of up to 512 tokens, Dr. GRPO, bf16),
printing seconds per step. Unsloth is used when installed (`backend: auto`), else
transformers + PEFT; the figure says which.

    python bench/gpu_production_shape.py [--steps 4] [--backend auto|transformers|unsloth]
Needs CUDA.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build_model(out: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from train.models.tiny import build_tiny_model

    tok_dir = build_tiny_model(out / "tok")
    tok = AutoTokenizer.from_pretrained(tok_dir)
    # Qwen2.5-0.5B's shape (the Tucano2 base); the vocabulary is the test tokenizer's.
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                      num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=4096,
                      tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg)
    path = out / "qwen2-0.5b-shape"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters (vocab {len(tok)})")
    return path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--backend", default="transformers")
    args = ap.parse_args()
    import yaml

    from data.build import build
    from train.grpo import run as grpo
    from train.grpo.recipe import recipe_from_dict, recipe_path

    work = Path(tempfile.mkdtemp())
    model_dir = build_model(work)
    files = build(work / "data", size="small")
    raw = yaml.safe_load(recipe_path("tucano2-0.5b-l4").read_text())
    raw["model"].update(name=str(model_dir), backend=args.backend,
                        load_in_4bit=args.backend != "transformers")
    raw["data"].update(train=str(files["train"]), eval=str(files["eval"]), db=str(files["db"]))
    raw["grpo"].update(max_steps=args.steps, eval_on_start=False, eval_steps=10_000, save_steps=10_000)
    recipe = recipe_from_dict(raw, source="gpu-bench")
    started = time.perf_counter()
    grpo.main(recipe, work / "run")
    wall = time.perf_counter() - started
    rows = [json.loads(x) for x in (work / "run" / "metrics.jsonl").read_text().splitlines() if x.strip()]
    steps = [r.get("step_time") for r in rows if r.get("step_time")]
    print(json.dumps({"backend": args.backend, "steps": args.steps, "wall_s": round(wall, 1),
                      "step_times_s": [round(s, 2) for s in steps],
                      "completion_length": [r.get("completions/mean_length") for r in rows][:args.steps]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
