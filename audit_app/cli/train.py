"""`tucano-audit train`: GRPO training from a recipe, and `train export` to merge an adapter.

    tucano-audit train --recipe tiny                          # no store: just a run folder
    tucano-audit train --recipe cpu-demo --run-dir .tucano/runs/cpu-demo [--resume]
    tucano-audit train --recipe tucano2-0.5b-l4 --store .tucano/store.db [--seed 42 --seed 123]
    tucano-audit train --recipe tucano2-0.5b-l4 --store S --exclude-task sql_qa
    tucano-audit train --recipe tucano2-0.5b-l4 --store S --skip-gate       # recorded with the run
    tucano-audit train --store S --run-id 7 [--resume]         # a recorded run (what launched jobs run)
    tucano-audit train export --adapter RUN/best_checkpoint --out merged/

With `--store` the launch rules of the app apply (audit_app.jobs.launch): the current gate
decision must pass every task of the mix, one training run at a time, and the run is
recorded (recipe snapshot, seed, gate decision, reward versions, git commit). Extra
`--seed`s wait in the store's queue and start as jobs one after another. Every check that
can fail (recipe, machine, prompts, model) runs before training starts.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from audit_app.jobs import launch
from data import paths
from data.store import Store
from data.store.roles import SYSTEM
from rewards.types import TASKS
from train.grpo.export import merge_adapter
from train.grpo.recipe import load_recipe, recipe_from_dict


class RunCancelled(BaseException):
    """SIGTERM in a command-line run (a job's runner raises its own JobCancelled)."""


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="GRPO training from a recipe (train export: merge an adapter)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", help="recipe name in train/grpo/recipes/ (tiny, cpu-demo, tucano2-0.5b-l4) or a YAML path")
    p.add_argument("--seed", type=int, action="append", help="seed (repeat to queue several runs; needs --store)")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's last complete checkpoint")
    p.add_argument("--store", help="record the run in this store and apply the launch rules")
    p.add_argument("--skip-gate", action="store_true", help="train although the audit gate does not pass (recorded)")
    p.add_argument("--exclude-task", action="append", choices=TASKS, default=[], metavar="TASK",
                   help="leave a task out of the recipe's mix (repeatable; recorded with the run)")
    p.add_argument("--run-dir", help="run folder (default: <home>/runs/<recipe name>, or one per recorded run)")
    p.add_argument("--run-id", type=int, help="train the run recorded in --store under this id")
    p.set_defaults(func=train_command)
    sub = p.add_subparsers(dest="train_command", metavar="SUBCOMMAND")
    e = sub.add_parser("export", help="merge a LoRA adapter into its base model for inference")
    e.add_argument("--adapter", required=True, help="adapter folder (e.g. RUN/best_checkpoint)")
    e.add_argument("--out", required=True, help="folder for the merged model (must not exist)")
    e.add_argument("--model", help="base model (default: the one recorded in the adapter)")
    e.set_defaults(func=export_command)


def export_command(args: argparse.Namespace) -> int:
    out = merge_adapter(args.adapter, args.out, base=args.model)
    print(f"merged model written to {out}")
    return 0


def train_command(args: argparse.Namespace) -> int:
    if args.run_id is not None:
        if not args.store:
            raise ValueError("--run-id needs --store (the store holding the run)")
        if args.recipe or args.seed or args.exclude_task or args.skip_gate or args.run_dir:
            raise ValueError("--run-id trains a recorded run as it was launched: drop --recipe, --seed, "
                             "--exclude-task, --skip-gate and --run-dir")
        return _train_recorded(args.store, args.run_id, resume=args.resume)
    if not args.recipe:
        raise ValueError("give --recipe NAME_OR_FILE (bundled: tiny, cpu-demo, tucano2-0.5b-l4)")
    seeds = args.seed or []
    recipe = load_recipe(args.recipe)
    _import_unsloth_first(recipe.model.backend)
    recipe = recipe.with_overrides({"grpo.seed": seeds[0]} if seeds else None, exclude_tasks=args.exclude_task)
    if args.store:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ValueError("--store records one process's run; under accelerate launch train without --store "
                             "(the run folder still gets metrics.jsonl, checkpoints and best_checkpoint/)")
        if args.resume:
            raise ValueError("with --store, resume a recorded run: --store S --run-id N --resume")
        return _train_new_recorded(args.store, recipe, seeds, skip_gate=args.skip_gate, run_dir=args.run_dir)
    if len(seeds) > 1:
        raise ValueError("several --seed values queue runs, which needs --store")
    if args.skip_gate:
        raise ValueError("--skip-gate only means something with --store (without a store no gate is checked)")
    return _train_plain(recipe, args.run_dir, resume=args.resume)


def _default_run_dir(recipe):
    return paths.runs_dir() / recipe.name


def _train_plain(recipe, run_dir, *, resume: bool) -> int:
    # Lazy, and after _import_unsloth_first: train.grpo imports transformers and TRL, which
    # Unsloth must patch first on a CUDA machine.
    from train.grpo import run as grpo

    found = grpo.preflight(recipe)
    print(f"preflight: {found}", file=sys.stderr)
    with _sigterm_as_cancel():
        result = grpo.main(recipe, run_dir or _default_run_dir(recipe), resume=resume)
    _print_result(result)
    return 0


def _train_new_recorded(store_path, recipe, seeds, *, skip_gate: bool, run_dir) -> int:
    """Launch from the command line: the app's rules, this process trains the first seed."""
    store = Store(store_path)
    ids = launch.launch(store, SYSTEM, recipe, seeds or None, skip_gate=skip_gate, start=False,
                        first_status="running", run_dir=run_dir)
    if len(ids) > 1:
        print(f"runs {ids[1:]} queued; they start one after another when run {ids[0]} ends", file=sys.stderr)
    return _run_recorded(store, ids[0], resume=False)


def _train_recorded(store_path, run_id: int, *, resume: bool) -> int:
    """Train a recorded run (a launched job, or a resume asked on the command line)."""
    import socket

    store = Store(store_path)
    run = store.get_run(run_id)
    _import_unsloth_first(run["recipe"]["model"]["backend"])
    if run["status"] in ("failed", "cancelled") and resume:
        launch.resume_checks(store, SYSTEM, run_id)
        store.reopen_run(SYSTEM, run_id)
    store.mark_run_running(run_id, pid=os.getpid(), host=socket.gethostname())
    return _run_recorded(store, run_id, resume=resume or run["resumes"] > 0)


def _run_recorded(store, run_id: int, *, resume: bool) -> int:
    """Train run `run_id` (already 'running' for this process) and record how it ends."""
    from train.grpo import run as grpo  # lazy, after _import_unsloth_first (see _train_plain)

    run = store.get_run(run_id)
    status, reason = "failed", None
    try:
        recipe = recipe_from_dict(run["recipe"], source=f"run {run_id}")
        grpo.preflight(recipe)
        with _sigterm_as_cancel():
            result = grpo.main(recipe, run["run_dir"], resume=resume, store=store, run_id=run_id)
        status, reason = "finished", result.stop_reason
        store.update_run_progress(run_id, step=result.global_step, best_step=result.best_step,
                                  best_score=result.best_score)
        _print_result(result)
        return 0
    except (KeyboardInterrupt, RunCancelled) as exc:
        status, reason = "cancelled", f"stopped by {type(exc).__name__}"
        raise
    except BaseException as exc:
        if type(exc).__name__ == "JobCancelled":  # the job runner's SIGTERM
            status, reason = "cancelled", "cancelled (SIGTERM)"
        else:
            reason = f"{type(exc).__name__}: {exc}"[:500]
        raise
    finally:
        store.finish_run(run_id, status, stop_reason=reason)
        try:
            launch.advance_queue(store)  # the next seed, if any, starts as a job
        finally:
            store.close()


def _import_unsloth_first(backend: str) -> None:
    """Unsloth patches transformers and TRL when it is imported, so on a CUDA machine that
    will train with it, it must be imported before train.grpo brings them in."""
    import importlib.util

    if backend in ("unsloth", "auto") and importlib.util.find_spec("unsloth") is not None:
        import torch

        if torch.cuda.is_available():
            import unsloth  # noqa: F401


class _sigterm_as_cancel:
    """Within a plain process (not a job), SIGTERM ends training as a cancellation."""

    def __enter__(self):
        self.previous = signal.getsignal(signal.SIGTERM)
        if self.previous in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        raise RunCancelled()

    def __exit__(self, *exc):
        if self.previous in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        return False


def _print_result(result) -> None:
    print(f"run folder: {result.run_dir}")
    print(f"stopped at step {result.global_step} ({result.stop_reason}) after {result.wall_seconds:.0f} s")
    if result.best_step is not None:
        print(f"best checkpoint: {result.run_dir}/best_checkpoint (step {result.best_step}, "
              f"eval task_reward {result.best_score:.4f})")
    for label, values in (("eval at start", result.first_eval), ("eval at best", result.best_eval)):
        if values:
            print(f"{label}: " + ", ".join(f"{t} {v:.3f}" for t, v in values.items()))
