"""A comparison started as a job (as the app's button does): cancelled half way it is marked
partial with its finished chunks kept; started again it resumes and completes."""

from __future__ import annotations

import time

import pytest

from data.store import Store
from data.store.errors import PermissionDenied
from data.store.roles import User
from tests.test_compare_flow import make_adapter

pytestmark = pytest.mark.slow


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_compare_job_cancel_then_resume(home, tiny_model_dir, tmp_path):
    from audit_app.cli.compare import start_compare_job
    from audit_app.jobs.runner import cancel_job
    from data.prompts import dumps, make_row

    adapter = make_adapter(tiny_model_dir, home / "runs" / "run-7" / "best_checkpoint")
    rows = [make_row("push", "Escreva um push.", f"Push número {i} para clientes.", split="eval") for i in range(24)]
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text(dumps(rows), encoding="utf-8")
    store = Store(home / "store.db")
    engineer = store.add_user("eng", "engineer", "pw-engineer-1")
    reviewer = store.add_user("rev", "reviewer", "pw-reviewer-1")
    options = {"base": str(tiny_model_dir), "adapters": [str(adapter)], "eval_path": str(eval_file),
               "max_new_tokens": 12, "temperature": 0.7, "samples": 1}  # the one-sample protocol: 48 results
    with pytest.raises(PermissionDenied):
        start_compare_job(store, reviewer, **options)
    with pytest.raises(ValueError, match="samples"):
        start_compare_job(store, engineer, **{**options, "samples": 0})

    job_id = start_compare_job(store, engineer, **options)
    _wait(lambda: store.list_comparisons() and store.list_comparisons()[0]["progress"]["done"] > 0, 120,
          "the first stored chunk")
    cancel_job(store, User(id=engineer.id, username="eng", role="engineer"), job_id)
    job = _wait(lambda: (j := store.get_job(job_id))["status"] not in ("queued", "running") and j, 60, "cancel")
    assert job["status"] == "cancelled"
    c = store.list_comparisons()[0]
    assert c["status"] == "partial" and c["job_id"] == job_id and c["progress"]["partial"]
    done_before = c["progress"]["done"]
    assert 0 < done_before < 48
    report = (home / "runs" / "run-7" / f"compare-{c['id']}" / "report.md").read_text()
    assert "PARTIAL REPORT" in report

    second = start_compare_job(store, engineer, **options)
    job = _wait(lambda: (j := store.get_job(second))["status"] not in ("queued", "running") and j, 180, "finish")
    assert job["status"] == "succeeded", job
    c = store.get_comparison(c["id"])  # the same comparison, resumed
    assert c["status"] == "complete" and c["job_id"] == second and c["progress"]["done"] == 48
    assert len(store.list_comparisons()) == 1
    store.close()
