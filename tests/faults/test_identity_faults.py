"""Identity: a User value is only a claim. A demoted or disabled account holding an old
User value is refused by every role-restricted store method and service; the command
line's SYSTEM identity is an object, not a name; a launch cannot rely on a gate decision
that does not exist."""

from __future__ import annotations

import dataclasses

import pytest

from data.store.errors import InvalidInput, PermissionDenied
from data.store.roles import SYSTEM, User
from tests.fixtures_users import record_decision, seed_rollouts
from train.grpo.recipe import load_recipe

PW = "pw-long-enough-1"


@pytest.fixture
def world(store, tmp_path):
    """Accounts (each User kept as a browser session would keep it), then demotions and
    disablings made by another admin; a comparison with one pair to review."""
    users = {name: store.add_user(name, role, PW) for name, role in
             [("ada", "admin"), ("bea", "admin"), ("eli", "engineer"), ("rui", "reviewer"), ("ana", "annotator")]}
    ids = seed_rollouts(store, per_task=1)
    cid, _ = store.create_comparison(
        SYSTEM, key="k", base_model="b", sides=[{"label": "t", "adapter": "/a"}], eval_path=None, eval_sha256="x",
        gen_params={}, samples=1, tasks=["push"], reward_versions={},
        prompts=[{"prompt_id": "push-0", "task": "push", "messages": [{"role": "user", "content": "q"}]}])
    store.add_compare_results(cid, [{"prompt_id": "push-0", "side": side, "completion": side, "reward_name": "push",
                                     "reward_version": "v", "reward_total": 0.5} for side in ("base", "t")])
    bea = users["bea"]
    store.set_role("ada", "annotator", actor=bea)
    for name in ("eli", "rui", "ana"):
        store.disable_user(name, actor=bea)
    return {"users": users, "rollouts": ids, "comparison": cid, "tmp": tmp_path}


def actions(store, w):
    """(what, call) for every role-restricted action, each made with a stale User value."""
    from audit_app.audit import gate
    from audit_app.jobs import launch
    from train.compare import blind_review

    ada, eli, rui, ana = (w["users"][n] for n in ("ada", "eli", "rui", "ana"))
    cid, recipe = w["comparison"], load_recipe("tiny")
    thresholds = store.gate_thresholds()["config"]
    decision = dict(tasks=["push"], passed=True, reward_versions={"push": "v"}, reward_names={"push": "push"},
                    thresholds={}, thresholds_revision=0, per_task={"push": {"passed": True, "reason": "ok"}},
                    annotations_hash="h", annotation_counts={}, n_boot=0, seed=0)
    return [
        ("demoted admin sets gate thresholds", lambda: store.set_gate_thresholds(ada, thresholds)),
        ("demoted admin changes settings", lambda: store.update_settings({"lease_minutes": 5}, actor=ada)),
        ("demoted admin changes a role", lambda: store.set_role("ana", "admin", actor=ada)),
        ("demoted admin adds a user", lambda: store.add_user("eve", "admin", PW, actor=ada)),
        ("disabled engineer records a gate decision", lambda: store.record_gate_decision(eli, **decision)),
        ("disabled engineer computes a gate decision", lambda: gate.compute_decision(store, eli, ["push"], n_boot=200)),
        ("disabled engineer creates a comparison", lambda: store.create_comparison(
            eli, key="k2", base_model="b", sides=[{"label": "t"}], eval_path=None, eval_sha256="x", gen_params={},
            samples=1, tasks=["push"], reward_versions={}, prompts=[{"prompt_id": "p", "task": "push",
                                                                     "messages": []}])),
        ("disabled engineer writes a review note", lambda: store.add_review_note(eli, cid, "push-0", "ok")),
        ("disabled engineer launches training", lambda: store.create_runs(
            eli, recipe=recipe.to_dict(), seeds=[1], reward_versions={}, runs_root=w["tmp"],
            gate_decision_id=record_decision(store))),
        ("disabled engineer passes the launch check", lambda: _raise_unless_allowed(
            launch.check_launch(store, eli, recipe, skip_gate=False))),
        ("disabled engineer starts a job", lambda: store.create_job("sample", ["sample"], actor=eli)),
        ("disabled engineer exports", lambda: store.export(w["tmp"] / "x.jsonl", actor=eli)),
        ("disabled engineer imports", lambda: store.import_rollouts(w["tmp"] / "x.jsonl", actor=eli)),
        ("disabled reviewer is served a blind pair", lambda: blind_review.next_pair(store, rui, cid)),
        ("disabled reviewer judges a pair", lambda: store.record_blind_judgement(
            rui, cid, prompt_id="push-0", tuned_side="t", sample_index=0, left_side="base", choice="left")),
        ("disabled reviewer writes a review note", lambda: store.add_review_note(rui, cid, "push-0", "ok")),
        ("disabled annotator scores", lambda: store.record_annotation(ana, w["rollouts"][0], 3)),
        ("disabled annotator asks for an item", lambda: store.next_item(ana)),
    ]


def _raise_unless_allowed(check):
    if not check.allowed:
        raise PermissionDenied("; ".join(check.reasons))
    return check


def test_stale_user_values_are_refused_everywhere(store, world, ledger):
    refused = []
    for what, call in actions(store, world):
        with pytest.raises(PermissionDenied) as info:
            call()
        assert "disabled" in str(info.value) or "needs role" in str(info.value), (what, info.value)
        refused.append(what)
    ledger.record("stale User values (demoted admin, disabled accounts)", runs=len(refused))
    assert store.gate_threshold_history() == [] and store.gate_decisions()[0]["computed_by"] == "system"
    assert store.list_runs() == [] and store.blind_judgements(world["comparison"]) == []


def test_system_is_an_identity_not_a_name(store, tmp_path, ledger):
    recipe = load_recipe("tiny")
    for name in ("system", "System", " SYSTEM "):
        with pytest.raises(InvalidInput, match="reserved"):
            store.add_user(name, "admin", PW)
    # An account named "system" from before the name was reserved gains nothing from it.
    store.db["users"].insert({"username": "system", "role": "engineer", "password_hash": None,
                              "email": "sys@example.org", "active": 1, "created_at": "t", "created_by": "old"})
    named = store.get_user("system")
    forged = User(id=0, username="system", role="admin")
    copied = dataclasses.replace(SYSTEM)
    from audit_app.jobs import launch

    with pytest.raises(PermissionDenied, match="command line only"):
        store.create_runs(named, recipe=recipe.to_dict(), seeds=[1], reward_versions={}, runs_root=tmp_path,
                          gate_skipped=True)
    assert "skipping the audit gate is allowed from the command line only" in \
        launch.check_launch(store, named, recipe, skip_gate=True).reasons
    for impostor in (forged, copied):
        with pytest.raises(PermissionDenied, match="does not exist"):
            store.create_runs(impostor, recipe=recipe.to_dict(), seeds=[1], reward_versions={}, runs_root=tmp_path,
                              gate_skipped=True)
        with pytest.raises(PermissionDenied):
            store.set_gate_thresholds(impostor, store.gate_thresholds()["config"])
    (run_id,) = store.create_runs(SYSTEM, recipe=recipe.to_dict(), seeds=[1], reward_versions={},
                                  runs_root=tmp_path, gate_skipped=True)
    assert store.get_run(run_id)["gate_skipped"]
    ledger.record("account or copy named 'system'", runs=5)


def test_a_launch_needs_a_real_passing_decision(store, tmp_path, ledger):
    eng = store.add_user("eli", "engineer", PW)
    recipe = load_recipe("tiny").to_dict()
    with pytest.raises(InvalidInput, match="gate decision 999 does not exist"):
        store.create_runs(eng, recipe=recipe, seeds=[1], reward_versions={}, runs_root=tmp_path, gate_decision_id=999)
    failing = record_decision(store, tasks=["push"])
    with pytest.raises(InvalidInput, match=f"gate decision {failing} does not pass extraction, sql_qa, insights"):
        store.create_runs(eng, recipe=recipe, seeds=[1], reward_versions={}, runs_root=tmp_path,
                          gate_decision_id=failing)
    assert store.list_runs() == []
    ledger.record("launch with a missing or insufficient gate decision", runs=2)
