"""Phases 2 and 4 of a GRPO run: the prompt rows as TRL datasets, and the reward functions.

The dataset's columns reach the reward functions as keyword arguments, so each row
carries what its reward reads (rating, reference answer, topic, the database path).
Each task's total reward function is wrapped by a CompletionSampler (train.grpo.samples),
which keeps a brief sample of what the policy wrote for the monitor's hacking alarm, and by
a SignalMeter (train.grpo.signal), which counts the groups whose rewards differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from data import paths
from data.prompts import load_prompts, reward_meta
from rewards.trl_adapter import META_COLUMN, trl_component_funcs, trl_reward_func
from rewards.versions import reward_version
from train.grpo.callbacks import RewardNames
from train.grpo.config import TrainingError, reward_plan
from train.grpo.recipe import Recipe
from train.grpo.samples import CompletionSampler
from train.grpo.signal import SignalMeter


@dataclass
class RewardSetup:
    funcs: list
    weights: list[float]
    names: RewardNames
    versions: dict[str, str]
    sampler: CompletionSampler
    meter: SignalMeter


def prompt_paths(recipe: Recipe) -> tuple[Path, Path]:
    return (Path(recipe.data.train) if recipe.data.train else paths.train_prompts(),
            Path(recipe.data.eval) if recipe.data.eval else paths.eval_prompts())


def load_rows(recipe: Recipe) -> tuple[list[dict], list[dict]]:
    """Train and eval rows for the mix; TrainingError if a task of the mix has no prompts.

    With `data.eval_from_train` both come from the train file: per task the first
    `train_limit` rows train, the next `eval_limit` rows evaluate (never trained on)."""
    train_path, eval_path = prompt_paths(recipe)
    d = recipe.data
    if d.eval_from_train:
        rows = load_prompts(train_path, tasks=recipe.tasks)
        train = _first_per_task(rows, recipe.tasks, d.train_limit)
        taken = {r["prompt_id"] for r in train}
        held = _first_per_task([r for r in rows if r["prompt_id"] not in taken], recipe.tasks, d.eval_limit)
        return (_require(train, recipe.tasks, "train", train_path),
                _require(held, recipe.tasks, "held-out train (data.eval_from_train)", train_path))
    return (_require(_first_per_task(load_prompts(train_path, tasks=recipe.tasks), recipe.tasks, d.train_limit),
                     recipe.tasks, "train", train_path),
            _require(_first_per_task(load_prompts(eval_path, tasks=recipe.tasks), recipe.tasks, d.eval_limit),
                     recipe.tasks, "eval", eval_path))


def _first_per_task(rows: list[dict], tasks: list[str], limit: int | None) -> list[dict]:
    kept, seen = [], dict.fromkeys(tasks, 0)
    for row in rows:
        if limit is None or seen[row["task"]] < limit:
            kept.append(row)
            seen[row["task"]] += 1
    return kept


def _require(rows: list[dict], tasks: list[str], split: str, path: Path) -> list[dict]:
    missing = [t for t in tasks if not any(r["task"] == t for r in rows)]
    if missing:
        raise TrainingError(
            f"the {split} prompt set {path} has no prompts for task(s) {', '.join(missing)} in the recipe's mix; "
            "rebuild it (tucano-audit data build) or exclude the task (--exclude-task)"
        )
    return rows


def commerce_db(recipe: Recipe) -> str | None:
    """The database sql_qa rewards execute against: the recipe's, else the home's (if built)."""
    if recipe.data.db:
        if not Path(recipe.data.db).is_file():
            raise TrainingError(f"data.db {recipe.data.db} does not exist (run `tucano-audit data build`)")
        return str(Path(recipe.data.db).resolve())
    return str(paths.commerce_db()) if paths.commerce_db().is_file() else None


def to_dataset(rows: list[dict], db_path: str | None):
    """A datasets.Dataset whose columns TRL hands to the reward functions as keyword arguments."""
    from datasets import Dataset

    records = [{"prompt": row["prompt"], "task": row["task"], "prompt_id": row["prompt_id"],
                META_COLUMN: json.dumps(reward_meta(row, db_path=db_path), ensure_ascii=False, default=str)}
               for row in rows]
    return Dataset.from_list(records)


def build_rewards(recipe: Recipe) -> RewardSetup:
    """TRL reward functions from the rewards registry, in reward_plan's order."""
    plan = reward_plan(recipe)
    sampler = CompletionSampler(seed=recipe.grpo.seed)
    meter = SignalMeter()
    funcs, totals, components = [], {}, {}
    for name, task, comp, _ in plan:
        if comp is None:
            f = trl_reward_func(name)
            totals[f.__name__] = task
            funcs.append(meter.wrap(sampler.wrap(f, task), task))
    if recipe.rewards.aggregation == "gdpo":
        for name, task, _, _ in [p for p in plan if p[2] is None]:
            comps = [p[2] for p in plan if p[0] == name and p[2] is not None]
            for comp, f in zip(comps, trl_component_funcs(name), strict=True):
                components[f.__name__] = (task, comp)
                funcs.append(f)
    versions = {task: reward_version(name) for name, task, comp, _ in plan if comp is None}
    return RewardSetup(funcs=funcs, weights=[w for *_, w in plan], names=RewardNames(totals, components),
                       versions=versions, sampler=sampler, meter=meter)
