"""The Train & monitor page in a real browser (Debian chromium): an engineer sees the
launch blocked with its reason, the run's alerts in words, live plotly charts and the
checkpoint table with the best one marked."""

from __future__ import annotations

import pytest

from data.store import Store
from tests.fixtures_browser import login, wait_for_app_idle
from tests.fixtures_users import record_decision
from train.grpo.recipe import load_recipe


@pytest.mark.browser
def test_monitor_in_a_browser(home, small_data_home, app_server, browser_page, tmp_path):
    store = Store(home / "store.db")
    eng = store.add_user("eng", "engineer", "pw-engineer-123")
    record_decision(store)  # made for other reward versions: the page still finds no current decision
    (run_id,) = store.create_runs(eng, recipe=load_recipe("tiny").to_dict(), seeds=[42], reward_versions={},
                                  runs_root=tmp_path, gate_decision_id=1)
    store.finish_run(run_id, "failed", stop_reason="its process is gone")
    for step in range(1, 11):
        store.record_run_metrics(run_id, "train", step, {
            "reward": 0.2 + step / 50, "frac_reward_zero_std": 0.95, "entropy": 2.0, "truncated_share": 0.9,
            "task_reward/push": 0.2 + step / 50, "task_weight/push": 0.5, "learning_rate": 1e-4, "step_time": 1.5})
    store.record_run_metrics(run_id, "eval", 5, {"task_reward": 0.33, "task_reward/push": 0.33})
    store.record_checkpoint(run_id, path=tmp_path / "checkpoint-5", step=5, eval_score=0.33)
    store.record_checkpoint(run_id, path=tmp_path / "best_checkpoint", step=5, eval_score=0.33, is_best=True)
    store.update_run_progress(run_id, step=10, best_step=5, best_score=0.33)
    store.close()

    server = app_server(home / "store.db")
    page = browser_page
    login(page, server.url, "eng", "pw-engineer-123")
    page.get_by_role("link", name="Train & monitor").click()
    wait_for_app_idle(page)
    page.get_by_text("Launch training").wait_for()
    assert page.get_by_role("button", name="Launch training").is_disabled()
    body = page.locator("body").inner_text()
    assert "no audit gate decision covers" in body
    assert "identical rollouts" in body and "length limit" in body
    assert "best eval reward 0.330 at step 5" in body
    page.locator(".js-plotly-plot").first.wait_for()
    assert page.locator(".js-plotly-plot").count() >= 4
    page.screenshot(path=str(tmp_path / "train_page.png"), full_page=True)
