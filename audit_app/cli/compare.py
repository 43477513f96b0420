"""`tucano-audit compare`: base versus tuned on the eval set, with the report.

    tucano-audit compare --base demo --adapter .tucano/runs/cpu-demo/best_checkpoint
    tucano-audit compare --base MODEL --adapter runs/s42/best_checkpoint --adapter runs/s123/best_checkpoint
    tucano-audit compare --report 3          # rewrite comparison 3's report (with new notes / reviews)

Running the same command again resumes an interrupted comparison. Inside a job (the app's
"Run a comparison" button) progress goes to the store; Ctrl-C and the job's cancel
(SIGTERM) leave a report marked PARTIAL.
"""

from __future__ import annotations

import argparse
import signal
import sys

from audit_app.jobs.runner import start_job
from data import paths
from data.store import Store
from data.store.progress import current_job_id
from data.store.roles import SYSTEM
from train.compare.evaluate import DEFAULT_SAMPLES, CompareSpec, plan_comparison, run_comparison
from train.compare.report import to_markdown, write_report


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare", help="evaluate base vs tuned adapter(s) on the eval set (Wilcoxon, report)",
        description="Generate a completion for every eval prompt with the base model and each adapter "
                    "(same seeds and parameters), score them with the rewards, store per-prompt results "
                    "and write report.md / report.json into the run folder.")
    p.add_argument("--base", help="base model: hub id, local folder, 'demo' (the warm-started SmolLM2 demo model) or 'demo-raw' (as shipped)")
    p.add_argument("--adapter", action="append", default=[], metavar="DIR",
                   help="LoRA checkpoint folder; repeat for several seeds")
    p.add_argument("--eval", dest="eval_path", metavar="FILE", help="eval prompts JSONL (default: the home's eval set)")
    p.add_argument("--temperature", type=float, default=0.1, help="sampling temperature (default 0.1)")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--samples", type=int, default=DEFAULT_SAMPLES,
                   help=f"completions per prompt and side; a prompt's reward is their mean (default {DEFAULT_SAMPLES}; "
                        "1 = the one-sample protocol)")
    p.add_argument("--tasks", nargs="+", metavar="TASK", help="only these tasks")
    p.add_argument("--limit-per-task", type=int, metavar="N", help="at most N eval prompts per task")
    p.add_argument("--chunk-size", type=int, default=8, help="prompts per generation chunk (resume unit)")
    p.add_argument("--store", metavar="PATH", help="store database (default: the home's store.db)")
    p.add_argument("--out", metavar="DIR", help="report folder (default: the adapter's run folder)")
    p.add_argument("--report", type=int, metavar="ID", help="only (re)write the report of comparison ID")
    p.set_defaults(func=_run)


def _interrupt(signum, frame):
    # The job runner cancels with SIGTERM: treat it as Ctrl-C so the comparison is marked partial.
    raise KeyboardInterrupt


def _open_store(path: str | None):
    return Store(path or paths.store_path())


def _run(args: argparse.Namespace) -> int:
    if args.report is not None:
        store = _open_store(args.store)
        c = store.get_comparison(args.report)
        out = args.out or c["out_dir"]
        if not out:
            raise ValueError(f"comparison {args.report} has no report folder yet: pass --out DIR")
        paths = write_report(store, args.report, out)
        print(f"report: {paths['md']}")
        return 0
    if not args.base:
        raise ValueError("compare needs --base MODEL (or --report ID)")

    spec = CompareSpec(
        base=args.base, adapters=tuple(args.adapter), eval_path=args.eval_path, temperature=args.temperature,
        top_p=args.top_p, top_k=args.top_k, max_new_tokens=args.max_new_tokens, seed=args.seed,
        samples=args.samples, tasks=tuple(args.tasks) if args.tasks else None,
        limit_per_task=args.limit_per_task, chunk_size=args.chunk_size)
    plan = plan_comparison(spec)  # every input check before the store or a model is touched
    store = _open_store(args.store)
    # Inside a job the runner already turns SIGTERM into an exception (and records "cancelled");
    # run by hand, SIGTERM becomes Ctrl-C. Either way the comparison is marked partial.
    previous = signal.getsignal(signal.SIGTERM)
    if previous in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        outcome = run_comparison(store, SYSTEM, plan, out_dir=args.out, job_id=current_job_id())
    except KeyboardInterrupt:
        print("interrupted: the comparison is marked partial; rerun the same command to resume",
              file=sys.stderr)
        return 130
    finally:
        if previous in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
    print(to_markdown(outcome["report"]))
    if outcome["reused_chunks"]:
        print(f"\nthe base side's {outcome['reused_chunks']} chunk(s) were copied from comparison(s) "
              f"{', '.join(map(str, outcome['reused_from']))} (same base model, prompts and settings) "
              "and scored again, not generated")
    print(f"\ncomparison {outcome['comparison_id']} ({outcome['status']}); report: {outcome['paths']['md']}")
    return 0


def build_argv(*, base: str, adapters: list[str], store_path: str, eval_path: str | None = None,
               temperature: float = 0.1, samples: int = DEFAULT_SAMPLES, max_new_tokens: int = 256, seed: int = 42,
               tasks: list[str] | None = None, limit_per_task: int | None = None) -> list[str]:
    """The `tucano-audit compare ...` arguments a job runs."""
    argv = ["compare", "--base", base]
    for a in adapters:
        argv += ["--adapter", a]
    if eval_path:
        argv += ["--eval", eval_path]
    argv += ["--temperature", repr(float(temperature)), "--samples", str(int(samples)),
             "--max-new-tokens", str(int(max_new_tokens)), "--seed", str(int(seed)), "--store", store_path]
    if tasks:
        argv += ["--tasks", *tasks]
    if limit_per_task:
        argv += ["--limit-per-task", str(int(limit_per_task))]
    return argv


def start_compare_job(store, actor, *, base: str, adapters: list[str], **options) -> int:
    """Validate the request (engineers only), then start the comparison as a job; job id."""
    actor = store.acting(actor, "engineer", action="running a comparison")
    spec_fields = {k: v for k, v in options.items() if k in ("eval_path", "temperature", "samples",
                                                              "max_new_tokens", "seed", "limit_per_task")}
    tasks = options.get("tasks")
    plan_comparison(CompareSpec(base=base, adapters=tuple(adapters), tasks=tuple(tasks) if tasks else None,
                                **spec_fields))
    argv = build_argv(base=base, adapters=list(adapters), store_path=store.path, tasks=tasks, **spec_fields)
    return start_job(store, actor, "compare", argv, meta={"base": base, "adapters": list(adapters)})
