"""kill -9 at a random moment of sampling, training and comparison, and two launches of one
training at once (with and without a store): each run either resumes or reports, nothing is
half-written, and the store passes SQLite's integrity check afterwards."""

from __future__ import annotations

import json
import random
import shutil
import time

import pytest

from tests.faults.conftest import count, integrity, kill9_when, paused, rows_so_far, run_cli, start_cli

pytestmark = pytest.mark.slow
RNG = random.Random(1414)


STEPS = 24


@pytest.fixture
def run_home(sample_home, tiny_model_dir):
    """The small build plus the tiny model where the `tiny` recipe looks for it."""
    shutil.copytree(tiny_model_dir, sample_home / "models" / "tiny-qwen2")
    return sample_home


@pytest.fixture
def recipe(tmp_path):
    """The tiny recipe, long enough for a second launch to find it still training."""
    import yaml

    from train.grpo.recipe import load_recipe

    data = load_recipe("tiny").to_dict()
    data["grpo"].update(max_steps=STEPS, eval_steps=4, save_steps=4, early_stopping_patience=STEPS)
    path = tmp_path / "faults.yaml"
    path.write_text(yaml.safe_dump({**data, "name": "faults"}), encoding="utf-8")
    return path


def test_sampling_killed_at_random_resumes_whole_batches(run_home, tiny_model_dir, tmp_path, ledger):
    store = tmp_path / "store.db"
    args = ["sample", "--model", tiny_model_dir, "--tasks", "push", "insights", "extraction", "--prompts", "8",
            "--per-prompt", "3", "--batch-size", "3", "--max-new-tokens", "48", "--seed", "5",
            "--batch-id", "faults", "--store", store]
    expected = 3 * 8 * 3
    at = RNG.randrange(3, expected // 2, 3)  # a random batch, then a random moment inside the next
    proc = start_cli(args, run_home, tmp_path / "sample.log")
    killed = kill9_when(proc, lambda: rows_so_far(store, "rollouts") >= at,
                        delay=RNG.uniform(0.0, 0.2))
    assert integrity(store) == "ok"
    after_kill = count(store, "SELECT count(*) FROM rollouts")
    assert after_kill % 3 == 0 and count(store, "SELECT count(*) FROM rollouts WHERE reward_version IS NULL"
                                         " OR completion_tokens IS NULL") == 0
    again = run_cli(args, run_home)
    stored = count(store, "SELECT count(*) FROM rollouts")
    ledger.record("kill -9 during sampling", runs=2, rows_lost=expected - stored, tracebacks=again.tracebacks)
    assert killed and again.rc == 0, again.err
    assert stored == expected and count(store, "SELECT count(DISTINCT dedup_key) FROM rollouts") == expected
    assert integrity(store) == "ok"


def _metrics(run_dir) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]  # every line whole: json.loads fails on half a line


def test_training_killed_and_launched_twice_without_a_store(run_home, recipe, tmp_path, ledger):
    run_dir = tmp_path / "runs" / "faults"
    args = ["train", "--recipe", recipe, "--run-dir", run_dir]
    first = start_cli(args, run_home, tmp_path / "first.log")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (run_dir / ".run.owner.json").is_file():
        time.sleep(0.1)
    with paused(first):  # the first holds the folder, however long the second takes to start
        second = run_cli(args, run_home)  # the same folder while the first trains
    killed = kill9_when(first, lambda: any(run_dir.glob("checkpoint-*/tucano_state.json")),
                        delay=RNG.uniform(0.0, 1.0))
    assert second.rc == 2 and second.tracebacks == 0, second.err
    assert "is in use by process" in second.last_line and str(run_dir) in second.last_line
    resumed = run_cli([*args, "--resume"], run_home)
    assert resumed.rc == 0 and resumed.tracebacks == 0, resumed.err  # a killed run's lock is no lock
    assert "which ended without releasing it (killed?); its lock was stale" in resumed.err
    steps = {m["step"] for m in _metrics(run_dir) if m["kind"] == "train"}
    summary = json.loads((run_dir / "summary.json").read_text())
    ledger.record("two launches into one run folder (no store)", runs=2, tracebacks=second.tracebacks)
    ledger.record("kill -9 during training (no store), then --resume", runs=2,
                  rows_lost=len(set(range(1, STEPS + 1)) - steps), tracebacks=resumed.tracebacks)
    assert killed and summary["global_step"] == STEPS and steps == set(range(1, STEPS + 1))
    again = run_cli([*args, "--resume"], run_home)  # a finished run resumed trains nothing more
    assert again.rc == 0 and json.loads((run_dir / "summary.json").read_text())["global_step"] == STEPS


def test_training_with_a_store_launched_twice_killed_and_resumed(run_home, recipe, tmp_path, ledger):
    store = tmp_path / "store.db"
    args = ["train", "--recipe", recipe, "--store", store, "--skip-gate"]
    first = start_cli(args, run_home, tmp_path / "first.log")
    # The second launch waits until the first is recorded, so the store decides between them.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not rows_so_far(store, "runs"):
        time.sleep(0.1)
    with paused(first):  # the first stays running (recorded, alive) while the second launches
        second = run_cli(args, run_home)
    assert second.rc == 2 and second.tracebacks == 0, second.err
    assert "one training run at a time" in second.last_line
    run_dir = tmp_path / "home" / "runs"
    killed = kill9_when(first, lambda: any(run_dir.glob("*/checkpoint-*/tucano_state.json")),
                        delay=RNG.uniform(0.0, 1.0))
    assert killed and integrity(store) == "ok"
    from audit_app.jobs import launch
    from data.store import Store

    with Store(store) as s:
        launch.refresh(s)
        run = s.list_runs()[0]
        assert run["status"] == "failed" and "is gone" in run["stop_reason"], run
    resumed = run_cli(["train", "--store", store, "--run-id", run["id"], "--resume"], run_home)
    assert resumed.rc == 0 and resumed.tracebacks == 0, resumed.err
    with Store(store) as s:
        run = s.get_run(run["id"])
        steps = {m["step"] for m in s.run_metrics(run["id"], "train")}
    ledger.record("two launches of one recipe with a store", runs=2, tracebacks=second.tracebacks)
    ledger.record("kill -9 during training (store), then resume", runs=2,
                  rows_lost=len(set(range(1, STEPS + 1)) - steps), tracebacks=resumed.tracebacks)
    assert run["status"] == "finished" and run["resumes"] == 1 and steps == set(range(1, STEPS + 1))
    assert integrity(store) == "ok"


def test_comparison_killed_at_random_resumes(run_home, tiny_model_dir, tmp_path, ledger):
    from tests.test_compare_flow import make_adapter

    adapter = make_adapter(tiny_model_dir, tmp_path / "runs" / "r1" / "best_checkpoint")
    store = tmp_path / "store.db"
    args = ["compare", "--base", tiny_model_dir, "--adapter", adapter, "--limit-per-task", "2",
            "--max-new-tokens", "16", "--chunk-size", "2", "--temperature", "0.7", "--samples", "1", "--store", store,
            "--out", tmp_path / "report"]
    proc = start_cli(args, run_home, tmp_path / "compare.log")
    at = RNG.choice([2, 4, 6])
    killed = kill9_when(proc, lambda: rows_so_far(store, "compare_results") >= at,
                        delay=RNG.uniform(0.0, 0.2))
    assert integrity(store) == "ok"
    assert count(store, "SELECT count(*) FROM compare_results") % 2 == 0  # whole chunks only
    again = run_cli(args, run_home)
    expected = 8 * 2  # 2 prompts per task x 4 tasks, two sides
    stored = count(store, "SELECT count(*) FROM compare_results")
    ledger.record("kill -9 during comparison", runs=2, rows_lost=expected - stored, tracebacks=again.tracebacks)
    assert killed and again.rc == 0, again.err
    assert stored == expected and "(complete)" in again.out
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["partial"] is False and integrity(store) == "ok"
