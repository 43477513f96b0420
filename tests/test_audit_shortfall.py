"""Rollouts the audit lacks: what the engineers' pages say is missing and the sampling job
that supplies exactly that, from prompts that have no rollouts yet."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from audit_app.jobs import shortfall
from audit_app.ui.context import SESSION_USER
from data import paths
from data.prompts import load_prompts
from tests.test_app_sample import PAGES, page_store  # noqa: F401  (the fixture: a home with prompts and users)


def push_prompts() -> list[dict]:
    return load_prompts(paths.train_prompts(), tasks=["push"])


def seed_push(store, prompts: list[dict], per_prompt: int = 2) -> None:
    store.add_prompts(prompts)
    store.add_rollouts([{"prompt_id": p["prompt_id"], "model_id": "m", "sample_index": i, "completion": f"oi {i}",
                         "reward_name": "push", "reward_total": 0.5, "reward_version": "v"}
                        for p in prompts for i in range(per_prompt)])


def set_minimum(store, admin, task: str, n: int) -> None:
    config = store.gate_thresholds()["config"]
    store.set_gate_thresholds(admin, {**config, "tasks": {task: {"min_items": n}}})


def test_shortfall_counts_from_new_prompts(page_store):  # noqa: F811
    rows = push_prompts()
    seed_push(page_store, rows[:2])
    set_minimum(page_store, page_store.users["admin"], "push", 9)
    short = shortfall.shortfalls(page_store)["push"]
    assert (short.goal, short.rollouts, short.per_prompt) == (9, 4, 4)
    assert (short.missing, short.new_prompts) == (8, 2)   # 5 missing, in whole prompts of 4
    assert "needs 9 scored items but the store holds only 4 push rollouts" in short.message
    unused = shortfall.unused_prompt_ids(page_store, "push", 1000)
    assert rows[0]["prompt_id"] not in unused and rows[2]["prompt_id"] in unused
    assert len(unused) == len(rows) - 2


def test_no_unused_prompt_left_is_said_not_sampled(page_store):  # noqa: F811
    rows = push_prompts()
    seed_push(page_store, rows, per_prompt=1)
    set_minimum(page_store, page_store.users["admin"], "push", len(rows) + 4)
    short = shortfall.shortfalls(page_store)["push"]
    with pytest.raises(ValueError, match="every push prompt of the train set already has rollouts"):
        shortfall.sample_missing(page_store, page_store.users["engineer"], short)
    assert page_store.list_jobs() == []


@pytest.mark.slow
def test_the_sample_page_samples_exactly_what_is_missing(page_store, tiny_model_dir):  # noqa: F811
    engineer = page_store.users["engineer"]
    rows = push_prompts()
    seed_push(page_store, rows[:2])
    set_minimum(page_store, page_store.users["admin"], "push", 6)
    # The task's latest sampling job names the model and settings the missing rollouts are sampled with.
    page_store.create_job("sample", ["sample", "--tasks", "push"], actor=engineer,
                          meta={"model": str(tiny_model_dir), "adapter": None, "tasks": ["push"],
                                "gen": {"temperature": 1.0, "max_new_tokens": 8}})
    at = AppTest.from_file(str(PAGES / "sample.py"), default_timeout=60)
    at.session_state[SESSION_USER] = engineer
    at = at.run()
    assert any("the store holds only 4 push rollouts to score; 4 more must be sampled (1 new prompts x 4)" in w.value
               for w in at.warning)
    at = at.button(key="sample_missing_push").click().run()
    assert not at.exception, at.exception
    job_id = at.session_state["sample_job_id"]
    job = page_store.get_job(job_id)
    assert job["argv"][job["argv"].index("--prompt-ids") + 1:] == [rows[2]["prompt_id"]]
    assert job["argv"][job["argv"].index("--model") + 1] == str(tiny_model_dir)
    deadline = time.monotonic() + 120
    while page_store.get_job(job_id)["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert page_store.get_job(job_id)["status"] == "succeeded", page_store.get_job(job_id)
    assert page_store.count_rollouts("push") == 8
    assert "push" not in shortfall.shortfalls(page_store)
