"""The gate's former holes, each shown by a seeded simulation: a reward that only knows which
prompts are hard, one or two prompts, agreement mistaken for a ceiling, no overlap between
annotators, and items without a prompt id."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from audit_app.audit import stats as A
from audit_app.audit.agreement import mean_score_ceiling
from audit_app.audit.verdict import evaluate
from data.store.errors import InvalidInput
from data.store.thresholds import load_default_thresholds
from tests.test_audit_support import synthetic_items

LIMITS = load_default_thresholds()["defaults"]
PEOPLE = ("ana", "bia", "caio")


def scored(quality, reward, prompts, *, noise=0.7, share=0.3, seed=0, k=None):
    """Items whose people score `quality` on 1-5 (noise sd on that scale); `k` people per
    item, or one and a second for a `share` of items."""
    rng = np.random.default_rng(seed)
    z = sps.rankdata(quality) / (len(quality) + 1)
    items = []
    for i, (q, r, p) in enumerate(zip(z, reward, prompts, strict=True)):
        n = k if k else 1 + (rng.random() < share)
        anns = [{"annotator": PEOPLE[(i + j) % 3], "round": 0,
                 "score": int(np.clip(round(1 + 4 * q + rng.normal(0, noise)), 1, 5))} for j in range(n)]
        items.append({"rollout_id": i + 1, "prompt_id": p, "task": "insights", "reward_total": float(r),
                      "annotations": anns})
    return items


def difficulty_world(seed, n_prompts=40, per_prompt=4):
    """Prompts differ a lot in difficulty; within a prompt, completions differ in quality."""
    rng = np.random.default_rng(seed)
    difficulty = np.repeat(rng.normal(0, 1, n_prompts), per_prompt)
    own = rng.normal(0, 0.8, n_prompts * per_prompt)
    prompts = [f"insights-{i // per_prompt}" for i in range(n_prompts * per_prompt)]
    return difficulty, difficulty + own, prompts, rng


def test_a_reward_that_only_tracks_prompt_difficulty_fails():
    passed_pooled = 0
    for seed in range(20):
        difficulty, quality, prompts, rng = difficulty_world(seed)
        # The reward knows how hard each prompt is (e.g. rewards short inputs), nothing about the answer.
        only_difficulty = difficulty + rng.normal(0, 0.05, len(difficulty))
        st = A.task_stats(scored(quality, only_difficulty, prompts, seed=seed), "insights", n_boot=400, seed=seed)
        passed_pooled += st.rho >= LIMITS["min_rho"] and st.ci_low > LIMITS["min_ci_low"]
        assert abs(st.within_prompt_tau) < 0.2
        v = evaluate(st, LIMITS)
        assert not v.passed and "within-prompt tau" in v.reason, v.reason
        # The reward that also knows the answer passes on the same prompts and people.
        good = A.task_stats(scored(quality, quality + rng.normal(0, 0.3, len(quality)), prompts, seed=seed),
                            "insights", n_boot=400, seed=seed)
        assert evaluate(good, LIMITS).passed, evaluate(good, LIMITS).reason
    assert passed_pooled >= 15  # pooled rho alone would have let it through


@pytest.mark.parametrize("n_prompts", [1, 2, 3])
def test_one_to_few_prompts_give_no_interval_and_fail_with_the_reason(n_prompts):
    rng = np.random.default_rng(n_prompts)
    n = 120
    quality = rng.random(n)
    prompts = [f"push-{i % n_prompts}" for i in range(n)]
    st = A.task_stats(scored(quality, quality + rng.normal(0, 0.1, n), prompts, share=0.5), "push", n_boot=400)
    assert st.rho > 0.8 and st.ci_low is None and st.ci_high is None and st.within_ci_low is None
    v = evaluate(st, LIMITS)
    assert not v.passed
    word = "prompt" if n_prompts == 1 else "prompts"
    assert f"no 95% interval for rho: {n_prompts} {word}, at least 5 are needed to resample prompts" in v.reason
    assert f"{n_prompts} {word} < 10 needed" in v.reason
    assert any("too few to resample" in p for p in st.problems)


def test_between_five_and_min_prompts_the_interval_exists_but_the_gate_still_asks_for_more():
    items = synthetic_items("push", 120, n_per_prompt=20, seed=3)  # 6 prompts
    st = A.task_stats(items, "push", n_boot=400)
    assert st.n_prompts == 6 and st.ci_low is not None
    assert "6 prompts < 10 needed" in evaluate(st, LIMITS).reason


def test_items_without_a_prompt_id_are_refused_not_pooled_as_none():
    items = synthetic_items("push", 40, seed=1)
    items[7]["prompt_id"] = None
    with pytest.raises(ValueError, match=r"rollout 8\) has no prompt_id"):
        A.task_stats(items, "push", n_boot=200)


def test_the_store_refuses_a_rollout_without_a_prompt_id(store):
    store.add_prompts([{"prompt_id": "push-1", "task": "push", "prompt": [{"role": "user", "content": "?"}]}])
    for bad in (None, "", "  "):
        with pytest.raises(InvalidInput, match="prompt_id is missing or empty"):
            store.add_rollouts([{"prompt_id": bad, "model_id": "m", "completion": "Oi!"}])
    with pytest.raises(InvalidInput, match="prompt_id is missing or empty"):
        store.add_rollouts([{"model_id": "m", "completion": "Oi!"}])
    assert store.count_rollouts() == 0
    assert store.conn.execute("SELECT count(*) FROM rollouts WHERE prompt_id = 'None'").fetchone()[0] == 0


@pytest.mark.parametrize("noise", [0.5, 1.0, 1.5])
@pytest.mark.parametrize(("k", "share"), [(None, 0.2), (2, 0), (3, 0)])
def test_the_ceiling_is_what_a_perfect_reward_reaches(noise, k, share):
    """A perfect reward (the quality people judge) against the mean of k noisy scores:
    its rho matches sqrt(k a / (1 + (k - 1) a)), and alpha alone is no ceiling."""
    rows = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        quality = rng.random(600)
        prompts = [f"push-{i // 4}" for i in range(600)]
        st = A.task_stats(scored(quality, quality, prompts, noise=noise, share=share, k=k, seed=seed), "push",
                          n_boot=200)
        rows.append((st.rho, st.ceiling, st.alpha, st.scores_per_item))
    rho, ceiling, alpha, k_mean = np.mean(rows, axis=0)
    assert ceiling == pytest.approx(mean_score_ceiling(alpha, k_mean), abs=0.01)
    assert abs(rho - ceiling) < 0.03
    assert rho > alpha + 0.05  # the correct reward "beats" alpha: alpha is agreement, not a ceiling


def test_ceiling_formula_edges():
    assert mean_score_ceiling(0.64, 1) == pytest.approx(0.8)
    assert mean_score_ceiling(0.5, 3) == pytest.approx((1.5 / 2) ** 0.5)
    assert mean_score_ceiling(-0.1, 2) == 0.0
    assert mean_score_ceiling(None, 2) is None and mean_score_ceiling(0.5, None) is None


def test_two_annotators_who_never_scored_the_same_item_fail():
    items = synthetic_items("push", 120, double_share=0, annotators=("ana", "bia"), seed=2)
    st = A.task_stats(items, "push", n_boot=300)
    assert st.n_annotators == 2 and st.alpha is None and st.ceiling is None
    v = evaluate(st, LIMITS)
    assert not v.passed and "only 0 items scored by two or more people, 10 needed" in v.reason
    some = A.task_stats(synthetic_items("push", 120, double_share=0.05, seed=2), "push", n_boot=300)
    assert 0 < some.n_alpha_items < 10
    assert f"only {some.n_alpha_items} item" in evaluate(some, LIMITS).reason
