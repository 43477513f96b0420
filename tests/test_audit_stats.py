"""The audit statistics against scipy / krippendorff computed the slow, obvious way."""

from __future__ import annotations

import json
import math

import krippendorff
import numpy as np
import pytest
from scipy import stats as sps

from audit_app.audit import bootstrap as B
from audit_app.audit import stats as A
from tests.test_audit_support import synthetic_items


def _clusters(rng, n, p):
    cl = rng.integers(0, p, n)
    return cl, len(np.unique(cl))


@pytest.mark.parametrize("case", range(6))
def test_bootstrap_resample_equals_spearman_of_expanded_rows(case):
    rng = np.random.default_rng(case)
    n = int(rng.integers(8, 80))
    cl, p = _clusters(rng, n, max(3, n // 4))
    x = np.round(rng.random(n), 1)             # ties on purpose
    y = rng.integers(1, 6, n).astype(float)
    boot = B.bootstrap_spearman(x, y, cl, n_boot=7, seed=case)
    counts = B.cluster_counts(np.random.default_rng(case), p, 7)
    _, idx = np.unique(cl, return_inverse=True)
    for b in range(7):
        rows = np.repeat(np.arange(n), counts[b][idx])
        expected = sps.spearmanr(x[rows], y[rows]).statistic
        if np.isnan(expected):
            assert np.isnan(boot[b])
        else:
            assert boot[b] == pytest.approx(expected, abs=1e-5)


def test_bootstrap_with_two_continuous_variables():
    # More distinct values on both sides than the one-hot path takes: the general path.
    rng = np.random.default_rng(11)
    n = 150
    cl, p = _clusters(rng, n, 40)
    x = rng.random(n)
    y = x + rng.normal(0, 0.5, n)
    boot = B.bootstrap_spearman(x, y, cl, n_boot=5, seed=2)
    counts = B.cluster_counts(np.random.default_rng(2), p, 5)
    _, idx = np.unique(cl, return_inverse=True)
    for b in range(5):
        rows = np.repeat(np.arange(n), counts[b][idx])
        assert boot[b] == pytest.approx(sps.spearmanr(x[rows], y[rows]).statistic, abs=1e-5)


def test_bootstrap_chunks_do_not_change_results():
    rng = np.random.default_rng(3)
    x, y, cl = rng.random(50), rng.random(50), rng.integers(0, 12, 50)
    a = B.bootstrap_spearman(x, y, cl, n_boot=600, seed=9)
    b = B.bootstrap_spearman(x, y, cl, n_boot=600, seed=9)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 600 and np.isfinite(a).all()


def test_cluster_bootstrap_is_wider_than_pretending_rollouts_independent():
    # Each prompt's completions are near copies: 40 prompts x 6 completions is not 240 samples.
    rng = np.random.default_rng(0)
    q = np.repeat(rng.random(40), 6)
    x = q + rng.normal(0, 0.2, 240)
    y = q + rng.normal(0, 0.2, 240)
    prompts = np.repeat(np.arange(40), 6)
    lo_c, hi_c = B.percentile_ci(B.bootstrap_spearman(x, y, prompts, n_boot=1000, seed=1))
    lo_i, hi_i = B.percentile_ci(B.bootstrap_spearman(x, y, np.arange(240), n_boot=1000, seed=1))
    assert hi_c - lo_c > 1.3 * (hi_i - lo_i)


def test_task_stats_match_scipy():
    items = synthetic_items("push", 120, seed=1)
    st = A.task_stats(items, "push", n_boot=500, seed=0)
    reward = np.array([it["reward_total"] for it in items])
    human = np.array([A.human_score(it) for it in items])
    ref = sps.spearmanr(reward, human)
    assert st.rho == pytest.approx(ref.statistic)
    assert st.p_value == pytest.approx(ref.pvalue)
    assert st.tau_b == pytest.approx(sps.kendalltau(reward, human).statistic)
    assert st.ci_low < st.rho < st.ci_high
    assert st.n_items == 120 and st.n_prompts == 30 and st.annotators == ["ana", "bia", "caio"]
    # The reward's "good" component follows quality, "noise" does not.
    assert st.components["good"] > 0.6
    assert abs(st.components["noise"]) < 0.3
    assert st.within_prompt_tau is not None and st.within_prompt_tau > 0.3
    assert st.n_prompt_groups + st.n_prompt_groups_tied == 30
    json.dumps(st.to_dict(), allow_nan=False)  # stored as JSON
    assert A.TaskStats.from_dict(st.to_dict()).rho == st.rho


def test_same_seed_same_interval_and_more_data_narrows_it():
    small = A.task_stats(synthetic_items("sql_qa", 40, seed=2), "sql_qa", n_boot=800, seed=5)
    again = A.task_stats(synthetic_items("sql_qa", 40, seed=2), "sql_qa", n_boot=800, seed=5)
    big = A.task_stats(synthetic_items("sql_qa", 400, seed=2), "sql_qa", n_boot=800, seed=5)
    assert (small.ci_low, small.ci_high) == (again.ci_low, again.ci_high)
    assert big.ci_high - big.ci_low < small.ci_high - small.ci_low


def test_ordinal_alpha_is_the_package_value_and_bootstrap_matches_it():
    items = synthetic_items("insights", 200, double_share=0.5, seed=4)
    counts = A.value_counts(items)
    assert len(counts) > 50
    # The same figure from the package's reliability-data form (annotators x units).
    people = ["ana", "bia", "caio"]
    doubles = [it for it in items if len(A.first_round_scores(it)) >= 2]
    data = np.full((3, len(doubles)), np.nan)
    for j, it in enumerate(doubles):
        for a in it["annotations"]:
            if a["round"] == 0:
                data[people.index(a["annotator"]), j] = a["score"]
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal",
                                  value_domain=[1, 2, 3, 4, 5])
    assert A.ordinal_alpha(counts) == pytest.approx(expected)
    boot = B.bootstrap_alpha(counts, n_boot=5, seed=11)
    w = B.cluster_counts(np.random.default_rng(11), len(counts), 5)
    for b in range(5):
        resampled = np.repeat(counts, w[b], axis=0)
        assert boot[b] == pytest.approx(krippendorff.alpha(value_counts=resampled, value_domain=[1, 2, 3, 4, 5],
                                                           level_of_measurement="ordinal"))
    st = A.task_stats(items, "insights", n_boot=400)
    assert st.alpha == pytest.approx(expected)
    assert st.alpha_ci_low < st.alpha < st.alpha_ci_high


def test_within_prompt_tau_matches_scipy_per_group():
    rng = np.random.default_rng(7)
    n = 90
    cl = rng.integers(0, 25, n)
    x, y = np.round(rng.random(n), 1), rng.integers(1, 6, n).astype(float)
    taus, tied, groups = A.within_prompt_taus(x, y, cl)
    ref, undefined, eligible = [], 0, 0
    for g in np.unique(cl):
        m = cl == g
        if m.sum() >= 2:  # a prompt with two scored completions already has an order
            eligible += 1
            t = sps.kendalltau(x[m], y[m]).statistic
            if np.isnan(t):
                undefined += 1
            else:
                ref.append(t)
    np.testing.assert_allclose(sorted(taus), sorted(ref))
    assert tied == undefined and groups == eligible


def test_self_consistency_per_annotator():
    items = [
        {"annotations": [{"annotator": "ana", "round": 0, "score": 4}, {"annotator": "ana", "round": 1, "score": 4}]},
        {"annotations": [{"annotator": "ana", "round": 0, "score": 2}, {"annotator": "ana", "round": 1, "score": 5}]},
        {"annotations": [{"annotator": "bia", "round": 0, "score": 3}, {"annotator": "bia", "round": 1, "score": 2}]},
        {"annotations": [{"annotator": "bia", "round": 0, "score": 3}, {"annotator": "bia", "round": 1, "score": None}]},
    ]
    got = {r["annotator"]: r for r in A.self_consistency(items)}
    assert got["ana"] == {"annotator": "ana", "n": 2, "exact": 0.5, "within_one": 0.5, "mean_abs_diff": 1.5}
    assert got["bia"]["n"] == 1 and got["bia"]["exact"] == 0.0 and got["bia"]["within_one"] == 1.0


def test_repeat_scores_do_not_enter_the_human_mean():
    item = {"annotations": [{"annotator": "ana", "round": 0, "score": 2}, {"annotator": "ana", "round": 1, "score": 5},
                            {"annotator": "bia", "round": 0, "score": 4}, {"annotator": "caio", "round": 0,
                                                                             "score": None}]}
    assert A.human_score(item) == 3.0


def test_ties_share_and_warning():
    items = synthetic_items("extraction", 60, seed=3)
    for it in items:  # a reward with two values against a 1-5 scale
        it["reward_total"] = 1.0 if it["reward_total"] > 0.5 else 0.0
    st = A.task_stats(items, "extraction", n_boot=200)
    assert st.reward_ties == pytest.approx(A.tie_share(np.array([it["reward_total"] for it in items])))
    assert st.reward_ties > 0.45
    assert st.ties_warning and "2 distinct values" in st.ties_warning
    assert A.task_stats(synthetic_items("extraction", 60, seed=3), "extraction", n_boot=200).ties_warning is None


def test_bad_input_is_explained():
    assert A.task_stats([], "push", n_rollouts=0).problems == ["no rollouts for this task"]
    st = A.task_stats([], "push", n_rollouts=12)
    assert st.rho is None and "0 of 12 rollouts scored" in st.problems[0]

    one = synthetic_items("push", 30, annotators=("ana",), double_share=0, seed=1)
    st = A.task_stats(one, "push", n_boot=200)
    assert st.rho is not None and st.alpha is None
    assert any("only 1 annotator (ana)" in p for p in st.problems)

    flat = synthetic_items("push", 30, seed=1)
    for it in flat:
        for a in it["annotations"]:
            a["score"] = 3
    st = A.task_stats(flat, "push", n_boot=200)
    assert st.rho is None and st.ci_low is None and st.alpha is None
    assert any("every human score is 3" in p for p in st.problems)

    nan = synthetic_items("push", 30, seed=1)
    for it in nan[:4]:
        it["reward_total"] = float("nan")
    nan[4]["reward_total"] = None
    st = A.task_stats(nan, "push", n_boot=200)
    assert st.n_nan_rewards == 5 and st.n_items == 25
    assert any("5 scored item(s) have no reward total" in p for p in st.problems)
    json.dumps(st.to_dict(), allow_nan=False)


def test_disagreement_queue_flagged_first_then_largest_rank_gap():
    items = synthetic_items("push", 40, seed=6)
    items[5]["reward_total"], items[5]["annotations"] = 1.0, [
        {"annotator": "ana", "round": 0, "score": 1, "flag": False, "comment": None}]
    items[9]["annotations"][0].update(flag=True, comment="nota 4,5 lida como 4")
    queue = A.disagreement_queue(items, limit=10)
    assert len(queue) == 10
    assert queue[0]["rollout_id"] == 10 and queue[0]["flags"] == 1
    assert queue[0]["comments"] == [{"annotator": items[9]["annotations"][0]["annotator"],
                                     "comment": "nota 4,5 lida como 4"}]
    assert queue[1]["rollout_id"] == 6 and queue[1]["direction"] == "reward rates it above people"
    gaps = [abs(r["rank_diff"]) for r in queue[1:]]
    assert gaps == sorted(gaps, reverse=True)
    assert set(queue[1]["reward_components"]) == {"good", "noise"}
    assert A.disagreement_queue([]) == []


def test_audit_covers_every_task_with_its_own_seed_stream():
    data = {t: synthetic_items(t, 50, seed=1) for t in ("extraction", "push")}
    res = A.audit(data, rollout_counts={"extraction": 60, "push": 50}, n_boot=300)
    assert set(res) == {"extraction", "push"} and res["extraction"].n_rollouts == 60
    # Identical data, different task -> different resamples -> (almost surely) different bounds.
    assert res["extraction"].rho == res["push"].rho
    assert not math.isclose(res["extraction"].ci_low, res["push"].ci_low)
