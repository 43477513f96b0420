"""The versions of the registered rewards (how a version is computed: rewards.fingerprint).

    reward_version("push")   # '3f2a9c1b0d...'
    current_versions()       # {"extraction": ..., "sql_qa": ..., "insights": ..., "push": ...}
"""

from __future__ import annotations

from rewards.registry import default_reward_name, get_reward
from rewards.types import TASKS


def reward_version(name: str) -> str:
    """The version of the registered reward `name`."""
    return get_reward(name).version


def current_versions() -> dict[str, str]:
    """task -> version of that task's default reward."""
    return {task: reward_version(default_reward_name(task)) for task in TASKS}
