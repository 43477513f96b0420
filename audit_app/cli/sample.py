"""`tucano-audit sample`: generate rollouts for annotators and store them, scored.

    tucano-audit sample --tasks extraction push --prompts 4 --per-prompt 4 --temperature 1.0
    tucano-audit sample --model Polygl0t/Tucano2-qwen-0.5B-Instruct --adapter .tucano/runs/r1/best_checkpoint ...
    tucano-audit sample --endpoint http://gpu-box:8000 --model Polygl0t/Tucano2-qwen-0.5B-Instruct ...

`--model demo` (the default) is the embedded SmolLM2-135M-Instruct. Prompts come from
the train split unless --eval, --prompts-file or --prompt-ids say otherwise.
"""

from __future__ import annotations

import argparse

from data import paths
from data.store import Store
from rewards.types import TASKS
from train.models.generation import GenParams
from train.sampling import DEMO, SampleRequest, new_seed, run_sampling


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sample",
        help="sample completions from a model (or checkpoint) and store them scored",
        description="Pick prompts (stratified by task), generate K completions each in batches, score "
                    "them with the current rewards and store them for annotation.",
    )
    p.add_argument("--model", default=None,
                   help="'demo' (default: the embedded SmolLM2-135M-Instruct, warm-started on gold answers), "
                        "'demo-raw' (as shipped), a local model folder or a hub id; with --endpoint, the "
                        "served model name")
    p.add_argument("--adapter", default=None, help="LoRA checkpoint folder to apply on --model")
    p.add_argument("--endpoint", default=None, metavar="URL",
                   help="sample from an OpenAI-compatible server (e.g. vLLM: http://host:8000) instead")
    p.add_argument("--tasks", nargs="+", default=list(TASKS), metavar="TASK",
                   help=f"tasks to sample (default: all of {', '.join(TASKS)})")
    p.add_argument("--prompts", type=int, default=4, metavar="N", help="prompts per task (default 4)")
    p.add_argument("--per-prompt", type=int, default=4, metavar="K", help="completions per prompt (default 4)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0; 0 = greedy)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling (default 1.0 = off)")
    p.add_argument("--top-k", type=int, default=0, help="top-k sampling (default 0 = off)")
    p.add_argument("--max-new-tokens", type=int, default=256, metavar="L", help="completion length cap (default 256)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: a fresh one, recorded)")
    p.add_argument("--batch-size", type=int, default=8, help="rows per generate() batch (default 8)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--eval", action="store_true", help="draw from the eval split instead of train")
    source.add_argument("--prompts-file", default=None, metavar="PATH", help="a prompt JSONL file to draw from")
    p.add_argument("--prompt-ids", nargs="+", default=None, metavar="ID",
                   help="sample exactly these prompt ids (overrides --prompts)")
    p.add_argument("--batch-id", default=None, help="label the rollouts carry (default: job-ID or a timestamp)")
    p.add_argument("--allow-greedy", action="store_true",
                   help="with --endpoint: store a server's identical completions at T > 0 (marked "
                        "identical_samples in gen_params) instead of stopping")
    p.add_argument("--store", default=None, help="store database (default: $TUCANO_AUDIT_STORE, else <home>/store.db)")
    p.set_defaults(func=run)


def build_request(args: argparse.Namespace):
    params = GenParams(temperature=args.temperature, top_p=args.top_p, top_k=args.top_k,
                       max_new_tokens=args.max_new_tokens, seed=new_seed() if args.seed is None else args.seed)
    prompts_file = args.prompts_file or (str(paths.eval_prompts()) if args.eval else None)
    return SampleRequest(
        model=args.model if (args.model or args.endpoint) else DEMO,
        adapter=args.adapter, endpoint=args.endpoint, tasks=tuple(args.tasks),
        prompts_per_task=args.prompts, per_prompt=args.per_prompt, params=params,
        prompts_file=prompts_file, prompt_ids=tuple(args.prompt_ids) if args.prompt_ids else None,
        batch_size=args.batch_size, batch_id=args.batch_id, allow_greedy=args.allow_greedy,
    )


def quiet_progress_bars() -> None:
    """transformers' per-file loading bars flood job logs; our own progress lines say more."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def run(args: argparse.Namespace) -> int:
    request = build_request(args)  # GenParams validates temperature, top_p, top_k, max_new_tokens here
    quiet_progress_bars()
    with Store(args.store or paths.store_path()) as store:
        result = run_sampling(store, request)
    print(f"model: {result.model_id}" + (f" + {result.checkpoint_id}" if result.checkpoint_id else ""))
    print(f"backend: {result.backend} ({result.reason})")
    print(f"stored {len(result.rollout_ids)} rollouts for {result.prompts} prompts in batch {result.batch_id}; "
          f"{result.new_tokens} new tokens in {result.seconds:.1f} s ({result.tokens_per_s:.1f} tokens/s), "
          f"{result.truncated} truncated at {request.params.max_new_tokens} tokens; seed {request.params.seed}")
    if result.identical_samples:
        print(f"warning: the endpoint did not sample (identical completions at temperature "
              f"{request.params.temperature:g}); the rollouts are marked identical_samples in gen_params")
    return 0
