"""Fixtures: one user of each role in a store (password "pw-<role>"), and a few prompts
and rollouts per task for the annotation tests (reward fields given, so no scoring)."""

from __future__ import annotations

import pytest


def seed_rollouts(store, per_task: int = 5, *, prompts_per_task: int = 2, model_id: str = "tiny/base") -> list[int]:
    """Add `prompts_per_task` prompts and `per_task` rollouts for every task; returns rollout ids."""
    from rewards.types import TASKS

    prompts = [
        {"prompt_id": f"{task}-{p}", "task": task, "split": "eval", "stratum": task,
         "prompt": [{"role": "system", "content": "Você é um assistente."},
                    {"role": "user", "content": f"Pergunta {p} sobre {task}."}]}
        for task in TASKS for p in range(prompts_per_task)
    ]
    store.add_prompts(prompts)
    rows = [
        {"prompt_id": f"{task}-{i % prompts_per_task}", "model_id": model_id, "completion": f"resposta {task} {i}",
         "gen_params": {"temperature": 0.7, "seed": i}, "sample_index": i,
         "reward_name": task, "reward_total": (i % 5) / 4, "reward_components": {"format": 1.0},
         "reward_notes": [], "reward_version": "test-v1"}
        for task in TASKS for i in range(per_task)
    ]
    return store.add_rollouts(rows)


def record_decision(store, *, tasks=None, passed: bool = True, versions: dict | None = None) -> int:
    """Store a gate decision (as the command line) passing or failing `tasks` (default all);
    its reward versions are made up unless given, so it is never the current decision."""
    from data.store.roles import SYSTEM
    from rewards.types import TASKS

    tasks = list(tasks or TASKS)
    return store.record_gate_decision(
        SYSTEM, tasks=tasks, passed=passed, reward_versions=versions or {t: "test-v1" for t in tasks},
        reward_names={t: t for t in tasks}, thresholds={}, thresholds_revision=0,
        per_task={t: {"passed": passed, "reason": f"{t}: test decision"} for t in tasks},
        annotations_hash="test", annotation_counts={}, n_boot=0, seed=0)


def add_accounts(store, *accounts) -> None:
    """Store accounts for User values a test module names up front (same id, name and role),
    since store methods check the stored account, not the User passed in."""
    for user in accounts:
        store.db["users"].insert({"id": user.id, "username": user.username, "role": user.role, "password_hash": None,
                                  "email": f"{user.username}@example.org", "active": int(user.active),
                                  "created_at": "2024-01-01T00:00:00+00:00", "created_by": "tests"})


@pytest.fixture
def users(store):
    """Role -> User, one account per role in the in-memory `store`: annotator, engineer,
    reviewer and admin, each logging in with the password "pw-<role>"."""
    from data.store.roles import ROLES

    return {role: store.add_user(role, role, f"pw-{role}") for role in ROLES}


@pytest.fixture
def rollout_ids(store):
    """Five rollouts per task in the in-memory `store` (reward fields given)."""
    return seed_rollouts(store)
