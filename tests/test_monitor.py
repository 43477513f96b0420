"""Monitor alerts from metric rows: each failure mode raises its alert in words, a healthy
run raises none, and the charts and checkpoint table come out of the same rows."""

from __future__ import annotations

import math
import random

from audit_app.jobs import monitor

TASKS = ("extraction", "push")


def healthy(n=40, seed=0):
    """A run that learns: noisy, rising rewards, steady entropy, few cut-offs."""
    rng = random.Random(seed)
    rows = []
    for step in range(1, n + 1):
        row = {"kind": "train", "step": step, "reward": 0.3 + step / 200 + rng.uniform(-0.05, 0.05),
               "reward_std": 0.2, "frac_reward_zero_std": rng.uniform(0.0, 0.4), "entropy": 1.5 + rng.uniform(-0.1, 0.1),
               "truncated_share": rng.uniform(0.0, 0.2), "completion_length": 100.0, "learning_rate": 5e-6,
               "step_time": 1.0, "task_weight/extraction": 0.5, "task_weight/push": 0.5}
        for t in TASKS:
            row[f"task_reward/{t}"] = 0.3 + step / 150 + rng.uniform(-0.1, 0.1)
        rows.append(row)
        if step % 10 == 0:
            rows.append({"kind": "eval", "step": step, "task_reward": 0.3 + step / 100,
                         **{f"task_reward/{t}": 0.3 + step / 100 + 0.01 * i for i, t in enumerate(TASKS)}})
    return rows


def kinds(alerts):
    return [a.kind for a in alerts]


def test_healthy_run_raises_nothing():
    assert monitor.alerts(healthy()) == []


def test_identical_rollouts_names_temperature():
    rows = healthy()
    for r in rows[-8:]:
        if r["kind"] == "train":
            r["frac_reward_zero_std"] = 0.97
    found = monitor.alerts(rows, temperature=1.0)
    assert kinds(found) == ["identical_rollouts"]
    assert "temperature 1" in found[0].message and "same reward" in found[0].message
    # Four steps are not yet "several".
    rows = healthy()
    for r in [r for r in rows if r["kind"] == "train"][-4:]:
        r["frac_reward_zero_std"] = 1.0
    assert monitor.alerts(rows) == []


def test_length_limit():
    rows = healthy()
    for r in [r for r in rows if r["kind"] == "train"][-6:]:
        r["truncated_share"] = 0.8
    found = monitor.alerts(rows, max_completion_length=512)
    assert kinds(found) == ["length_limit"]
    assert "512-token length limit" in found[0].message and "80%" in found[0].message


def test_entropy_collapse_needs_falling_eval_reward():
    rows = healthy()
    train = [r for r in rows if r["kind"] == "train"]
    for r in train[-6:]:
        r["entropy"] = 0.3
    # Entropy alone is not an alert: a sharpening policy whose eval reward still rises is fine.
    assert monitor.alerts(rows) == []
    rows.append({"kind": "eval", "step": 41, "task_reward": 0.5})
    found = monitor.alerts(rows)
    assert kinds(found) == ["entropy_collapse"]
    assert "step 40" in found[0].message and "best checkpoint" in found[0].message


def test_stuck_task_in_train_and_eval():
    rows = healthy()
    for r in rows:
        if r["kind"] == "train":
            r["task_reward/push"] = 0.125
    found = monitor.alerts(rows)
    assert kinds(found) == ["stuck_task"] and found[0].task == "push"
    assert "Task push" in found[0].message and "0.125" in found[0].message

    rows = healthy()
    for r in rows:
        if r["kind"] == "eval":
            r["task_reward/extraction"] = 0.4
    found = monitor.alerts(rows)
    assert [(a.kind, a.task) for a in found] == [("stuck_task", "extraction")]
    assert "evaluations" in found[0].message


def test_nan_and_missing_values_are_ignored():
    rows = healthy(12)
    for r in rows:
        r["kl"] = math.nan
        r.pop("entropy", None)
    assert monitor.alerts(rows) == []


def test_charts_and_checkpoint_table(tmp_path):
    rows = healthy()
    titles = [title for title, _ in monitor.figures(rows)]
    assert "Reward per task (train)" in titles and "Task weights (IWU)" in titles
    assert "KL and clip ratio" not in titles  # beta = 0: no KL logged, no empty chart
    series = monitor.chart_series(rows, ["eval:task_reward/*"])
    assert set(series) == {"eval task_reward/extraction", "eval task_reward/push"}
    table = monitor.checkpoint_rows(
        [{"path": "c-10", "step": 10, "eval_score": 0.4, "is_best": False},
         {"path": "best", "step": 20, "eval_score": 0.5, "is_best": True},
         {"path": "c-20", "step": 20, "eval_score": 0.5, "is_best": False}], best_step=20)
    assert [r["best"] for r in table] == ["", "★ best", "= best step"]
    log = tmp_path / "train.log"
    log.write_text("\n".join(f"line {i}" for i in range(100)), encoding="utf-8")
    assert monitor.log_tail(log, 3) == "line 97\nline 98\nline 99"
    assert monitor.log_tail(tmp_path / "missing.log") == ""
