"""The gate: verdicts in words, fail-closed cases, roles, thresholds history, stored decisions.

Rewards here are TaskScorers whose name/version match the stored rollouts, so the audit
reads the stored breakdowns; tests against the real reward registry are in test_gate_rewards.py.
"""

from __future__ import annotations

import json

import pytest

from audit_app.audit import gate, verdict
from audit_app.audit.report import TaskScorer, audit_report
from audit_app.audit.stats import TaskStats
from data.store import thresholds
from data.store.errors import InvalidInput, NotFound, PermissionDenied
from data.store.roles import SYSTEM
from rewards.types import RewardBreakdown
from tests.test_audit_support import add_user, seed_store, synthetic_items

BOOT = 300


def stored(task: str, version: str = "v-test") -> TaskScorer:
    """The reward the rows were stored with (scoring anything else would be a bug here)."""
    def never(item):
        raise AssertionError(f"rollout {item['rollout_id']} should not be rescored")
    return TaskScorer(task, version, never)


def scorers(*tasks):
    return {t: stored(t) for t in tasks}


@pytest.fixture
def people(store):
    return {role: add_user(store, f"the-{role}", role) for role in ("annotator", "engineer", "reviewer", "admin")}


def good_stats(**kw) -> TaskStats:
    base = dict(task="push", n_rollouts=150, n_items=120, n_prompts=30, annotators=["ana", "bia"],
                human_distinct=5, reward_distinct=20, rho=0.62, ci_low=0.45, ci_high=0.78, alpha=0.6,
                n_alpha_items=20, within_prompt_tau=0.45, within_ci_low=0.3, within_ci_high=0.58,
                n_prompt_groups=22)
    return TaskStats(**{**base, **kw})


LIMITS = {"min_items": 100, "min_prompts": 10, "min_annotators": 2, "min_overlap": 10, "min_rho": 0.5,
          "min_ci_low": 0.4, "min_within_tau": 0.2, "min_within_ci_low": 0.2}


def test_verdict_reasons_in_words():
    v = verdict.evaluate(good_stats(), LIMITS)
    assert v.passed and v.reason == (
        "push: rho 0.62 >= 0.50 on 120 items, 95% CI 0.45 to 0.78 (lower bound > 0.40); within-prompt tau 0.45 >= "
        "0.20, 95% CI 0.30 to 0.58 over 22 prompts; 30 prompts, 2 annotators, 20 items scored twice")
    v = verdict.evaluate(good_stats(rho=0.31, ci_low=0.45), LIMITS)
    assert not v.passed and v.reason == "push: rho 0.31 < 0.50 on 120 items"
    v = verdict.evaluate(good_stats(ci_low=0.4), LIMITS)
    assert not v.passed and "95% CI lower bound 0.40 <= 0.40" in v.reason
    v = verdict.evaluate(good_stats(n_items=72), LIMITS)
    assert v.reason == "push: 72 scored items < 100 needed"
    v = verdict.evaluate(good_stats(n_prompts=9), LIMITS)
    assert v.reason.startswith("push: 9 prompts < 10 needed (completions of one prompt are not independent")
    v = verdict.evaluate(good_stats(annotators=["ana"]), LIMITS)
    assert v.reason == "push: only 1 annotator (ana), 2 needed"
    v = verdict.evaluate(good_stats(n_alpha_items=4), LIMITS)
    assert v.reason == "push: only 4 items scored by two or more people, 10 needed to measure their agreement"
    v = verdict.evaluate(good_stats(alpha=None), LIMITS)
    assert "agreement between people is undefined" in v.reason
    v = verdict.evaluate(good_stats(within_prompt_tau=0.05), LIMITS)
    assert v.reason.startswith("push: within-prompt tau 0.05 < 0.20 over 22 prompts")
    v = verdict.evaluate(good_stats(within_ci_low=0.12), LIMITS)
    assert v.reason.startswith("push: within-prompt tau 95% CI lower bound 0.12 <= 0.20")
    v = verdict.evaluate(good_stats(within_prompt_tau=None, within_ci_low=None, n_prompt_groups=0), LIMITS)
    assert "no prompt group with 2 or more scored completions" in v.reason
    assert verdict.evaluate(good_stats(n_rollouts=0, n_items=0), LIMITS).reason == \
        "push: no rollouts for this task; sample some first"
    assert verdict.evaluate(good_stats(n_items=0, annotators=[]), LIMITS).reason == \
        "push: no human scores yet (0 of 150 rollouts scored)"
    v = verdict.evaluate(good_stats(rho=0.55, ci_low=None, ci_high=None), LIMITS)
    assert not v.passed and "no 95% interval for rho" in v.reason


def test_thresholds_file_and_validation():
    cfg = thresholds.load_default_thresholds()
    assert cfg["defaults"] == LIMITS
    good = {"defaults": dict(cfg["defaults"]), "tasks": {"push": {"min_rho": 0.6}}}
    assert thresholds.thresholds_for(thresholds.validate_thresholds(good), "push")["min_rho"] == 0.6
    assert thresholds.thresholds_for(thresholds.validate_thresholds(good), "sql_qa")["min_rho"] == 0.5
    bad = [
        ({"defaults": {**cfg["defaults"], "min_rh": 0.5}}, "unknown key 'min_rh'"),
        ({"defaults": {**cfg["defaults"], "min_rho": 1.5}}, "outside"),
        ({"defaults": {**cfg["defaults"], "min_items": 2.5}}, "whole number"),
        ({"defaults": {**cfg["defaults"], "min_rho": "high"}}, "must be a number"),
        ({"defaults": {"min_rho": 0.5}}, "defaults must set"),
        ({"defaults": cfg["defaults"], "tasks": {"tweet": {}}}, "unknown task 'tweet'"),
        ({"defaults": cfg["defaults"], "extra": 1}, "unknown section"),
        ([1, 2], "must be a mapping"),
    ]
    for config, msg in bad:
        with pytest.raises(InvalidInput, match=msg):
            thresholds.validate_thresholds(config)


def test_yaml_errors_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        thresholds.load_default_thresholds(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("defaults: [unclosed\n")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        thresholds.load_default_thresholds(tmp_path / "bad.yaml")


def test_only_admins_edit_thresholds_and_every_edit_is_kept(store, people):
    cfg = store.gate_thresholds()
    assert cfg["revision"] == 0 and cfg["changed_by"] == "gate_thresholds.yaml"
    new = {"defaults": {**cfg["config"]["defaults"], "min_rho": 0.6}, "tasks": {}}
    for role in ("annotator", "engineer", "reviewer"):
        with pytest.raises(PermissionDenied):
            store.set_gate_thresholds(people[role], new)
    with pytest.raises(InvalidInput):
        store.set_gate_thresholds(people["admin"], {"defaults": {"min_rho": 2}})
    assert store.gate_threshold_history() == []
    assert store.set_gate_thresholds(people["admin"], new, note="stricter") == 1
    new2 = {"defaults": {**new["defaults"], "min_items": 30}, "tasks": {"push": {"min_rho": 0.4}}}
    assert store.set_gate_thresholds(people["admin"], new2) == 2
    now = store.gate_thresholds()
    assert now["revision"] == 2 and now["changed_by"] == "the-admin" and now["changed_at"]
    assert thresholds.thresholds_for(now["config"], "push") == {**LIMITS, "min_items": 30, "min_rho": 0.4}
    hist = store.gate_threshold_history()
    assert [h["revision"] for h in hist] == [2, 1] and hist[1]["note"] == "stricter"


def test_compute_roles(store, people):
    seed_store(store, synthetic_items("push", 40, seed=1))
    with pytest.raises(PermissionDenied, match="computing a gate decision"):
        gate.compute_decision(store, people["annotator"], ["push"], rewards=scorers("push"), n_boot=BOOT)
    with pytest.raises(PermissionDenied):
        store.record_gate_decision(people["annotator"], tasks=["push"], passed=True, reward_versions={"push": "v"},
                                   reward_names={}, thresholds={}, thresholds_revision=0,
                                   per_task={"push": {}}, annotations_hash="", annotation_counts={},
                                   n_boot=1, seed=0)
    for role in ("engineer", "reviewer", "admin"):
        d = gate.compute_decision(store, people[role], ["push"], rewards=scorers("push"), n_boot=BOOT)
        assert d.id and d.computed_by == f"the-{role}"
    assert len(store.gate_decisions()) == 3


def test_decision_passes_good_reward_and_is_stored_with_everything(store, people):
    seed_store(store, synthetic_items("push", 120, seed=1) + synthetic_items("extraction", 120, seed=2))
    d = gate.compute_decision(store, people["engineer"], ["push", "extraction"],
                              rewards=scorers("push", "extraction"), n_boot=BOOT)
    assert d.passed() and d.passed(["push"]) and d.reasons() == []
    assert not d.passed(["push", "sql_qa"])
    assert d.reasons(["sql_qa"]) == [f"sql_qa: not covered by gate decision #{d.id}"]
    assert [line[:5] for line in d.lines()] == ["PASS ", "PASS "]
    row = store.get_gate_decision(d.id)
    assert row["passed"] and row["computed_by"] == "the-engineer" and row["computed_at"]
    assert row["reward_versions"] == {"push": "v-test", "extraction": "v-test"}
    assert row["thresholds"]["defaults"]["min_rho"] == 0.5 and row["thresholds_revision"] == 0
    assert row["annotation_counts"]["push"] == store.audit_counts(["push"])["push"]
    assert len(row["annotations_hash"]) == 64
    assert row["per_task"]["push"]["stats"]["n_items"] == 120
    again = gate.GateDecision.from_row(row)
    assert again.passed() and again.per_task["push"].reason == d.per_task["push"].reason
    with pytest.raises(NotFound):
        store.get_gate_decision(999)


def test_snapshot_hash_follows_the_annotations(store):
    seed_store(store, synthetic_items("push", 10, seed=1))
    before, _ = store.annotation_snapshot(["push"])
    assert store.annotation_snapshot(["push"])[0] == before
    store.conn.execute("UPDATE annotations SET score = CASE WHEN score = 5 THEN 4 ELSE score + 1 END WHERE id = 1")
    assert store.annotation_snapshot(["push"])[0] != before


def test_bad_reward_fails_with_rho_reason(store, people):
    items = synthetic_items("push", 120, rho_noise=5.0, seed=3)  # reward is noise
    seed_store(store, items)
    d = gate.compute_decision(store, people["engineer"], ["push"], rewards=scorers("push"), n_boot=BOOT)
    assert not d.passed()
    (reason,) = d.reasons()
    assert reason.startswith("push: rho ") and "< 0.50 on 120 items" in reason
    assert "within-prompt tau" in reason  # nor does it order a prompt's completions


def test_new_thresholds_apply_to_the_next_decision(store, people):
    seed_store(store, synthetic_items("push", 120, seed=1))
    assert gate.compute_decision(store, SYSTEM, ["push"], rewards=scorers("push"), n_boot=BOOT).passed()
    cfg = store.gate_thresholds()["config"]
    store.set_gate_thresholds(people["admin"], {"defaults": cfg["defaults"], "tasks": {"push": {"min_items": 200}}})
    d = gate.compute_decision(store, SYSTEM, ["push"], rewards=scorers("push"), n_boot=BOOT)
    assert d.reasons() == ["push: 120 scored items < 200 needed"]
    assert store.get_gate_decision(d.id)["thresholds_revision"] == 1


@pytest.mark.parametrize("case", ["no_rollouts", "no_annotations", "one_annotator", "all_equal", "nan_rewards",
                                  "constant_reward"])
def test_fails_closed_and_says_why(store, people, case):
    items = synthetic_items("push", 40, seed=1)
    expected = {
        "no_rollouts": "push: no rollouts for this task; sample some first",
        "no_annotations": "push: no human scores yet (0 of 40 rollouts scored)",
        "one_annotator": "only 1 annotator (ana), 2 needed",
        "all_equal": "all 40 human scores are equal (3), so there is no human order to match",
        "nan_rewards": "3 of 40 scored items have no reward total (NaN)",
        "constant_reward": "the reward gives all 40 items the same total (0.50), so it ranks nothing",
    }[case]
    if case == "no_annotations":
        for it in items:
            it["annotations"] = []
    elif case == "one_annotator":
        items = synthetic_items("push", 40, seed=1, annotators=("ana",), double_share=0)
    elif case == "all_equal":
        for it in items:
            for a in it["annotations"]:
                a["score"] = 3
    elif case == "nan_rewards":
        for it in items[:3]:
            it["reward_total"] = None
    elif case == "constant_reward":
        for it in items:
            it["reward_total"] = 0.5
    if case != "no_rollouts":
        seed_store(store, items)
    d = gate.compute_decision(store, people["reviewer"], ["push"], rewards=scorers("push"), n_boot=BOOT)
    assert not d.passed(["push"])
    (reason,) = d.reasons(["push"])
    assert expected in reason
    assert store.get_gate_decision(d.id)["passed"] is False


def test_stale_rollouts_are_rescored_with_the_audited_reward(store, people):
    items = synthetic_items("push", 40, seed=1)
    seed_store(store, items, reward_version="old")
    calls = []

    def score(item):
        calls.append(item["rollout_id"])
        # The "new" reward: the inverse of the stored one.
        return RewardBreakdown(1 - items[item["rollout_id"] - 1]["reward_total"], {"inverse": 1.0})

    report = audit_report(store, ["push"], rewards={"push": TaskScorer("push", "new", score)}, n_boot=BOOT)
    assert report.rescored == {"push": 40} and len(calls) == 40
    assert report.reward_versions == {"push": "new"}
    assert report.stats["push"].rho < -0.5 and not report.passed
    assert store.audit_items("push")[0]["reward_version"] == "old"  # the store is untouched
    assert set(report.stats["push"].components) == {"inverse"}


def test_report_notes_name_rescoring_and_components_against_people(store):
    items = synthetic_items("push", 40, seed=1)
    seed_store(store, items, reward_version="old")

    def score(item):
        stored_total = items[item["rollout_id"] - 1]["reward_total"]
        return RewardBreakdown(stored_total, {"agrees": stored_total, "disagrees": 1 - stored_total})

    report = audit_report(store, ["push"], rewards={"push": TaskScorer("push", "new", score)}, n_boot=BOOT)
    notes = report.notes("push")
    assert ("info", "40 rollouts re-scored with push new (stored scores came from another version)") in notes
    against = [text for level, text in notes if level == "warning" and "runs against people" in text]
    assert len(against) == 1 and against[0].startswith("component disagrees ")
    empty = audit_report(store, ["sql_qa"], rewards=scorers("sql_qa"), n_boot=BOOT)
    assert ("info", "no rollouts for this task") in empty.notes("sql_qa")


def test_unknown_tasks_and_tiny_bootstraps_are_refused(store):
    with pytest.raises(InvalidInput, match="unknown task"):
        audit_report(store, ["tweets"], rewards=scorers("push"))
    with pytest.raises(InvalidInput, match="n_boot"):
        audit_report(store, ["push"], rewards=scorers("push"), n_boot=10)


def test_disagreement_queue_from_the_store(store):
    items = synthetic_items("push", 30, seed=2)
    items[4]["annotations"][0].update(flag=True, comment="texto longo demais, mas nota alta")
    seed_store(store, items)
    report = audit_report(store, ["push"], rewards=scorers("push"), n_boot=BOOT)
    q = report.queue("push", limit=5)
    assert q[0]["rollout_id"] == 5 and q[0]["comments"][0]["comment"].startswith("texto longo")
    assert q[0]["completion"] == "completion 4" and len(q) == 5


def test_a_revision_stored_before_the_new_criteria_gets_their_shipped_values(store, people):
    old = {"version": 1, "defaults": {"min_items": 30, "min_annotators": 2, "min_rho": 0.6, "min_ci_low": 0.3},
           "tasks": {}}
    store.db["gate_thresholds"].insert({"revision": 1, "config": json.dumps(old), "note": "before",
                                        "changed_by": "the-admin", "changed_at": "2026-01-01T00:00:00+00:00"})
    config = store.gate_thresholds()["config"]
    assert config["defaults"] == {**LIMITS, "min_items": 30, "min_rho": 0.6, "min_ci_low": 0.3}
    seed_store(store, synthetic_items("push", 100, seed=1))
    d = gate.compute_decision(store, people["engineer"], ["push"], rewards=scorers("push"), n_boot=BOOT,
                              via="Audit & gate page")
    assert d.passed() and "within-prompt tau" in d.per_task["push"].reason
    row = store.get_gate_decision(d.id)
    assert (row["computed_by"], row["computed_via"]) == ("the-engineer", "Audit & gate page")
    assert gate.GateDecision.from_row(row).computed_via == "Audit & gate page"


def test_only_the_command_line_identity_records_an_operator(store, people):
    seed_store(store, synthetic_items("push", 120, seed=1))
    d = gate.compute_decision(store, SYSTEM, ["push"], rewards=scorers("push"), n_boot=BOOT, operator="ana@box",
                              via="tucano-audit audit (command line)")
    assert store.get_gate_decision(d.id)["computed_by"] == d.computed_by == "ana@box"
    with pytest.raises(InvalidInput, match="operator names who ran the command line"):
        gate.compute_decision(store, people["engineer"], ["push"], rewards=scorers("push"), n_boot=BOOT,
                              operator="someone-else")
