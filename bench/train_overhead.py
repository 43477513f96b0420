"""Step time of the project's GRPO training against a bare TRL GRPOTrainer, in one run.

    .venv/bin/python bench/train_overhead.py                 # tiny model, 24 steps per side
    .venv/bin/python bench/train_overhead.py --model demo --steps 12

Both sides use the same model weights, the same GRPOConfig (train.grpo_config.trl_config_kwargs
of the recipe), the same reward functions and the same prompts. The project side adds
what a real run has: the task-mix sampler with IWU, the eval-reward metric, the best
checkpoint, metrics to metrics.jsonl, train.log and a file store, early stopping. The
bare side is `trl.GRPOTrainer(...)` with nothing else.

So that the comparison measures the machinery and not luck in completion lengths, every
completion is generated to exactly max_completion_length tokens (min_new_tokens) and the
prompt set is one task (push prompts are all about the same length). A step's time is
the interval between consecutive `on_step_end` events, so it includes the logging, store
writes and callbacks of the step before; intervals that contain an evaluation are left
out. The sides alternate in rounds (A B A B) to spread drift on a shared machine; the
figure is the ratio of medians. Goal: overhead <= 5%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="tiny (default), demo, or a model folder")
    parser.add_argument("--steps", type=int, default=30, help="steps per side per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--completion-tokens", type=int, default=16)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads (default: all cores; 1 gives steadier figures on a shared machine)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="train-overhead-"))
    os.environ["TUCANO_AUDIT_HOME"] = str(work / "home")
    import torch
    from transformers import EarlyStoppingCallback, GenerationConfig, PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from data.build import build
    from data.store import Store
    from data.store.roles import SYSTEM
    from train.grpo import config as grpo_config
    from train.grpo import inputs as grpo_inputs
    from train.grpo import trainer as grpo_trainer
    from train.grpo.callbacks import BestCheckpoint, EvalRewardMetric, IWUCallback, RunRecorder
    from train.grpo.recipe import load_recipe

    torch.set_num_threads(args.threads or max(1, os.cpu_count() or 1))
    data = build(work / "home", size="small")
    recipe = load_recipe("tiny").with_overrides({
        "model.name": args.model, "data.train": str(data["train"]), "data.eval": str(data["eval"]),
        "data.db": str(data["db"]), "data.tasks": ["push"], "data.train_limit": 64, "data.eval_limit": 2,
        "grpo.max_steps": args.steps, "grpo.eval_steps": args.steps, "grpo.save_steps": args.steps,
        "grpo.max_completion_length": args.completion_tokens, "grpo.eval_on_start": False,
        "grpo.early_stopping_patience": 100, "grpo.num_generations": 4, "grpo.micro_batch_size": 8,
        "grpo.num_generations_eval": 2, "grpo.eval_batch_size": 4,
    })
    force_length = {"min_new_tokens": args.completion_tokens}
    lengths: dict[str, list[float]] = {"project": [], "bare": []}

    class StepClock(TrainerCallback):
        def __init__(self):
            self.ends, self.eval_steps, self.lengths = [], set(), []

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append((state.global_step, time.perf_counter()))

        def on_evaluate(self, args, state, control, **kwargs):
            self.eval_steps.add(state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            # Both sides must generate the same amount: report what they did.
            if logs and "completions/mean_length" in logs:
                self.lengths.append(logs["completions/mean_length"])

        def intervals(self) -> list[float]:
            out = []
            for (s0, t0), (s1, t1) in zip(self.ends, self.ends[1:], strict=False):
                if s0 not in self.eval_steps and s1 not in self.eval_steps:
                    out.append(t1 - t0)
            return out[1:]  # the first interval warms caches

    callback_seconds = [0.0]

    def timed(method):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return method(*a, **k)
            finally:
                callback_seconds[0] += time.perf_counter() - t0
        return wrapper

    def project(round_no: int) -> list[float]:
        store = Store(work / "store.db")
        run_dir = work / f"project-{round_no}"
        (run_id,) = store.create_runs(SYSTEM, recipe=recipe.to_dict(), seeds=[recipe.grpo.seed], reward_versions={},
                                      runs_root=work, gate_skipped=True, first_status="running", pid=os.getpid(),
                                      host="bench", run_dir=run_dir)
        clock = StepClock()
        s = grpo_trainer.setup(recipe, run_dir, store=store, run_id=run_id, extra_callbacks=[clock])
        # The same forced length the bare side gets through GRPOConfig(generation_kwargs=...).
        s.trainer.generation_kwargs.update(force_length)
        s.trainer.generation_config = GenerationConfig(**s.trainer.generation_kwargs, disable_compile=True)
        # Time spent inside the project's own callbacks (metrics, store, IWU, best checkpoint,
        # early stopping): a figure free of the machine's noise.
        ours = (EvalRewardMetric, IWUCallback, BestCheckpoint, RunRecorder, EarlyStoppingCallback)
        for cb in s.trainer.callback_handler.callbacks:
            if isinstance(cb, ours):
                for event in ("on_step_begin", "on_step_end", "on_log", "on_evaluate", "on_save"):
                    setattr(cb, event, timed(getattr(cb, event)))
        s.trainer.train()
        store.finish_run(run_id, "finished", stop_reason="bench")
        store.close()
        lengths["project"] += clock.lengths
        return clock.intervals()

    def bare(round_no: int) -> list[float]:
        plan = grpo_config.plan_model(recipe)
        kwargs = grpo_config.trl_config_kwargs(recipe, plan, work / f"bare-{round_no}")
        for key in ("metric_for_best_model", "greater_is_better", "restore_callback_states_from_checkpoint"):
            kwargs.pop(key)
        config = GRPOConfig(**kwargs, generation_kwargs=force_length)
        loaded, model, peft_config = grpo_trainer.load_policy(recipe, plan)
        train_rows, eval_rows = grpo_inputs.load_rows(recipe)
        clock = StepClock()
        trainer = GRPOTrainer(model=model, reward_funcs=grpo_inputs.build_rewards(recipe).funcs, args=config,
                              train_dataset=grpo_inputs.to_dataset(train_rows, str(data["db"])),
                              eval_dataset=grpo_inputs.to_dataset(eval_rows, str(data["db"])),
                              processing_class=loaded.tokenizer, peft_config=peft_config, callbacks=[clock])
        # Printing every log dict is a default we drop on the project side too: equal footing.
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        lengths["bare"] += clock.lengths
        return clock.intervals()

    times = {"project": [], "bare": []}
    for r in range(args.rounds):
        for name, fn in (("bare", bare), ("project", project)) if r % 2 else (("project", project), ("bare", bare)):
            t0 = time.perf_counter()
            steps = fn(r)
            times[name] += steps
            print(f"round {r + 1} {name:8s}: {len(steps)} steps, median {statistics.median(steps):.4f} s/step "
                  f"({time.perf_counter() - t0:.0f} s wall)", flush=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    overhead = med["project"] / med["bare"] - 1
    print(f"\nmodel {args.model}, {args.completion_tokens}-token completions, 4 generations x 2 prompts per step, "
          f"{torch.get_num_threads()} torch thread(s)")
    print("mean completion length: " + ", ".join(f"{k} {statistics.mean(v):.1f}" for k, v in lengths.items()))
    print(f"bare GRPOTrainer : {med['bare']:.4f} s/step (median of {len(times['bare'])})")
    print(f"project training : {med['project']:.4f} s/step (median of {len(times['project'])})")
    print(f"overhead         : {overhead:+.1%} (goal <= 5%)")
    steps = args.steps * args.rounds
    per_step = callback_seconds[0] / steps
    print(f"inside the project's callbacks: {per_step * 1000:.1f} ms/step ({per_step / med['project']:.1%} of a step, "
          "evaluations and checkpoints included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
