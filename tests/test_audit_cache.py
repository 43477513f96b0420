"""The audit page's cache: one audit per (store revision, reward versions, settings); a new
score, a new threshold revision or a new reward version recomputes; each fresh audit
stores its estimate of the scores still needed for the annotate page."""

from __future__ import annotations

import threading

import pytest

from audit_app.audit import cache
from data.store import Store
from rewards import versions
from tests.test_audit_support import add_user, seed_store, synthetic_items


@pytest.fixture
def audited(tmp_path):
    cache.clear()
    now = versions.current_versions()
    with Store(tmp_path / "store.db") as s:
        seed_store(s, synthetic_items("push", 60, seed=1), reward_version=now["push"])
        yield s
    cache.clear()


def test_one_audit_per_revision_and_versions(audited, monkeypatch):
    first, fresh = cache.cached_report(audited, ["push"], n_boot=200)
    assert fresh
    again, fresh = cache.cached_report(audited, ["push"], n_boot=200)
    assert again is first and not fresh
    assert cache.cached_report(audited, ["push"], n_boot=300)[1]       # other settings: their own audit
    audited.conn.execute("UPDATE annotations SET score = 1 WHERE id = 3")
    changed, fresh = cache.cached_report(audited, ["push"], n_boot=200)
    assert fresh and changed is not first
    edited = {**versions.current_versions(), "push": "0123456789abcdef"}
    monkeypatch.setattr(versions, "current_versions", lambda: edited)
    assert cache.cached_report(audited, ["push"], n_boot=200)[1]      # a reward edit recomputes


def test_thresholds_revision_recomputes(audited):
    admin = add_user(audited, "the-admin", "admin")
    report, _ = cache.cached_report(audited, ["push"], n_boot=200)
    config = audited.gate_thresholds()["config"]
    audited.set_gate_thresholds(admin, {**config, "tasks": {"push": {"min_items": 50}}})
    after, fresh = cache.cached_report(audited, ["push"], n_boot=200)
    assert fresh and after.verdicts["push"].reason != report.verdicts["push"].reason


def test_a_fresh_audit_stores_what_each_task_still_needs(audited):
    report, _ = cache.cached_report(audited, ["push", "sql_qa"], n_boot=200)
    targets = audited.audit_targets()
    assert targets["push"]["target_items"] == report.needs["push"].target_items >= 100
    assert targets["sql_qa"]["reachable"] is None and targets["push"]["revision"] == audited.audit_revision()
    assert audited.progress()["per_task"]["push"]["goal"] == report.needs["push"].target_items


def test_in_memory_stores_are_never_served_from_the_cache(store):
    seed_store(store, synthetic_items("push", 30, seed=1))
    assert cache.cached_report(store, ["push"], n_boot=200)[1]
    assert cache.cached_report(store, ["push"], n_boot=200)[1]


def test_a_second_viewer_waits_for_the_audit_being_computed_instead_of_repeating_it(audited, monkeypatch):
    """The app's warm-up computes the default audit while the first engineer logs in: the
    page asking for the same audit meanwhile gets that one, computed once."""
    calls, started, release = [], threading.Event(), threading.Event()
    real = cache.audit_report

    def slow_report(*args, **kwargs):
        calls.append(threading.current_thread().name)
        started.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(cache, "audit_report", slow_report)
    path = audited.path
    results = {}

    def view(name):
        with Store(path) as s:
            results[name] = cache.cached_report(s, ["push"], n_boot=200)

    first = threading.Thread(target=view, args=("warm-up",), name="warm-up")
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=view, args=("page",), name="page")
    second.start()
    second.join(0.3)
    assert second.is_alive()  # waiting, not computing: the audit is being computed once
    release.set()
    first.join(10), second.join(10)
    assert calls == ["warm-up"]
    assert results["warm-up"][1] and not results["page"][1]
    assert results["page"][0] is results["warm-up"][0]


def test_a_failed_computation_lets_the_waiting_viewer_compute_its_own(audited, monkeypatch):
    real, started, release, calls = cache.audit_report, threading.Event(), threading.Event(), []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            started.set()
            release.wait(10)
            raise ValueError("the first computation failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(cache, "audit_report", flaky)
    errors = []

    def failing():
        with Store(audited.path) as s:
            try:
                cache.cached_report(s, ["push"], n_boot=200)
            except ValueError as exc:
                errors.append(str(exc))

    first = threading.Thread(target=failing)
    first.start()
    assert started.wait(10)
    out = {}

    def waiting():
        with Store(audited.path) as s:
            out["r"] = cache.cached_report(s, ["push"], n_boot=200)

    second = threading.Thread(target=waiting)
    second.start()
    release.set()
    first.join(10), second.join(10)
    assert errors == ["the first computation failed"] and out["r"][1] and len(calls) == 2
