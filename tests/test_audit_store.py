"""Store methods of the audit: audit items, counts and the annotation snapshot, on the
in-memory and the file store."""

from __future__ import annotations

import pytest

from tests.test_audit_support import seed_store

ITEMS = [
    {"rollout_id": 1, "prompt_id": "push-0", "task": "push", "reward_total": 0.8,
     "reward_components": {"length": 0.5}, "completion": "Volte já! 🛒",
     "annotations": [{"annotator": "ana", "round": 0, "score": 4},
                     {"annotator": "bia", "round": 0, "score": 2, "flag": True, "comment": "genérico"},
                     {"annotator": "ana", "round": 1, "score": 5}]},
    {"rollout_id": 2, "prompt_id": "push-0", "task": "push", "reward_total": None,
     "annotations": [{"annotator": "ana", "round": 0, "score": 3}]},
    # Skipped by its only annotator: not a scored item.
    {"rollout_id": 3, "prompt_id": "push-1", "task": "push", "reward_total": 0.1,
     "annotations": [{"annotator": "bia", "round": 0, "score": None, "flag": True, "comment": "?"}]},
    {"rollout_id": 4, "prompt_id": "push-1", "task": "push", "reward_total": 0.3, "annotations": []},
    {"rollout_id": 5, "prompt_id": "extraction-0", "task": "extraction", "reward_total": 1.0,
     "annotations": [{"annotator": "caio", "round": 0, "score": 5}]},
]


@pytest.fixture(params=["memory", "file"])
def any_store(request, store, file_store):
    return store if request.param == "memory" else file_store


def test_audit_items_shape(any_store):
    seed_store(any_store, ITEMS, metas={"push-0": {"topic": "reengajamento"}})
    items = any_store.audit_items("push")
    assert [it["rollout_id"] for it in items] == [1, 2]
    first = items[0]
    assert first["reward_components"] == {"length": 0.5} and first["reward_version"] == "v-test"
    assert first["meta"] == {"topic": "reengajamento"} and first["completion"] == "Volte já! 🛒"
    assert first["prompt"] == [{"role": "user", "content": "Prompt push-0"}]
    assert [(a["annotator"], a["round"], a["score"], a["flag"], a["comment"]) for a in first["annotations"]] == [
        ("ana", 0, 4, False, None), ("bia", 0, 2, True, "genérico"), ("ana", 1, 5, False, None)]
    assert items[1]["reward_total"] is None
    assert [it["task"] for it in any_store.audit_items()] == ["push", "push", "extraction"]
    assert [it["rollout_id"] for it in any_store.audit_items(tasks=["extraction"])] == [5]
    assert any_store.audit_items(tasks=[]) == []
    lean = any_store.audit_items("push", with_text=False)
    assert "completion" not in lean[0] and lean[0]["annotations"] == first["annotations"]


def test_audit_counts_and_snapshot(any_store):
    seed_store(any_store, ITEMS)
    counts = any_store.audit_counts()
    assert counts["push"] == {"rollouts": 4, "prompts": 2, "scored": 2, "annotations": 4, "annotators": 2}
    assert counts["extraction"] == {"rollouts": 1, "prompts": 1, "scored": 1, "annotations": 1, "annotators": 1}
    assert counts["sql_qa"] == {"rollouts": 0, "prompts": 0, "scored": 0, "annotations": 0, "annotators": 0}
    push_hash, push_counts = any_store.annotation_snapshot(["push"])
    assert push_counts == {"push": counts["push"]}
    all_hash, _ = any_store.annotation_snapshot()
    assert push_hash != all_hash
    any_store.conn.execute("UPDATE annotations SET comment = 'mudou' WHERE id = 1")
    assert any_store.annotation_snapshot(["push"])[0] != push_hash
    assert any_store.annotation_snapshot(["extraction"])[0] == any_store.annotation_snapshot(["extraction"])[0]
