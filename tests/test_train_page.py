"""AppTest smoke tests of the Train & monitor page: who may see it, a launch button that is
disabled with reasons until the gate passes, a launch that starts one job however often it
is clicked, and the monitor's alerts, charts and checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from audit_app.jobs import launch
from audit_app.ui.context import SESSION_USER
from data.store import Store
from tests.test_launch import record_decision
from train.grpo.recipe import load_recipe

PAGE = Path(__file__).resolve().parent.parent / "audit_app" / "pages" / "training.py"


@pytest.fixture
def page_store(home, small_data_home, monkeypatch):
    # small_data_home: the bundled tiny recipe reads the home's prompts.
    path = home / "store.db"
    monkeypatch.setenv("TUCANO_AUDIT_STORE", str(path))
    store = Store(path)
    people = {role: store.add_user(f"{role}1", role, "pw-long-enough-1") for role in
              ("annotator", "engineer", "reviewer", "admin")}
    yield store, people
    store.close()


def open_page(user, recipe: str | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state[SESSION_USER] = user
    at.run()
    if recipe is not None:
        at.selectbox(key="train_recipe").set_value(recipe).run()
    return at


def text(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.title, *at.markdown, *at.caption, *at.error, *at.warning,
                                            *at.info, *at.success))


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_only_engineers_see_the_page(page_store, role):
    _, people = page_store
    at = open_page(people[role])
    assert not at.exception and "needs role engineer" in at.error[0].value and not at.title


def test_launch_disabled_with_reasons_then_one_run_however_often_clicked(page_store):
    store, people = page_store
    at = open_page(people["engineer"], "tiny")
    assert not at.exception
    assert at.button(key="train_launch").disabled
    assert "no audit gate decision covers" in text(at)

    record_decision(store, people["engineer"], failing=["push"])
    at.run()
    assert at.button(key="train_launch").disabled
    assert "fails push: rho 0.31 < 0.50" in text(at) and "leave them out" in text(at)

    at.multiselect(key="train_exclude").set_value(["push"]).run()
    assert not at.button(key="train_launch").disabled
    at.text_input(key="train_seeds").set_value("42, 123").run()
    at.button(key="train_launch").click().run()
    assert not at.exception, at.exception
    assert "Run 1 started; runs 2 queued after it." in text(at)
    runs = {r["id"]: r for r in store.list_runs()}
    assert runs[1]["status"] in ("starting", "running") and runs[1]["job_id"] and runs[2]["status"] == "queued"
    assert runs[1]["excluded_tasks"] == ["push"] and runs[1]["created_by"] == "engineer1"
    # A second click (another browser, a double click) cannot start another run.
    assert at.button(key="train_launch").disabled
    assert "one training run at a time" in text(at)
    launch.cancel(store, people["engineer"], 1)
    assert {r["status"] for r in store.list_runs()} == {"cancelled"}


def test_monitor_shows_alerts_charts_and_best_checkpoint(page_store, tmp_path):
    store, people = page_store
    eng = people["engineer"]
    decision = record_decision(store, eng)
    recipe = load_recipe("tiny").to_dict()
    (run_id,) = store.create_runs(eng, recipe=recipe, seeds=[42], reward_versions={}, runs_root=tmp_path,
                                  gate_decision_id=decision)
    store.finish_run(run_id, "failed", stop_reason="its process 4242 is gone (killed)")
    for step in range(1, 9):
        store.record_run_metrics(run_id, "train", step, {
            "reward": 0.2, "frac_reward_zero_std": 1.0, "entropy": 2.0, "truncated_share": 0.1,
            "task_reward/push": 0.2 + step / 100, "task_weight/push": 0.5, "learning_rate": 1e-4})
    store.record_run_metrics(run_id, "eval", 4, {"task_reward": 0.31, "task_reward/push": 0.31})
    store.record_run_metrics(run_id, "eval", 8, {"task_reward": 0.25, "task_reward/push": 0.25})
    store.record_checkpoint(run_id, path=tmp_path / "checkpoint-4", step=4, eval_score=0.31)
    store.record_checkpoint(run_id, path=tmp_path / "checkpoint-8", step=8, eval_score=0.25)
    store.record_checkpoint(run_id, path=tmp_path / "best_checkpoint", step=4, eval_score=0.31, is_best=True)
    store.update_run_progress(run_id, step=8, best_step=4, best_score=0.31)

    at = open_page(eng)
    assert not at.exception, at.exception
    shown = text(at)
    assert "failed: step 8 of 6; best eval reward 0.310 at step 4 (its process 4242 is gone (killed))" in shown
    assert "identical rollouts" in shown and "check the sampling temperature" in shown
    assert len(at.get("plotly_chart")) >= 4
    (ckpts,) = [d.value for d in at.dataframe if "best" in d.value.columns and "folder" in d.value.columns]
    assert list(ckpts["best"]) == ["= best step", "★ best", ""] and list(ckpts["step"]) == [4, 4, 8]
    assert at.button(key="train_resume")


def test_monitor_shows_the_exploit_alarm_with_the_family_named(page_store, tmp_path):
    """What a run recorded (metrics and samples.jsonl, as train.grpo.callbacks writes them):
    the push completions turned into one template that the reward pays."""
    import json

    from train.grpo.samples import SAMPLES_FILE

    store, people = page_store
    eng = people["engineer"]
    (run_id,) = store.create_runs(eng, recipe=load_recipe("tiny").to_dict(), seeds=[42], reward_versions={},
                                  runs_root=tmp_path, gate_decision_id=record_decision(store, eng))
    store.finish_run(run_id, "finished")
    run_dir = Path(store.get_run(run_id)["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    template = "Aproveite as ofertas especiais da semana com frete grátis! <b>Confira</b> já no app"
    with (run_dir / SAMPLES_FILE).open("w", encoding="utf-8") as f:
        for step in range(1, 7):
            share = 0.1 if step <= 3 else 0.9
            store.record_run_metrics(run_id, "train", step, {"task_reward/push": 0.4 + step / 10,
                                                             "exploit_share/push": share})
            check = {"checked": 32, "matched": round(32 * share), "share": share,
                     "families": {"constant_template": round(32 * share)}, "matched_reward": 0.95,
                     "other_reward": 0.4, "failed": 0,
                     "examples": [{"prompt_id": "push-1", "completion": template, "reward": 0.95,
                                   "families": ["constant_template"]}]}
            f.write(json.dumps({"step": step, "tasks": {"push": {"exploits": check, "repeated": [],
                                                                 "sample": []}}}) + "\n")
    at = open_page(eng)
    assert not at.exception, at.exception
    assert "exploit family" in text(at) and "show an exploit family: constant_template (87)" in text(at)
    (examples,) = [d.value for d in at.dataframe if "exploit families" in d.value.columns]
    assert examples.iloc[0]["exploit families"] == "constant_template"
    assert examples.iloc[0]["completion"] == template  # a cell of text: the <b> is not rendered
