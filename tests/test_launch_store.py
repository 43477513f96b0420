"""The runs part of the store: one active run enforced by the database, the seed queue,
state transitions, metrics and checkpoints."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from data.store import Store
from data.store.errors import Conflict, InvalidInput, PermissionDenied
from data.store.roles import SYSTEM
from tests.fixtures_users import record_decision
from train.grpo.recipe import load_recipe

VERSIONS = {"extraction": "v1", "sql_qa": "v1", "insights": "v1", "push": "v1"}


@pytest.fixture
def recipe():
    return load_recipe("tiny").to_dict()


def _engineer(store, name="eve"):
    return store.add_user(name, "engineer", "pw-long-enough-123")


def test_launch_records_everything(store, recipe, tmp_path):
    eng = _engineer(store)
    for _ in range(6):
        record_decision(store, passed=False)
    decision = record_decision(store, tasks=["extraction", "sql_qa", "insights"])
    excluded = load_recipe("tiny").with_overrides(exclude_tasks=["push"]).to_dict()
    ids = store.create_runs(eng, recipe=excluded, seeds=[42, 123, 456], reward_versions=VERSIONS,
                            runs_root=tmp_path, gate_decision_id=decision, git_commit="abc123")
    first, second, third = (store.get_run(i) for i in ids)
    assert (first["status"], second["status"], third["status"]) == ("starting", "queued", "queued")
    assert [r["seed"] for r in (first, second, third)] == [42, 123, 456]
    assert first["recipe"]["grpo"]["seed"] == 42 and third["recipe"]["grpo"]["seed"] == 456
    assert first["tasks"] == ["extraction", "sql_qa", "insights"] and first["excluded_tasks"] == ["push"]
    assert (first["gate_decision_id"], first["git_commit"], first["created_by"]) == (7, "abc123", "eve")
    assert first["reward_versions"] == VERSIONS and not first["gate_skipped"]
    assert first["run_dir"].startswith(str(tmp_path)) and first["run_dir"] != second["run_dir"]
    events = [e["event"] for e in store.run_events(ids[0])]
    assert events == ["launched", "excluded_tasks"]


def test_roles_and_gate_skip_rules(store, recipe, tmp_path):
    annotator = store.add_user("ann", "annotator", "pw-long-enough-123")
    with pytest.raises(PermissionDenied, match="engineer"):
        store.create_runs(annotator, recipe=recipe, seeds=[1], reward_versions=VERSIONS, runs_root=tmp_path,
                          gate_decision_id=1)
    eng = _engineer(store)
    with pytest.raises(PermissionDenied, match="command line only"):
        store.create_runs(eng, recipe=recipe, seeds=[1], reward_versions=VERSIONS, runs_root=tmp_path,
                          gate_skipped=True)
    with pytest.raises(InvalidInput, match="gate decision"):
        store.create_runs(eng, recipe=recipe, seeds=[1], reward_versions=VERSIONS, runs_root=tmp_path)
    with pytest.raises(InvalidInput, match="gate decision 1 does not exist"):
        store.create_runs(eng, recipe=recipe, seeds=[1], reward_versions=VERSIONS, runs_root=tmp_path,
                          gate_decision_id=1)
    failing = record_decision(store, passed=False)
    with pytest.raises(InvalidInput, match=f"gate decision {failing} does not pass extraction"):
        store.create_runs(eng, recipe=recipe, seeds=[1], reward_versions=VERSIONS, runs_root=tmp_path,
                          gate_decision_id=failing)
    passing = record_decision(store)
    with pytest.raises(InvalidInput, match="listed twice"):
        store.create_runs(eng, recipe=recipe, seeds=[1, 1], reward_versions=VERSIONS, runs_root=tmp_path,
                          gate_decision_id=passing)
    (run_id,) = store.create_runs(SYSTEM, recipe=recipe, seeds=[1], reward_versions=VERSIONS, runs_root=tmp_path,
                                  gate_skipped=True)
    run = store.get_run(run_id)
    assert run["gate_skipped"] and run["gate_decision_id"] is None
    assert "gate_skipped" in [e["event"] for e in store.run_events(run_id)]


def test_one_active_run_enforced_by_the_index(store, recipe, tmp_path):
    eng = _engineer(store)
    record_decision(store)
    store.create_runs(eng, recipe=recipe, seeds=[1], reward_versions=VERSIONS, runs_root=tmp_path,
                      gate_decision_id=1)
    with pytest.raises(Conflict, match="one training run at a time"):
        store.create_runs(eng, recipe=recipe, seeds=[2], reward_versions=VERSIONS, runs_root=tmp_path,
                          gate_decision_id=1)
    # Even raw SQL that skips the service checks cannot make a second active run.
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        store.conn.execute(
            "INSERT INTO runs (name, launch_id, recipe_name, recipe, recipe_fingerprint, seed, tasks, reward_versions,"
            " created_by, status, max_steps, created_at, updated_at)"
            " VALUES ('x', 'l', 'tiny', '{}', 'f', 1, '[]', '{}', 'me', 'running', 1, 'now', 'now')")


def test_two_browsers_launching_at_once_start_one_run(tmp_path, recipe):
    path = tmp_path / "store.db"
    with Store(path) as s:
        _engineer(s)
        record_decision(s)
    barrier = threading.Barrier(4)
    results = []

    def launch(seed):
        with Store(path) as s:
            eng = s.get_user("eve")
            barrier.wait()
            try:
                results.append(s.create_runs(eng, recipe=recipe, seeds=[seed], reward_versions=VERSIONS,
                                             runs_root=tmp_path, gate_decision_id=1))
            except Conflict:
                results.append("conflict")

    threads = [threading.Thread(target=launch, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, results)).count("conflict") == 3
    with Store(path) as s:
        assert len(s.list_runs()) == 1


def test_queue_survives_reopening_and_advances_in_order(tmp_path, recipe):
    path = tmp_path / "store.db"
    with Store(path) as s:
        eng = _engineer(s)
        record_decision(s)
        ids = s.create_runs(eng, recipe=recipe, seeds=[42, 123, 456], reward_versions=VERSIONS,
                            runs_root=tmp_path, gate_decision_id=1)
        assert s.claim_next_queued() is None  # the first is still active
        s.mark_run_running(ids[0], pid=1, host="h")
        assert s.finish_run(ids[0], "failed", stop_reason="machine shut down")
    # A restart: a new process opens the same file and the queue is still there.
    with Store(path) as s:
        assert [r["seed"] for r in s.queued_runs()] == [123, 456]
        nxt = s.claim_next_queued()
        assert nxt["id"] == ids[1] and nxt["status"] == "starting"
        assert s.claim_next_queued() is None
        s.finish_run(ids[1], "finished", stop_reason="max_steps")
        assert s.claim_next_queued()["seed"] == 456


def test_transitions_metrics_checkpoints(store, recipe, tmp_path):
    eng = _engineer(store)
    record_decision(store)
    (run_id,) = store.create_runs(eng, recipe=recipe, seeds=[5], reward_versions=VERSIONS, runs_root=tmp_path,
                                  gate_decision_id=1)
    store.mark_run_running(run_id, pid=99, host="h")
    with pytest.raises(Conflict, match="not starting"):
        store.mark_run_running(run_id, pid=100, host="h")
    store.record_run_metrics(run_id, "train", 1, {"reward": 0.5, "kl": float("nan"), "note": "text"})
    store.record_run_metrics(run_id, "train", 1, {"reward": 0.6})  # a resumed run re-logs step 1
    store.record_run_metrics(run_id, "eval", 2, {"task_reward": 0.7})
    assert store.run_metrics(run_id) == [{"kind": "train", "step": 1, "reward": 0.6},
                                         {"kind": "eval", "step": 2, "task_reward": 0.7}]
    store.record_run_metrics(run_id, "train", 3, {"kl": float("inf")})
    assert store.run_metrics(run_id, "train", since_step=2) == [{"kind": "train", "step": 3, "kl": None}]
    store.record_checkpoint(run_id, path=tmp_path / "checkpoint-2", step=2, eval_score=0.7)
    store.record_checkpoint(run_id, path=tmp_path / "best_checkpoint", step=2, eval_score=0.7, is_best=True)
    assert [c["is_best"] for c in store.list_checkpoints(run_id)] == [False, True]
    store.update_run_progress(run_id, step=3, best_step=2, best_score=0.7)
    assert store.finish_run(run_id, "failed", stop_reason="killed")
    assert not store.finish_run(run_id, "finished")  # a verdict is never overwritten
    run = store.reopen_run(eng, run_id)
    assert (run["status"], run["resumes"], run["step"], run["best_step"]) == ("starting", 1, 3, 2)
    with pytest.raises(Conflict, match="only a failed or cancelled"):
        store.reopen_run(eng, run_id)
    with pytest.raises(InvalidInput, match="terminal|finish_run needs"):
        store.finish_run(run_id, "paused")
