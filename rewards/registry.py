"""Task -> reward: every registered reward, built once at import.

The defaults (a task's default reward has the task's name) are the grounded rewards:
`extraction`, `sql_qa`, `insights`, `push`. The recipe's own rewards stay registered under
their own names so the audit can show both: `extraction_recipe`, `sql_qa_recipe` (the
previous default: execution on one database + the recipe's tiers), `sql_qa_heuristic`
(the recipe's four tiers only), `insights_recipe`, `push_recipe`.
"""

from __future__ import annotations

from typing import Any

from rewards.extraction import make_extraction_reward
from rewards.insights import make_insights_reward
from rewards.push import make_push_reward
from rewards.recipe.extraction import make_extraction_recipe_reward
from rewards.recipe.insights import make_insights_recipe_reward
from rewards.recipe.push import make_push_recipe_reward
from rewards.recipe.sql_qa import make_sql_recipe_reward
from rewards.sql_qa import make_sql_reward
from rewards.types import TASKS, Reward, RewardBreakdown

REWARDS: dict[str, Reward] = {
    r.name: r
    for r in (
        make_extraction_reward(),
        make_sql_reward(),
        make_insights_reward(),
        make_push_reward(),
        make_extraction_recipe_reward(),
        make_sql_recipe_reward(execute=True),
        make_sql_recipe_reward(execute=False),
        make_insights_recipe_reward(),
        make_push_recipe_reward(),
    )
}
# The recipe's reward for each task: what the grounded default replaced.
RECIPE_REWARDS: dict[str, str] = {"extraction": "extraction_recipe", "sql_qa": "sql_qa_recipe",
                                  "insights": "insights_recipe", "push": "push_recipe"}


def get_reward(name: str) -> Reward:
    """The registered reward called `name`; KeyError listing the valid names otherwise."""
    try:
        return REWARDS[name]
    except KeyError:
        raise KeyError(f"unknown reward {name!r}; valid rewards: {', '.join(REWARDS)}") from None


def default_reward_name(task: str) -> str:
    """The name of a task's default reward (the task's own name)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")
    return task


def score(task: str, completion: Any, **meta: Any) -> RewardBreakdown:
    """Score a completion with the task's default reward."""
    return get_reward(default_reward_name(task)).score(completion, **meta)
