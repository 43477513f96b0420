"""GRPO training of a chat model on the four e-commerce tasks, on TRL's GRPOTrainer.

How to run it:

    tucano-audit train --recipe tiny                       # the in-process test model, seconds
    tucano-audit train --recipe cpu-demo                   # SmolLM2-135M on CPU, < 30 min on 2 cores
    tucano-audit train --recipe tucano2-0.5b-l4 --store .tucano/store.db   # one L4 GPU, gated by the audit
    tucano-audit train --recipe cpu-demo --resume          # continue from the last complete checkpoint

What it does, as one `main()` in phases (`setup` in train.grpo.trainer runs 1-5):
1. config  - the recipe (train/grpo/recipes/*.yaml), the machine (CUDA? Unsloth?), TRL's
             GRPOConfig (train.grpo.config);
2. data    - train and eval prompt rows (data.prompts), limited per task, every task present
             (train.grpo.inputs);
3. model   - the policy through train.models.loading, LoRA via PEFT (or Unsloth on CUDA);
4. rewards - the rewards registry through rewards.trl_adapter: one function per task, or
             one per component for GDPO (TRL multi_objective_aggregation="normalize_then_sum");
5. trainer - GRPOTrainer whose sampler draws tasks by IWU weights (train.grpo.task_sampler),
             with the callbacks of train.grpo.callbacks (metrics, IWU, best checkpoint, early stop);
6. train   - trainer.train(), resuming from the last complete checkpoint when asked;
7. save    - the final adapter, summary.json; best_checkpoint/ already holds the peak.

Everything a run writes lives in its run folder: checkpoint-N/, best_checkpoint/ (with
best.json: step and score), final/, metrics.jsonl, train.log, recipe.yaml, summary.json.
The recipe we follow peaked at step 1,100 and collapsed by 1,500: the evaluation reward,
not the last step, decides which adapter a run hands back.
"""


from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from data import atomic
from train.grpo.callbacks import BEST_DIR, FINAL_DIR, METRIC, RunState
from train.grpo.config import check_model_available, plan_model, reward_plan
from train.grpo.inputs import commerce_db, load_rows
from train.grpo.recipe import Recipe
from train.grpo.run_lock import run_folder_lock
from train.grpo.trainer import setup

logger = logging.getLogger("tucano.train")


@dataclass
class TrainResult:
    run_dir: Path
    global_step: int
    stop_reason: str  # max_steps | early_stopping
    best_step: int | None
    best_score: float | None
    wall_seconds: float
    first_eval: dict = field(default_factory=dict)  # task -> eval reward at the first evaluation
    best_eval: dict = field(default_factory=dict)  # task -> eval reward at the best evaluation

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "run_dir": str(self.run_dir)}


def main(recipe: Recipe, run_dir: str | Path, *, resume: bool = False, store=None, run_id: int | None = None,
         extra_callbacks: list | None = None) -> TrainResult:
    """Train `recipe` into `run_dir`. With `store` and `run_id`, metrics and checkpoints are
    recorded there too (the run row itself is managed by the caller, audit_app.cli.train).
    The run folder is locked from before anything reads it until the last file is written
    (train.grpo.run_lock): a second run into it is refused with RunFolderBusy."""
    started = time.perf_counter()
    with run_folder_lock(run_dir):
        s = setup(recipe, run_dir, resume=resume, store=store, run_id=run_id, extra_callbacks=extra_callbacks)
        # -- 6. train -----------------------------------------------------------------------
        if s.checkpoint is not None and _checkpoint_step(s.checkpoint) >= recipe.grpo.max_steps:
            # A finished run resumed: the trainer would take one step past max_steps.
            logger.info("%s already reached max_steps (%d): nothing left to train", s.checkpoint,
                        recipe.grpo.max_steps)
            s.trainer.state.global_step = _checkpoint_step(s.checkpoint)
        else:
            s.trainer.train(resume_from_checkpoint=str(s.checkpoint) if s.checkpoint else None)
        # -- 7. save ------------------------------------------------------------------------
        step = s.trainer.state.global_step
        reason = "max_steps" if step >= recipe.grpo.max_steps else "early_stopping"
        s.trainer.save_model(str(s.run_dir / FINAL_DIR))
        result = _result(s.run_dir, s.state, step, reason, time.perf_counter() - started)
        atomic.write_text(s.run_dir / "summary.json", json.dumps(result.to_dict(), indent=2, sort_keys=True))
    logger.info("done at step %d (%s); best %s %.4f at step %s -> %s", step, reason, METRIC,
                result.best_score if result.best_score is not None else math.nan, result.best_step,
                s.run_dir / BEST_DIR)
    return result


def preflight(recipe: Recipe) -> dict:
    """Every check that can fail before a run starts: machine, rewards, prompts, model.

    Returns what was found (backend, prompt counts per task, model source); raises a
    clear error (RecipeError, TrainingError, FileNotFoundError, LookupError) otherwise."""
    plan = plan_model(recipe)
    rewards = reward_plan(recipe)
    train_rows, eval_rows = load_rows(recipe)
    commerce_db(recipe)
    source = check_model_available(recipe.model.name)

    def counts(rows):
        return {t: sum(r["task"] == t for r in rows) for t in recipe.tasks}

    return {"backend": plan.backend, "reason": plan.reason, "model": source, "rewards": [r[0] for r in rewards],
            "train_prompts": counts(train_rows), "eval_prompts": counts(eval_rows)}


def _result(run_dir: Path, state: RunState, step: int, reason: str, seconds: float) -> TrainResult:
    # Evaluations as metrics.jsonl recorded them (a step evaluated again after a resume: the last one).
    evals = {r["step"]: r for r in _read_jsonl(run_dir / "metrics.jsonl") if r.get("kind") == "eval"}

    def per_task(row: dict | None) -> dict:
        return {k.split("/", 1)[1]: v for k, v in (row or {}).items()
                if k.startswith("task_reward/") and v is not None}

    first = evals[min(evals)] if evals else None
    return TrainResult(run_dir=run_dir, global_step=step, stop_reason=reason, best_step=state.best_step,
                       best_score=state.best_score, wall_seconds=round(seconds, 1), first_eval=per_task(first),
                       best_eval=per_task(evals.get(state.best_step)))


def _checkpoint_step(checkpoint: Path) -> int:
    state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    return int(state.get("global_step", 0))


def _read_jsonl(path: Path) -> list[dict]:
    """The file's records; a line cut short (a run killed while appending it) is skipped."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return [r for r in rows if isinstance(r, dict)]
