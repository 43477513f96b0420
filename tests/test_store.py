"""The store on in-memory and file databases: pragmas, migrations, prompts, rollouts."""

from __future__ import annotations

import pytest

from data.store import Store
from data.store.errors import InvalidInput, NotFound
from tests.fixtures_users import seed_rollouts


@pytest.fixture(params=["memory", "file"])
def any_store(request, tmp_path):
    s = Store(":memory:" if request.param == "memory" else tmp_path / "store.db")
    yield s
    s.close()


def test_pragmas_and_migrations(any_store, tmp_path):
    assert any_store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert any_store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    names = any_store.applied_migrations()
    assert names[:2] == ["001_core", "002_assignment"]
    if any_store.path != ":memory:":
        assert any_store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # Re-opening applies nothing twice and keeps the data.
        any_store.add_user("ana", "annotator", "pw-ana-123")
        with Store(any_store.path) as again:
            assert again.applied_migrations() == names and again.get_user("ana")


def test_prompts_upsert_and_validation(any_store):
    row = {"prompt_id": "extraction-1", "task": "extraction", "split": "train", "rating": 2,
           "stratum": "extraction:rating=2", "prompt": [{"role": "user", "content": "Avaliação: ruim"}]}
    assert any_store.add_prompts([row]) == 1
    assert any_store.get_prompt("extraction-1") == row
    any_store.add_prompts([{**row, "rating": 3}])
    assert any_store.get_prompt("extraction-1")["rating"] == 3 and any_store.count_prompts() == 1
    assert any_store.get_prompt("missing") is None
    for bad, message in [({**row, "task": "poetry"}, "unknown task 'poetry'"),
                         ({**row, "prompt_id": " "}, "prompt_id is missing"),
                         ({**row, "prompt": []}, "non-empty list"),
                         ({**row, "prompt": [{"role": "user"}]}, "prompt message 0"),
                         ({**row, "split": "test"}, "split must be")]:
        with pytest.raises(InvalidInput, match=message):
            any_store.add_prompts([row, bad])
    assert any_store.get_prompt("extraction-1")["rating"] == 3


def test_add_rollouts_dedup_and_fields(any_store):
    seed_rollouts(any_store, per_task=0)
    row = {"prompt_id": "push-0", "model_id": "tucano", "checkpoint_id": "run1:100", "completion": "Volte já!",
           "gen_params": {"temperature": 0.7, "top_p": 0.9, "top_k": 50, "max_new_tokens": 64, "seed": 1},
           "sample_index": 2, "prompt_tokens": 30, "completion_tokens": 4, "truncated": False,
           "batch_id": "job-7", "reward_name": "push", "reward_total": 0.25,
           "reward_components": {"length": 0.25}, "reward_notes": ["curto"], "reward_version": "abc"}
    first = any_store.add_rollouts([row, {**row, "sample_index": 3}])
    again = any_store.add_rollouts([row, {**row, "completion": "Outro texto"}])
    assert again[0] == first[0] and again[1] not in first and any_store.count_rollouts() == 3
    got = any_store.get_rollout(first[0])
    for key, value in row.items():
        assert got[key] == value, key
    assert got["task"] == "push" and got["source"] == "sample" and len(got["dedup_key"]) == 64
    assert [r["id"] for r in any_store.list_rollouts(task="push", batch_id="job-7")] == [*first, again[1]]
    assert any_store.list_rollouts(task="sql_qa") == []
    with pytest.raises(NotFound):
        any_store.get_rollout(12345)


@pytest.mark.parametrize("change, message", [
    ({"prompt_id": "nope"}, "prompt 'nope' is not in the store"),
    ({"model_id": ""}, "model_id is missing"),
    ({"completion": None}, "completion is missing"),
    ({"completion": "a\x00b"}, "NUL"),
    ({"gen_params": "{bad"}, "gen_params is not valid JSON"),
    ({"gen_params": {"temperature": float("nan")}}, "gen_params must hold only JSON values"),
    ({"sample_index": -1}, "sample_index must be zero or more"),
    ({"prompt_tokens": 1.5}, "prompt_tokens must be a whole number"),
    ({"sample_index": 2**70}, "sample_index is too large"),
    ({"completion_tokens": 1e300}, "completion_tokens is too large"),
    ({"source": "web"}, "source must be one of"),
    ({"task": "sql_qa"}, "does not match prompt"),
    ({"reward_total": None}, "reward fields given without reward_total"),
    ({"reward_total": "high"}, "reward_total must be a number"),
])
def test_add_rollouts_refuses_bad_rows_whole_batch(store, change, message):
    seed_rollouts(store, per_task=0)
    good = {"prompt_id": "push-0", "model_id": "m", "completion": "ok", "reward_name": "push",
            "reward_total": 0.5, "reward_version": "v"}
    with pytest.raises(InvalidInput, match=message):
        store.add_rollouts([good, {**good, "completion": "other", **change}])
    assert store.count_rollouts() == 0


def test_oversized_completion_is_named(store):
    seed_rollouts(store, per_task=0)
    with pytest.raises(InvalidInput, match="completion has 8,000,001 characters"):
        store.add_rollouts([{"prompt_id": "push-0", "model_id": "m", "completion": "x" * 8_000_001,
                             "reward_name": "push", "reward_total": 0.5, "reward_version": "v"}])


def test_rollouts_are_scored_with_current_rewards(any_store):
    from rewards import registry

    any_store.add_prompts([
        {"prompt_id": "e1", "task": "extraction", "rating": 5, "prompt": [{"role": "user", "content": "Review"}]},
        {"prompt_id": "p1", "task": "push", "topic": "reengajamento", "prompt": [{"role": "user", "content": "Push"}]},
    ])
    completion = ('{"sentiment": "positivo", "sentiment_score": 0.9, "delivery_issue": false,'
                  ' "product_quality_issue": false, "customer_service_issue": false, "would_recommend": true,'
                  ' "main_topic": "entrega", "summary": "Chegou rápido.", "confidence": 0.9,'
                  ' "product_mentioned": "fone"}')
    ids = any_store.add_rollouts([{"prompt_id": "e1", "model_id": "m", "completion": completion},
                                  {"prompt_id": "p1", "model_id": "m", "completion": "Volte! 🎉 Frete grátis."}])
    extraction, push = (any_store.get_rollout(i) for i in ids)
    expected = registry.get_reward("extraction").score(completion, rating=5)
    assert extraction["reward_total"] == pytest.approx(expected.total)
    assert extraction["reward_components"] == pytest.approx(dict(expected.components))
    assert extraction["reward_notes"] == list(expected.notes)
    assert extraction["reward_version"] == registry.get_reward("extraction").version
    assert push["reward_name"] == "push" and push["reward_version"] == registry.get_reward("push").version
    assert set(push["reward_components"]) == set(registry.get_reward("push").components)


def test_sql_is_parameterised(store, users):
    # A hostile name is data, not SQL.
    evil = "x'); DROP TABLE users; --"
    assert store.get_user(evil) is None and store.authenticate(evil, "pw") is None
    seed_rollouts(store, per_task=1)
    assert store.list_rollouts(batch_id=evil) == [] and store.list_annotations(annotator=evil) == []
    assert len(store.list_users()) == 4


def test_annotation_flow_on_both_stores(any_store):
    seed_rollouts(any_store, per_task=2)
    ann = any_store.add_user("ana", "annotator", "pw-ana-123")
    item = any_store.next_item(ann)
    saved = any_store.record_annotation(ann, item["rollout_id"], 4, seconds=2.0)
    assert any_store.record_annotation(ann, item["rollout_id"], 5).updated
    assert any_store.next_item(ann)["rollout_id"] != item["rollout_id"]
    assert any_store.undo_last(ann)["score"] == 4
    assert [h["score"] for h in any_store.annotation_history(saved)] == [4]
    assert any_store.progress(ann)["mine"]["scored"] == 1
