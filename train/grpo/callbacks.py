"""Trainer callbacks of a GRPO run: the eval-reward metric, IWU task weights, the best
checkpoint, and metrics to the run folder and the store.

Order matters (transformers calls callbacks in the order they were added), so
`callbacks_for_run` builds them in this order:

1. `EvalRewardMetric` adds `eval_task_reward` (the mean over the mix's tasks of each
   task's eval reward) to the evaluation metrics. The same dict then reaches
   `EarlyStoppingCallback` and the Trainer's `metric_for_best_model` bookkeeping.
2. `IWUCallback` turns per-task eval rewards into new task weights (rewards.iwu) and
   hands them to the task-mix sampler.
3. `BestCheckpoint` saves `best_checkpoint/` (adapter, tokenizer, best.json with step and
   score) when the eval reward beats the best so far, written to a temporary folder and
   renamed, so a killed run never leaves half a best checkpoint.
4. `RunRecorder` writes every logging step and evaluation to `metrics.jsonl`, `train.log`
   and the store, with each task's distinctness, repeated n-grams and length from the
   completion sampler (train.grpo.samples) and their examples in `samples.jsonl`;
   records checkpoints; saves the run state (weights, best so far) inside each checkpoint
   so a resume continues from it.
Under `accelerate launch` every process keeps the same state (metrics are gathered, so
IWU weights agree and the samplers draw the same prompts) and only process 0 writes.
5. transformers' `EarlyStoppingCallback` (patience in evaluations, from the recipe).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from transformers import TrainerCallback

from data.store import progress
from rewards import iwu
from train.grpo.samples import SAMPLES_FILE, CompletionSampler, step_metrics

logger = logging.getLogger("tucano.train")

METRIC = "task_reward"  # metric_for_best_model; the Trainer looks it up as eval_task_reward
STATE_FILE = "tucano_state.json"  # written last into each checkpoint: marks it complete
BEST_DIR = "best_checkpoint"
FINAL_DIR = "final"  # the last step's adapter, saved when training ends (train.grpo.run)
BEST_FILE = "best.json"

# TRL's log keys -> the monitor's names (anything else is kept under its own name).
RENAMES = {
    "completions/mean_length": "completion_length",
    "completions/clipped_ratio": "truncated_share",
    "clip_ratio/region_mean": "clip_ratio",
}


@dataclass
class RunState:
    """What a resumed run must carry on with: task weights and the best evaluation so far."""

    weights: dict[str, float]
    iwu_logits: list[float] | None = None  # rewards.iwu.IWUState between evaluations
    iwu_last: list[float | None] | None = None
    best_step: int | None = None
    best_score: float | None = None
    eval_history: list[dict] = field(default_factory=list)  # [{step, rewards: {task: r}, weights}]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def load(cls, path: Path) -> RunState:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class RewardNames:
    """Which TRL reward function stands for which task (total) or task component."""

    totals: dict[str, str]  # function __name__ -> task
    components: dict[str, tuple[str, str]]  # function __name__ -> (task, component)


def normalise(logs: dict, names: RewardNames, *, eval_prefix: bool = False) -> dict[str, float | None]:
    """TRL's log dict -> flat monitor names (task_reward/<task>, component/<task>/<c>, ...)."""
    out: dict[str, float | None] = {}
    for key, value in logs.items():
        if eval_prefix:
            if not key.startswith("eval_"):
                continue
            key = key[5:]
        if not isinstance(value, int | float) or isinstance(value, bool):
            if value is not None:
                continue
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        if key.startswith("rewards/"):
            _, fname, stat = key.split("/", 2) if key.count("/") >= 2 else (None, key, "")
            if fname in names.totals:
                task = names.totals[fname]
                out[f"task_reward/{task}" if stat == "mean" else f"task_reward_{stat}/{task}"] = value
                continue
            if fname in names.components:
                task, comp = names.components[fname]
                out[f"component/{task}/{comp}" if stat == "mean" else f"component_{stat}/{task}/{comp}"] = value
                continue
        out[RENAMES.get(key, key)] = value
    return out


def task_rewards(metrics: dict, names: RewardNames) -> dict[str, float]:
    """Per-task eval reward means from an evaluation's metrics (finite values only)."""
    out = {}
    for fname, task in names.totals.items():
        value = metrics.get(f"eval_rewards/{fname}/mean")
        if isinstance(value, int | float) and math.isfinite(value):
            out[task] = float(value)
    return out


class EvalRewardMetric(TrainerCallback):
    """Adds eval_task_reward: the unweighted mean of the tasks' eval rewards.

    Mean over tasks, not over completions, so the metric does not move just because the
    eval set holds more prompts of one task, and it is the same under sum and GDPO
    aggregation (where TRL's own eval_reward is a sum of components)."""

    def __init__(self, names: RewardNames, tasks: list[str]):
        self.names, self.tasks = names, tasks

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        per_task = task_rewards(metrics, self.names)
        missing = [t for t in self.tasks if t not in per_task]
        if missing:
            # A task with no scored eval completion cannot be judged: the metric must not pretend.
            logger.warning("evaluation at step %d has no reward for %s", state.global_step, ", ".join(missing))
        metrics[f"eval_{METRIC}"] = sum(per_task.values()) / len(per_task) if per_task else float("nan")


class IWUCallback(TrainerCallback):
    """After each evaluation, new task weights from rewards.iwu; the sampler reads them.

    The per-task eval rewards (always the same eval prompts, so comparable from one
    evaluation to the next) are IWU's J_k; their change since the last evaluation is I_k."""

    def __init__(self, run: RunState, weights, names: RewardNames, params: dict | None = None):
        self.run, self.weights, self.names, self.params = run, weights, names, dict(params or {})

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        tasks = self.weights.tasks
        rewards_now = {t: r for t, r in task_rewards(metrics, self.names).items() if t in tasks}
        if self.run.iwu_logits is None:
            current = iwu.initial_state(tasks, self.weights.get())
        else:
            current = iwu.IWUState(tuple(tasks), tuple(self.run.iwu_logits), tuple(self.run.iwu_last))
        new = iwu.iwu_update(current, rewards_now, **self.params)
        stored = self.weights.set(new.weights)
        self.run.weights = stored
        self.run.iwu_logits, self.run.iwu_last = list(new.logits), list(new.last_rewards)
        self.run.eval_history.append({"step": state.global_step, "rewards": rewards_now, "weights": stored})
        logger.info("step %d IWU task weights %s (eval rewards %s)", state.global_step,
                    _fmt(stored), _fmt(rewards_now))


class BestCheckpoint(TrainerCallback):
    """Keeps `best_checkpoint/` = the adapter with the highest eval_task_reward so far."""

    def __init__(self, run_dir: Path, run: RunState, names: RewardNames):
        self.run_dir, self.run, self.names = Path(run_dir), run, names

    def on_evaluate(self, args, state, control, metrics=None, model=None, processing_class=None, **kwargs):
        score = metrics.get(f"eval_{METRIC}")
        if score is None or not math.isfinite(score):
            return
        if self.run.best_score is not None and score <= self.run.best_score:
            return
        self.run.best_step, self.run.best_score = state.global_step, float(score)
        if not state.is_world_process_zero:  # every process tracks the best; one writes it
            return
        save_best(self.run_dir, model, processing_class, step=state.global_step, score=float(score),
                  task_rewards=task_rewards(metrics, self.names))
        logger.info("step %d new best eval %s %.4f -> %s", state.global_step, METRIC, score, self.run_dir / BEST_DIR)


def save_best(run_dir: Path, model, tokenizer, *, step: int, score: float, task_rewards: dict) -> Path:
    """Write best_checkpoint/ atomically: a temporary sibling, then renames."""
    final = Path(run_dir) / BEST_DIR
    tmp = Path(run_dir) / f".{BEST_DIR}.tmp-{os.getpid()}"
    old = Path(run_dir) / f".{BEST_DIR}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    if tokenizer is not None:
        tokenizer.save_pretrained(str(tmp))
    (tmp / BEST_FILE).write_text(json.dumps({"step": step, "metric": METRIC, "score": score,
                                             "task_rewards": task_rewards}, indent=2), encoding="utf-8")
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def read_best(run_dir: Path) -> dict | None:
    path = Path(run_dir) / BEST_DIR / BEST_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


class RunRecorder(TrainerCallback):
    """Metrics to metrics.jsonl, train.log and the store; checkpoints recorded; run state saved."""

    def __init__(self, run_dir: Path, run: RunState, names: RewardNames, weights, *, store=None,
                 run_id: int | None = None, max_steps: int | None = None, sampler: CompletionSampler | None = None):
        self.run_dir, self.run, self.names, self.weights = Path(run_dir), run, names, weights
        self.store, self.run_id, self.max_steps, self.sampler = store, run_id, max_steps, sampler
        self.jsonl = self.run_dir / "metrics.jsonl"
        self.samples = self.run_dir / SAMPLES_FILE
        self._step_started = None
        self._step_times: list[float] = []
        self.eval_scores: dict[int, float] = {}

    # -- timing ----------------------------------------------------------------------------
    def on_step_begin(self, args, state, control, **kwargs):
        self._step_started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self._step_started is not None:
            self._step_times.append(time.perf_counter() - self._step_started)
            self._step_started = None

    # -- metrics -----------------------------------------------------------------------------
    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero:
            return
        if not logs or any(k.startswith("eval_") for k in logs) or "train_runtime" in logs:
            return  # evaluations are written from on_evaluate (with the derived metric); the summary is not a step
        row = normalise(logs, self.names)
        # TRL's own step_time covers training_step only; ours is the whole optimizer step.
        if "step_time" in row:
            row["training_step_time"] = row.pop("step_time")
        if self.weights is not None:
            row.update({f"task_weight/{t}": w for t, w in self.weights.get().items()})
        if self._step_times:
            row["step_time"] = sum(self._step_times) / len(self._step_times)
            self._step_times.clear()
        if self.sampler is not None and (summaries := self.sampler.drain()):
            row.update(step_metrics(summaries))
            _append_jsonl(self.samples, {"time": time.time(), "step": state.global_step, "tasks": summaries})
        self._write("train", state.global_step, row)
        if self.store is not None and self.run_id is not None:
            self.store.update_run_progress(self.run_id, step=state.global_step)
        _progress(state.global_step, self.max_steps or args.max_steps, row)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.sampler is not None:
            self.sampler.discard()  # the evaluation's completions are not training's
        if not state.is_world_process_zero:
            return
        row = normalise(metrics, self.names, eval_prefix=True)
        if self.weights is not None:
            row.update({f"task_weight/{t}": w for t, w in self.weights.get().items()})
        score = row.get(METRIC)
        if score is not None:
            self.eval_scores[state.global_step] = score
        row["best_score"] = self.run.best_score
        self._write("eval", state.global_step, row)
        if self.store is not None and self.run_id is not None:
            self.store.update_run_progress(self.run_id, step=state.global_step, best_step=self.run.best_step,
                                           best_score=self.run.best_score)
            if self.run.best_step == state.global_step:
                self.store.record_checkpoint(self.run_id, path=self.run_dir / BEST_DIR, step=state.global_step,
                                             eval_score=score, is_best=True)
            if self.run.eval_history and self.run.eval_history[-1]["step"] == state.global_step:
                self.store.add_run_event(self.run_id, "iwu", self.run.eval_history[-1])

    def on_save(self, args, state, control, **kwargs):
        folder = self.run_dir / f"checkpoint-{state.global_step}"
        if not state.is_world_process_zero or not folder.is_dir():
            return
        # Written last: a checkpoint without it was cut short and is never resumed from.
        (folder / STATE_FILE).write_text(self.run.to_json(), encoding="utf-8")
        score = self.eval_scores.get(state.global_step)
        self._event({"kind": "checkpoint", "step": state.global_step, "path": str(folder), "eval_score": score})
        if self.store is not None and self.run_id is not None:
            self.store.record_checkpoint(self.run_id, path=folder, step=state.global_step, eval_score=score)

    def _write(self, kind: str, step: int, row: dict) -> None:
        self._event({"kind": kind, "step": step, **row})
        shown = {k: v for k, v in row.items() if k in ("reward", "task_reward", "entropy", "truncated_share",
                                                       "frac_reward_zero_std", "step_time", "best_score")
                 or k.startswith("task_reward/")}
        logger.info("%s step %d %s", kind, step, _fmt(shown))
        if self.store is not None and self.run_id is not None:
            self.store.record_run_metrics(self.run_id, kind, step, row)

    def _event(self, record: dict) -> None:
        _append_jsonl(self.jsonl, {"time": time.time(), **record})


def _append_jsonl(path: Path, record: dict) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True, allow_nan=False, default=_json_default) + "\n")


def _json_default(value):
    return None


def _progress(step: int, total: int, row: dict) -> None:
    reward = row.get("reward")
    msg = f"step {step}/{total}" + (f" reward {reward:.3f}" if isinstance(reward, float) else "")
    progress.report(step, total, msg, force=step >= total, stage="training")


def _fmt(values: dict) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
