"""Where GRPO can get a gradient on a model: per task and completion length, the share of
prompt groups whose rewards differ, the headroom, and what a step costs on this machine.

    .venv/bin/python bench/demo_signal.py [--model demo] [--prompts 6] [--group 6]
        [--lengths 32 64 128 256 448 576] [--tasks extraction push ...] [--temperature 0.7]
        [--json OUT]

GRPO's advantage is a completion's reward minus its group's mean: a group whose completions
all score the same teaches nothing. So, per task, P train prompts (the first of each task,
as a recipe's `train_limit` takes them) get G completions each at the recipe's sampling
temperature (--temperature, default 1.0), generated once up to the largest length; each
completion's first L tokens are scored for every L, which is what generation with
`max_new_tokens=L` gives for the same draws (sampling runs left to right; lengths are
counted on the re-encoded text). Per (task, L): mean reward, the share of groups with any
spread, the mean within-group SD, the headroom (1 - mean: how far from the maximum),
best-of-group (the mean of each group's best completion: what GRPO pulls towards) and the
share cut off at L.

Cost per task: prefill (one forward over the prompts), generation (the rest of generate()),
and one forward + backward pass through a LoRA r=16 model over a group's prompt +
completions (the training half of a GRPO step). Prints the load average beside the times:
on a shared machine they move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TASK_ORDER = ("extraction", "sql_qa", "insights", "push")


def spread_table(groups: list[list[list[float]]], lengths: list[int],
                 cut: list[list[list[bool]]]) -> list[dict]:
    """Per length: the figures above from scores[g][k][l] (group g, completion k, length l)."""
    import numpy as np

    out = []
    for li, length in enumerate(lengths):
        scores = np.array([[c[li] for c in g] for g in groups])  # (P, G)
        sd = scores.std(axis=1)
        out.append({"length": length, "mean": float(scores.mean()), "spread_share": float((sd > 1e-6).mean()),
                    "group_sd": float(sd.mean()), "headroom": float(1 - scores.mean()),
                    "best_of_group": float(scores.max(axis=1).mean()),
                    "cut_share": float(np.mean([[c[li] for c in g] for g in cut]))})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="demo", help="demo (warm-started), demo-raw, a folder or a hub id")
    ap.add_argument("--prompts", type=int, default=6)
    ap.add_argument("--group", type=int, default=6)
    ap.add_argument("--lengths", type=int, nargs="+", default=[32, 64, 128, 256, 448, 576])
    ap.add_argument("--tasks", nargs="+", default=list(TASK_ORDER), choices=TASK_ORDER)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--temperature", type=float, default=1.0,
                    help="sampling temperature of the groups (default 1.0; a recipe's grpo.temperature)")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()

    # train.models first: it sets OMP_WAIT_POLICY before torch loads, as the CLI does.
    from train.models.loading import load_model  # isort: skip

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers.utils import logging as hf_logging

    from data import paths
    from data.prompts import load_prompts, reward_meta
    from rewards.registry import score
    from train.models.generation import GenParams, generate, render_prompt
    from train.models.local import resolve_local

    hf_logging.disable_progress_bar()
    loaded = load_model(resolve_local(args.model))
    tok, model = loaded.tokenizer, loaded.model
    rows_all = load_prompts(paths.train_prompts())
    lengths = sorted(args.lengths)
    params = GenParams(temperature=args.temperature, top_p=1.0, top_k=0, max_new_tokens=lengths[-1], seed=args.seed)
    report = {"model": loaded.model_id, "prompts": args.prompts, "group": args.group, "temperature": args.temperature,
              "tasks": {}}
    print(f"model {loaded.model_id}; {args.prompts} prompts x {args.group} completions per task at T={args.temperature}; "
          f"torch threads {torch.get_num_threads()}")
    for task in args.tasks:
        rows = [r for r in rows_all if r["task"] == task][:args.prompts]
        msgs = [r["prompt"] for r in rows]
        encoded = [render_prompt(tok, m) for m in msgs]
        # Prefill alone: one forward over the (left-padded) prompts, as generate() starts.
        width = max(map(len, encoded))
        ids = torch.full((len(encoded), width), tok.pad_token_id)
        mask = torch.zeros_like(ids)
        for i, e in enumerate(encoded):
            ids[i, width - len(e):], mask[i, width - len(e):] = torch.tensor(e), 1
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        with torch.inference_mode():
            model(input_ids=ids, attention_mask=mask, logits_to_keep=1)
        prefill = time.perf_counter() - t0
        t0 = time.perf_counter()
        outs = generate(loaded, msgs, params, k=args.group, batch_size=len(msgs) * args.group)
        total = time.perf_counter() - t0
        new_tokens = sum(g.completion_tokens for gs in outs for g in gs)
        groups, cut = [], []
        for row, gens in zip(rows, outs, strict=True):
            meta = reward_meta(row)
            g_scores, g_cut = [], []
            for g in gens:
                ids_g = tok(g.text, add_special_tokens=False)["input_ids"]
                per_len, per_cut = [], []
                for length in lengths:
                    text = tok.decode(ids_g[:length]) if len(ids_g) > length else g.text
                    per_len.append(score(task, text, **meta).total)
                    per_cut.append(len(ids_g) > length or (g.truncated and length >= lengths[-1]))
                g_scores.append(per_len)
                g_cut.append(per_cut)
            groups.append(g_scores)
            cut.append(g_cut)
        # The training half of a step: forward + backward over one group's prompt + completions.
        peft_model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear",
                                                      task_type="CAUSAL_LM"))
        seqs = [encoded[0] + tok(g.text, add_special_tokens=False)["input_ids"][:lengths[-1]] for g in outs[0]]
        w = max(map(len, seqs))
        batch = torch.full((len(seqs), w), tok.pad_token_id)
        for i, s in enumerate(seqs):
            batch[i, w - len(s):] = torch.tensor(s)
        peft_model.train()
        t0 = time.perf_counter()
        peft_model(input_ids=batch, labels=batch).loss.backward()
        train_pass = time.perf_counter() - t0
        model = peft_model.unload()  # the plain model again for the next task
        loaded.model = model
        model.eval()
        table = spread_table(groups, lengths, cut)
        prompt_tokens = sum(map(len, encoded)) / len(encoded)
        cost = {"prompt_tokens": round(prompt_tokens), "new_tokens_mean": round(new_tokens / (len(msgs) * args.group)),
                "prefill_s": round(prefill, 2), "generation_s": round(total - prefill, 1),
                "train_pass_s_per_group": round(train_pass, 1), "group_seq_tokens": w,
                "load": [round(load0, 2), round(os.getloadavg()[0], 2)]}
        report["tasks"][task] = {"cost": cost, "by_length": table}
        print(f"\n== {task}: prompt {cost['prompt_tokens']} tokens, completions {cost['new_tokens_mean']} tokens "
              f"(mean, cap {lengths[-1]}); prefill {cost['prefill_s']} s for {len(msgs)} prompts, generation "
              f"{cost['generation_s']} s for {len(msgs) * args.group} completions, forward+backward of one group "
              f"{cost['train_pass_s_per_group']} s ({w} tokens/row); load {cost['load'][0]}-{cost['load'][1]}")
        print("| length | mean | groups with spread | mean group SD | headroom | best of group | cut at length |")
        print("|---|---|---|---|---|---|---|")
        for r in table:
            print(f"| {r['length']} | {r['mean']:.3f} | {100 * r['spread_share']:.0f}% | {r['group_sd']:.3f} | "
                  f"{r['headroom']:.3f} | {r['best_of_group']:.3f} | {100 * r['cut_share']:.0f}% |")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
