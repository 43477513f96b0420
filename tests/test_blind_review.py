"""Blind review service: pair selection with random sides, judgements, win rates with CI."""

from __future__ import annotations

import random

import pytest
from scipy import stats

from data.store.errors import PermissionDenied
from data.store.roles import SYSTEM, User
from tests.fixtures_users import add_accounts
from train.compare import blind_review

REVIEWER = User(id=11, username="rui", role="reviewer")
OTHER = User(id=12, username="bia", role="reviewer")
ENGINEER = User(id=13, username="eva", role="engineer")


@pytest.fixture(autouse=True)
def _accounts(store):
    add_accounts(store, REVIEWER, OTHER, ENGINEER)


@pytest.fixture
def comparison(store):
    prompts = [{"prompt_id": f"{task}-{i}", "task": task, "messages": [{"role": "user", "content": f"q {task} {i}"}]}
               for task in ("extraction", "push") for i in range(4)]
    cid, _ = store.create_comparison(
        SYSTEM, key="bk", base_model="tiny", sides=[{"label": "run/best", "adapter": "/a"}], eval_path=None,
        eval_sha256="x", gen_params={}, samples=1, tasks=["extraction", "push"], prompts=prompts,
        reward_versions={})
    rows = []
    for p in prompts:
        same = p["prompt_id"] == "push-3"  # one identical pair: never shown
        for side in ("base", "run/best"):
            text = "igual" if same else f"{side} answer to {p['prompt_id']}"
            rows.append({"prompt_id": p["prompt_id"], "side": side, "completion": text, "reward_name": "r",
                         "reward_version": "v", "reward_total": 0.5})
    store.add_compare_results(cid, rows)
    return cid


def test_pairs_hide_names_shuffle_sides_and_balance_tasks(store, comparison):
    rng = random.Random(5)
    seen_left, tasks_order = set(), []
    for _ in range(7):
        pair = blind_review.next_pair(store, REVIEWER, comparison, rng=rng)
        assert pair is not None
        texts = {pair.left_side: pair.left_text, pair.right_side: pair.right_text}
        assert texts["base"].startswith("base answer") and texts["run/best"].startswith("run/best answer")
        seen_left.add(pair.left_side)
        tasks_order.append(pair.task)
        blind_review.record(store, REVIEWER, pair, "left", seconds=1.0)
    assert seen_left == {"base", "run/best"}  # both orders occur
    # Balanced: the next pair always comes from the task with fewer judgements.
    assert sorted(tasks_order[:2]) == ["extraction", "push"]
    assert sorted(tasks_order[2:4]) == ["extraction", "push"]
    assert blind_review.next_pair(store, REVIEWER, comparison, rng=rng) is None  # 7 pairs, identical left out
    assert blind_review.progress(store, REVIEWER, comparison, "run/best") == {
        "pairs": 7, "mine": 7, "identical": 1, "all": 7}
    stored = store.blind_judgements(comparison)
    assert all(j["choice"] == "left" for j in stored)
    assert {j["winner"] for j in stored} == {"base", "tuned"}  # "left" meant different sides
    # Another reviewer still gets pairs.
    assert blind_review.next_pair(store, OTHER, comparison, rng=rng) is not None


def test_only_reviewers_judge(store, comparison):
    with pytest.raises(PermissionDenied):
        blind_review.next_pair(store, ENGINEER, comparison)
    pair = blind_review.next_pair(store, REVIEWER, comparison, rng=random.Random(1))
    with pytest.raises(PermissionDenied):
        blind_review.record(store, ENGINEER, pair, "tie")


def test_win_rates_with_wilson_ci(store, comparison):
    rng = random.Random(9)
    # Reviewer always prefers the tuned side except one tie.
    for i in range(7):
        pair = blind_review.next_pair(store, REVIEWER, comparison, rng=rng)
        choice = "tie" if i == 0 else ("left" if pair.left_side == "run/best" else "right")
        blind_review.record(store, REVIEWER, pair, choice)
    rates = blind_review.win_rates(store, comparison)
    overall = rates["overall"]
    assert (overall.judgements, overall.tuned_wins, overall.base_wins, overall.ties) == (7, 6, 0, 1)
    ci = stats.binomtest(6, 6).proportion_ci(method="wilson")
    assert overall.win_rate == 1.0
    assert (overall.ci_low, overall.ci_high) == pytest.approx((ci.low, ci.high))
    assert overall.win_rate_ties_half == pytest.approx(6.5 / 7)
    assert rates["extraction"].judgements + rates["push"].judgements == 7
    assert 0 <= overall.left_chosen <= 1
    empty = blind_review.win_rate("push", [])
    assert empty.win_rate is None and empty.ci_low is None and empty.judgements == 0
