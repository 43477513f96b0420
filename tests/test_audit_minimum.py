"""One minimum, owned by the gate: the annotate page's progress reads the gate's min_items
(per task, overrides included) and the latest estimate of the scores still needed, says
when the store lacks the rollouts to reach it, and the old task_minimum setting is gone
(migrated away, refused with the reason). Also the audit revision the page caches on."""

from __future__ import annotations

import pytest

from data.store import core
from data.store.core import Store
from data.store.errors import InvalidInput
from tests.test_audit_support import add_user, seed_store, synthetic_items


@pytest.fixture
def admin(store):
    return add_user(store, "the-admin", "admin")


def set_thresholds(store, admin, **per_task):
    config = store.gate_thresholds()["config"]
    store.set_gate_thresholds(admin, {**config, "tasks": per_task})


def queue(store, task: str, n: int) -> None:
    store.add_prompts([{"prompt_id": f"{task}-{p}", "task": task, "prompt": [{"role": "user", "content": "?"}]}
                       for p in range(n)])
    store.add_rollouts([{"prompt_id": f"{task}-{p}", "model_id": "m", "completion": f"resposta {p}",
                         "reward_name": task, "reward_total": 0.5, "reward_version": "v"} for p in range(n)])


def test_progress_reads_the_gates_minimum_per_task(store, admin):
    queue(store, "push", 30)
    set_thresholds(store, admin, push={"min_items": 25})
    per_task = store.progress()["per_task"]
    assert per_task["push"]["minimum"] == per_task["push"]["goal"] == 25
    assert per_task["push"]["short_of_rollouts"] == 0 and not per_task["push"]["reached"]
    default = store.gate_thresholds()["config"]["defaults"]["min_items"]
    assert per_task["sql_qa"]["minimum"] == default and per_task["sql_qa"]["short_of_rollouts"] == default


def test_the_latest_estimate_raises_the_goal_and_says_what_to_sample(store, admin):
    queue(store, "push", 30)
    set_thresholds(store, admin, push={"min_items": 25})
    store.save_audit_targets({"push": {"target_items": 44, "target_prompts": 11, "per_prompt": 4.0,
                                       "second_scores": 3, "reachable": True, "reason": "about 44"}},
                             revision=store.audit_revision())
    push = store.progress()["per_task"]["push"]
    assert (push["minimum"], push["goal"], push["short_of_rollouts"]) == (25, 44, 14)
    assert store.audit_targets()["push"]["reachable"] is True
    assert store.audit_minimums()["push"] == {"min_items": 25, "target": 44, "goal": 44, "reason": "about 44"}


def test_task_minimum_is_gone_and_says_where_it_went(store, admin):
    assert "task_minimum" not in store.get_settings()
    with pytest.raises(InvalidInput, match="task_minimum no longer exists: .*gate's min_items"):
        store.update_settings({"task_minimum": 50}, actor=admin)


def test_a_stored_task_minimum_is_migrated_away(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    everything = core.migrations()
    monkeypatch.setattr(core, "migrations", lambda: [m for m in everything if m[0] < 201])
    with Store(path) as old:
        old.conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES"
                         " ('task_minimum', '50', '2026-01-01', 'the-admin')")
    monkeypatch.setattr(core, "migrations", lambda: everything)
    with Store(path) as s:
        assert s.query("SELECT * FROM settings WHERE key = 'task_minimum'") == []
        (moved,) = s.settings_history()
        assert (moved["key"], moved["old_value"], moved["changed_by"]) == ("task_minimum", 50, "migration 201")
        assert "min_items" in moved["new_value"]
        assert "task_minimum" not in s.get_settings()


def test_the_audit_revision_moves_with_what_the_audit_reads(store, admin):
    start = store.audit_revision()
    seed_store(store, synthetic_items("push", 8, seed=1))
    after_rows = store.audit_revision()
    assert after_rows > start
    store.conn.execute("UPDATE annotations SET score = 1 WHERE id = 1")
    assert store.audit_revision() == after_rows + 1
    set_thresholds(store, admin, push={"min_rho": 0.6})
    assert store.audit_revision() == after_rows + 2
    # Things the audit does not read leave it alone.
    store.save_audit_targets({"push": {"target_items": 80, "target_prompts": 20, "per_prompt": 4, "second_scores": 0,
                                       "reachable": None, "reason": "-"}}, revision=0)
    add_user(store, "someone", "reviewer")
    assert store.audit_revision() == after_rows + 2
