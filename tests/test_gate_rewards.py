"""The gate with the real reward registry: decisions name today's reward versions, a version
change voids them, and rollouts scored by another version are re-scored before the audit."""

from __future__ import annotations

import pytest

from audit_app.audit import gate
from audit_app.audit.report import audit_report
from data.store.roles import SYSTEM
from rewards import registry, versions
from rewards.push import make_push_reward
from tests.test_audit_support import add_user

PUSHES = [
    "Seu carrinho sente sua falta! 🛒 Volte hoje e ganhe 10% de desconto.",
    "Prezado cliente, informamos que há ofertas disponíveis. Atenciosamente, equipe.",
    "Confira nossas ofertas",
    "Frete grátis só até meia-noite: aquele tênis que você olhou ainda está aqui? 👟",
    "Olá! " + "Temos muitas novidades incríveis esperando por você na nossa loja, " * 4,
    "Chegou a coleção de inverno 🧣 com peças a partir de R$ 49,90. Bora ver?",
]


@pytest.fixture
def push_store(store):
    """17 push prompts x 6 completions, scored on insert by today's push reward, and two people
    who score like the reward (so the gate passes); a quarter of the items are scored by both."""
    store.add_prompts([{"prompt_id": f"push-{p}", "task": "push", "split": "train", "topic": "reengajamento",
                        "prompt": [{"role": "user", "content": f"Escreva um push de até 120 caracteres ({p})."}]}
                       for p in range(17)])
    ids = store.add_rollouts([{"prompt_id": f"push-{p}", "model_id": "m", "sample_index": i,
                               "completion": text + ("" if p == 0 else f" #{p}")}
                              for p in range(17) for i, text in enumerate(PUSHES)])
    ana, bia = add_user(store, "ana", "annotator"), add_user(store, "bia", "annotator")
    for n, rid in enumerate(ids):
        total = store.get_rollout(rid)["reward_total"]
        score = max(1, min(5, round(1 + 4 * total)))
        store.record_annotation(ana if n % 2 else bia, rid, score)
        if n % 4 == 1:
            store.record_annotation(bia if n % 2 else ana, rid, max(1, min(5, score - (n % 8 == 1))))
    return store


def test_decision_names_current_versions_and_is_current(push_store):
    d = gate.compute_decision(push_store, SYSTEM, ["push"], n_boot=300)
    assert d.passed(["push"]), d.reasons()
    assert d.reward_versions == {"push": versions.current_versions()["push"]}
    assert d.report.rescored == {"push": 0}  # stored with today's version: read as stored
    cur = gate.current_decision(push_store, ["push"])
    assert cur is not None and cur.id == d.id and cur.passed(["push"])
    # A decision for one task does not vouch for the others.
    assert gate.current_decision(push_store) is None


def test_decisions_for_other_reward_versions_are_not_current(push_store):
    first = gate.compute_decision(push_store, SYSTEM, ["push"], n_boot=300)
    longer = make_push_reward(max_chars=60)
    assert longer.version != registry.get_reward("push").version
    other = gate.compute_decision(push_store, SYSTEM, ["push"], rewards={"push": longer}, n_boot=300)
    assert other.reward_versions == {"push": longer.version} and other.report.rescored == {"push": 102}
    assert gate.current_decision(push_store, ["push"]).id == first.id


def test_a_reward_version_change_voids_the_decision(push_store, monkeypatch):
    gate.compute_decision(push_store, SYSTEM, ["push"], n_boot=300)
    edited = {**versions.current_versions(), "push": "0123456789abcdef"}  # as after editing rewards/push.py
    monkeypatch.setattr(versions, "current_versions", lambda: edited)
    assert gate.current_decision(push_store, ["push"]) is None


def test_stale_rollouts_are_rescored_with_todays_reward(push_store):
    rid = push_store.add_rollouts([{"prompt_id": "push-0", "model_id": "old", "completion": PUSHES[0],
                                    "reward_name": "push", "reward_total": 0.0, "reward_version": "old-v"}])[0]
    push_store.record_annotation(push_store.get_user("ana"), rid, 5)
    report = audit_report(push_store, ["push"], n_boot=300)
    assert report.rescored == {"push": 1}
    item = next(it for it in report.items["push"] if it["rollout_id"] == rid)
    expected = registry.get_reward("push").score(PUSHES[0], max_chars=120)
    assert item["reward_total"] == pytest.approx(expected.total)
    assert item["reward_components"] == expected.components
