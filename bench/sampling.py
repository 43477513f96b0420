"""Benchmark: batched sampling vs one generate() call per completion, on the demo model (CPU).

    .venv/bin/python bench/sampling.py [--prompts-per-task 2] [--per-prompt 4] [--max-new-tokens 64]

Same prompts (a few per task from the small synthetic build), same GenParams, same model
loaded once; first the loop (each completion its own generate() call, batch of 1), then
the batched path (K copies of every prompt, left-padded batches). Prints new tokens/s
for both and the ratio; the goal is >= 3x. Throughput counts generated tokens (EOS
included, padding excluded), so the two runs are compared per token even though their
sampled lengths differ.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def prompts(per_task: int) -> list[list[dict]]:
    from data import paths
    from data.prompts import load_prompts
    from train.sampling import pick_prompts

    path = paths.train_prompts()
    if not path.is_file():
        from data.build import build

        path = build(Path(tempfile.mkdtemp(prefix="bench-data-")), size="small")["train"]
    rows = pick_prompts(load_prompts(path), ("extraction", "sql_qa", "insights", "push"), per_task, seed=0)
    return [r["prompt"] for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts-per-task", type=int, default=2)
    parser.add_argument("--per-prompt", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    # train.models first: it sets OMP_WAIT_POLICY before torch loads, as the CLI does.
    from train.models.loading import load_model  # isort: skip

    import torch
    from transformers.utils import logging as hf_logging

    from train.models.demo import ensure_demo_model
    from train.models.generation import GenParams, generate

    hf_logging.disable_progress_bar()
    loaded = load_model(ensure_demo_model())
    msgs = prompts(args.prompts_per_task)
    params = GenParams(temperature=0.7, top_p=0.95, top_k=0, max_new_tokens=args.max_new_tokens, seed=1)
    n = len(msgs) * args.per_prompt
    print(f"demo model on {loaded.device} ({torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs); "
          f"{len(msgs)} prompts x {args.per_prompt} = {n} completions, max_new_tokens {args.max_new_tokens}")

    generate(loaded, msgs[:1], params, k=1)  # warm-up: first-call allocations are not throughput

    t0 = time.perf_counter()
    loop_tokens = 0
    for i, m in enumerate(msgs):
        for j in range(args.per_prompt):
            one = GenParams(**{**params.to_dict(), "seed": params.seed + i * args.per_prompt + j})
            loop_tokens += generate(loaded, [m], one, k=1, batch_size=1)[0][0].completion_tokens
    loop_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    outs = generate(loaded, msgs, params, k=args.per_prompt, batch_size=args.batch_size)
    batch_s = time.perf_counter() - t0
    batch_tokens = sum(g.completion_tokens for o in outs for g in o)

    loop_rate, batch_rate = loop_tokens / loop_s, batch_tokens / batch_s
    print(f"loop    (1 generate() per completion): {loop_tokens:5d} new tokens in {loop_s:6.1f} s "
          f"= {loop_rate:6.1f} tokens/s")
    print(f"batched (batch_size {args.batch_size:>2}):              {batch_tokens:5d} new tokens in {batch_s:6.1f} s "
          f"= {batch_rate:6.1f} tokens/s")
    ratio = batch_rate / loop_rate
    print(f"ratio: {ratio:.2f}x (goal >= 3x): {'met' if ratio >= 3 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
