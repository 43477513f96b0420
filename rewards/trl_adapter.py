"""Rewards in TRL's batch signature, for `GRPOTrainer(reward_funcs=...)`.

TRL (1.14) calls each reward function as
`f(prompts=..., completions=..., completion_ids=..., trainer_state=..., log_extra=...,
log_metric=..., **dataset_columns)`, every dataset column as a list aligned with the
completions, and turns a `None` in the returned list into NaN, which its aggregation
ignores (nansum / nanmean). So one function per task can return None for the rows of
the other tasks and a multi-task batch needs no special handling.

- `trl_reward_func(name)`: the reward's total, `__name__ == "reward_<name>"`.
- `trl_component_funcs(name)`: one function per component
  (`reward_<name>__<component>`), returning that component's points. With
  `GRPOConfig(multi_objective_aggregation="normalize_then_sum")` TRL normalises each
  function within its group before summing (the GDPO scheme), which removes each
  component's scale; pass `trl_reward_weights(...)` as `reward_weights` to keep the
  recipe's weighting.
- `trl_reward_funcs(tasks, per_component=False)`: the list for a set of tasks.

The row's `task` column decides which rows a function scores; an untagged row
(no column, or None) is routed from its prompt text by `rewards.routing.route_task`.
The reward's meta columns (`rating`, `reference_answer`, ...) are read from the columns;
everything else TRL passes is ignored. Scores are memoised on (reward, completion, meta),
so the per-component functions of one batch score each completion once.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from rewards.parsing import completion_text
from rewards.registry import default_reward_name, get_reward
from rewards.routing import route_task
from rewards.types import Reward, RewardBreakdown

TRLRewardFunc = Callable[..., list[float | None]]
# A dataset column holding each row's reward meta as JSON text (data.prompts.reward_meta):
# grounding fields are nested (a brief, gold labels, a data summary) and differ by task,
# which a columnar dataset would pad with nulls; one text column keeps each row as it was.
META_COLUMN = "reward_meta"


def row_meta(columns: dict, i: int) -> dict[str, Any]:
    """Row i's reward meta: the META_COLUMN JSON, then any plain column of the same name
    (plain columns win); None values dropped."""
    packed = columns.get(META_COLUMN)
    meta = json.loads(packed[i]) if packed is not None and packed[i] else {}
    if not isinstance(meta, dict):
        raise ValueError(f"column {META_COLUMN!r} row {i} is not a JSON object")
    meta.update({k: col[i] for k, col in columns.items() if k != META_COLUMN and col is not None
                 and isinstance(col, list | tuple) and i < len(col)})
    return {k: v for k, v in meta.items() if v is not None}


def _resolve(reward: str | Reward) -> Reward:
    return reward if isinstance(reward, Reward) else get_reward(reward)


_MEMO: OrderedDict = OrderedDict()
_MEMO_SIZE = 4096


def _score(reward: Reward, text: str, meta: dict[str, Any]) -> RewardBreakdown:
    # Meta columns may be dicts or lists (a brief, a gold label set, a data summary): the
    # memo key is their canonical JSON text.
    key = (reward.name, reward.version, text, json.dumps(meta, sort_keys=True, default=str))
    hit = _MEMO.get(key)
    if hit is not None:
        _MEMO.move_to_end(key)
        return hit
    breakdown = reward.score(text, **meta)
    _MEMO[key] = breakdown
    if len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return breakdown


def _breakdowns(reward: Reward, prompts, completions, columns, insights_before_push: bool):
    """One breakdown per completion, or None for rows of another task."""
    if completions is None:
        raise ValueError("TRL reward function called without completions")
    n = len(completions)
    tasks = columns.get("task")
    meta_columns = {k: columns[k] for k in (*reward.meta_keys, META_COLUMN) if k in columns}
    for key, col in [("task", tasks), *meta_columns.items()]:
        if col is not None and len(col) != n:
            raise ValueError(f"column {key!r} has {len(col)} values for {n} completions")
    out: list[RewardBreakdown | None] = []
    for i, completion in enumerate(completions):
        task = tasks[i] if tasks is not None else None
        if task is None:
            if prompts is None:
                raise ValueError("rows without a task column need prompts to be routed")
            task = route_task(prompts[i], insights_before_push=insights_before_push)
        else:
            task = route_task("", task)  # validates the name
        if task != reward.task:
            out.append(None)
            continue
        meta = {k: v for k, v in row_meta(meta_columns, i).items() if k in reward.meta_keys}
        out.append(_score(reward, completion_text(completion), meta))
    return out


def trl_reward_func(reward: str | Reward, *, insights_before_push: bool = True) -> TRLRewardFunc:
    """The reward's total in TRL's batch signature; None for rows of other tasks."""
    r = _resolve(reward)

    def reward_func(prompts=None, completions=None, **columns) -> list[float | None]:
        return [None if b is None else b.total
                for b in _breakdowns(r, prompts, completions, columns, insights_before_push)]

    reward_func.__name__ = reward_func.__qualname__ = f"reward_{r.name}"
    reward_func.__doc__ = f"TRL reward: total of `{r.name}` (version {r.version}) for task {r.task}."
    return reward_func


def trl_component_funcs(reward: str | Reward, *, insights_before_push: bool = True) -> list[TRLRewardFunc]:
    """One TRL function per component of the reward, in `reward.components` order."""
    r = _resolve(reward)
    funcs = []
    for component in r.components:
        def component_func(prompts=None, completions=None, _c=component, **columns) -> list[float | None]:
            return [None if b is None else float(b.components.get(_c, 0.0))
                    for b in _breakdowns(r, prompts, completions, columns, insights_before_push)]

        component_func.__name__ = component_func.__qualname__ = f"reward_{r.name}__{component}"
        component_func.__doc__ = f"TRL reward: component `{component}` of `{r.name}` (version {r.version})."
        funcs.append(component_func)
    return funcs


def trl_reward_funcs(tasks: Iterable[str], per_component: bool = False, *,
                     insights_before_push: bool = True) -> list[TRLRewardFunc]:
    """The TRL reward functions for the default rewards of `tasks`."""
    out: list[TRLRewardFunc] = []
    for task in tasks:
        name = default_reward_name(task)
        if per_component:
            out.extend(trl_component_funcs(name, insights_before_push=insights_before_push))
        else:
            out.append(trl_reward_func(name, insights_before_push=insights_before_push))
    return out


def trl_reward_weights(tasks: Iterable[str], per_component: bool = False) -> list[float]:
    """`GRPOConfig.reward_weights` aligned with `trl_reward_funcs(tasks, per_component)`:
    1.0 per task reward, or each component's recipe weight (penalties by magnitude: their
    values are already negative)."""
    out: list[float] = []
    for task in tasks:
        r = get_reward(default_reward_name(task))
        if per_component:
            out.extend(abs(r.weights[c]) for c in r.components)
        else:
            out.append(1.0)
    return out
