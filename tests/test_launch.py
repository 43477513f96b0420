"""Launch rules (role, gate at current reward versions, exclusions, one run at a time,
command-line gate skip) and runs as real jobs: a SIGKILLed run shows failed after one
refresh with loadable checkpoints, the next queued seed starts, cancel, and resume."""

from __future__ import annotations

import os
import signal
import time

import pytest

from audit_app.cli import main as cli
from audit_app.jobs import launch
from data.store.errors import Conflict
from rewards.types import TASKS
from train.grpo.recipe import load_recipe


def tiny(small_data, model_dir, **overrides):
    base = {"model.name": str(model_dir), "data.train": str(small_data["train"]),
            "data.eval": str(small_data["eval"]), "data.db": str(small_data["db"])}
    return load_recipe("tiny").with_overrides({**base, **overrides})


def record_decision(store, actor, failing=()):
    """A gate decision as the audit stores it, for today's reward versions."""
    from rewards.versions import current_versions

    versions = current_versions()
    per_task = {t: {"passed": t not in failing,
                    "reason": f"{t}: rho 0.31 < 0.50 on 24 items" if t in failing else f"{t}: rho 0.72 >= 0.50",
                    "stats": {}} for t in TASKS}
    return store.record_gate_decision(
        actor, tasks=list(TASKS), passed=not failing, reward_versions=versions,
        reward_names={t: t for t in TASKS}, thresholds={}, thresholds_revision=0, per_task=per_task,
        annotations_hash="h", annotation_counts={}, n_boot=1000, seed=0)


def test_launch_rules_in_words(home, file_store, small_data, tiny_model_dir):
    store = file_store
    eng = store.add_user("eve", "engineer", "pw-long-enough-1")
    ann = store.add_user("ann", "annotator", "pw-long-enough-1")
    recipe = tiny(small_data, tiny_model_dir)

    check = launch.check_launch(store, eng, recipe)
    assert not check.allowed and "no audit gate decision covers" in check.reasons[0]
    check = launch.check_launch(store, ann, recipe)
    assert any("needs role engineer" in r for r in check.reasons)

    decision_id = record_decision(store, eng, failing=["push"])
    check = launch.check_launch(store, eng, recipe)
    assert not check.allowed and check.failing_tasks == ["push"]
    assert check.reasons == [f"gate decision #{decision_id} fails push: rho 0.31 < 0.50 on 24 items"]
    with pytest.raises(launch.GateBlocked, match="fails push"):
        launch.launch(store, eng, recipe, start=False)

    # Excluding the failing task makes the launch possible, and the exclusion is recorded.
    without_push = recipe.with_overrides(exclude_tasks=["push"])
    # ...but a run that cannot start is refused before anything is recorded or started.
    broken = without_push.with_overrides({"model.name": str(home / "missing-model")})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        launch.launch(store, eng, broken)
    assert store.list_runs() == [] and store.list_jobs() == []
    assert launch.check_launch(store, eng, without_push).allowed
    (run_id,) = launch.launch(store, eng, without_push, seeds=[7], start=False)
    run = store.get_run(run_id)
    assert (run["gate_decision_id"], run["excluded_tasks"], run["tasks"]) == (
        decision_id, ["push"], ["extraction", "sql_qa", "insights"])
    assert run["reward_versions"].keys() == {"extraction", "sql_qa", "insights"}
    assert run["created_by"] == "eve" and run["git_commit"] and run["recipe"]["grpo"]["seed"] == 7
    assert [e["event"] for e in store.run_events(run_id)] == ["launched", "excluded_tasks"]

    # One at a time: the next launch is refused with the reason.
    check = launch.check_launch(store, eng, without_push)
    assert any(f"training run {run_id}" in r and "one training run at a time" in r for r in check.reasons)
    with pytest.raises(Conflict):
        store.create_runs(eng, recipe=without_push.to_dict(), seeds=[8], reward_versions={}, runs_root=home,
                          gate_decision_id=decision_id)
    # The gate can only be skipped from the command line.
    assert "command line only" in " ".join(launch.check_launch(store, eng, recipe, skip_gate=True).reasons)
    assert launch.parse_seeds("42, 123 456") == [42, 123, 456]
    with pytest.raises(ValueError, match="'x' is not a whole number"):
        launch.parse_seeds("42, x")


@pytest.mark.slow
def test_cli_with_store_applies_the_gate_and_records_a_skip(home, tmp_path, small_data, tiny_model_dir, capsys):
    from data.store import Store

    path = tmp_path / "store.db"
    recipe_file = tmp_path / "tiny.yaml"
    recipe_file.write_text(tiny(small_data, tiny_model_dir, **{"grpo.max_steps": 2}).to_yaml(), encoding="utf-8")
    code = cli(["train", "--recipe", str(recipe_file), "--store", str(path)])
    assert code == 2 and "no audit gate decision covers" in capsys.readouterr().err
    code = cli(["train", "--recipe", str(recipe_file), "--store", str(path), "--skip-gate", "--exclude-task", "push"])
    assert code == 0
    with Store(path) as store:
        (run,) = store.list_runs()
        assert (run["status"], run["stop_reason"], run["gate_skipped"], run["created_by"]) == (
            "finished", "max_steps", True, "system")
        assert run["excluded_tasks"] == ["push"] and run["step"] == 2
        assert {"gate_skipped", "excluded_tasks", "finished"} <= {e["event"] for e in store.run_events(run["id"])}
        assert [m["step"] for m in store.run_metrics(run["id"], "train")] == [1, 2]
        assert any(c["is_best"] for c in store.list_checkpoints(run["id"]))


def _wait(predicate, timeout=150.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_killed_run_fails_in_one_refresh_queue_moves_on_cancel_and_resume(home, file_store, small_data,
                                                                            tiny_model_dir):
    from train.models.loading import load_model

    store = file_store
    eng = store.add_user("eve", "engineer", "pw-long-enough-1")
    record_decision(store, eng)
    recipe = tiny(small_data, tiny_model_dir, **{"grpo.max_steps": 24, "grpo.early_stopping_patience": 100})
    first, second = launch.launch(store, eng, recipe, seeds=[42, 123])
    assert store.get_run(second)["status"] == "queued"

    # Kill the first run's process with SIGKILL once it has written a checkpoint.
    _wait(lambda: any(not c["is_best"] for c in store.list_checkpoints(first)), what="a checkpoint")
    job = store.get_job(store.get_run(first)["job_id"])
    os.killpg(job["pid"], signal.SIGKILL)
    _wait(lambda: not launch._pid_alive(job["pid"]) or _reap(job), what="the process to die")
    assert launch.refresh(store) == [first]
    killed = store.get_run(first)
    assert killed["status"] == "failed" and ("code -9" in killed["stop_reason"] or "gone" in killed["stop_reason"]), killed
    # Its checkpoints are whole and load; the next seed started by itself.
    for c in store.list_checkpoints(first):
        assert load_model(tiny_model_dir, adapter=c["path"]).checkpoint_id
    assert store.get_run(second)["status"] in ("starting", "running")

    # Cancel the second seed (SIGTERM to its job).
    cancelled = launch.cancel(store, eng, second)
    assert cancelled["status"] == "cancelled"
    assert store.get_job(cancelled["job_id"])["status"] == "cancelled"

    # Resume the killed run: it continues from its last complete checkpoint to the end.
    killed_at = killed["step"]
    launch.resume(store, eng, first)
    done = _wait(lambda: (r := store.get_run(first))["status"] in ("finished", "failed") and r, timeout=240,
                 what="the resumed run to end")
    assert (done["status"], done["step"], done["resumes"]) == ("finished", 24, 1), done
    steps = [m["step"] for m in store.run_metrics(first, "train")]
    assert steps == list(range(1, 25)) and killed_at < 24


def _reap(job) -> bool:
    """Poll the job's Popen (this test process started it) so its zombie goes away."""
    from audit_app.jobs import runner as jobs

    proc = jobs._children.get((job["pid"], job["pid_start"]))
    return proc is not None and proc.poll() is not None
