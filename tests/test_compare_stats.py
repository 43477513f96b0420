"""The comparison statistics against scipy and against hand-computed values on fixed data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from train.compare import stats as cs

# Fixed data: 12 prompts of one task, rewards in [0, 1].
BASE = [0.2, 0.5, 0.4, 0.9, 0.1, 0.3, 0.6, 0.5, 0.2, 0.7, 0.4, 0.35]
TUNED = [0.6, 0.5, 0.7, 0.8, 0.5, 0.6, 0.9, 0.55, 0.45, 0.7, 0.8, 0.3]


def test_task_stats_matches_scipy_on_fixed_data():
    s = cs.task_stats("extraction", BASE, TUNED, n_resamples=2000)
    assert s.n == 12
    assert s.base_mean == pytest.approx(np.mean(BASE))
    assert s.tuned_mean == pytest.approx(np.mean(TUNED))
    assert s.delta == pytest.approx(np.mean(TUNED) - np.mean(BASE))
    assert s.delta_pct == pytest.approx(100 * (np.mean(TUNED) - np.mean(BASE)) / np.mean(BASE))
    assert s.p_greater == pytest.approx(stats.wilcoxon(TUNED, BASE, alternative="greater").pvalue)
    assert s.p_two_sided == pytest.approx(stats.wilcoxon(TUNED, BASE).pvalue)
    # differences: 2 zeros, 2 negative, 8 positive
    assert (s.improved, s.regressed, s.unchanged) == (8, 2, 2)
    expected_ci = stats.bootstrap((np.subtract(TUNED, BASE),), np.mean, n_resamples=2000,
                                  rng=np.random.default_rng(0)).confidence_interval
    assert (s.ci_low, s.ci_high) == pytest.approx((expected_ci.low, expected_ci.high))
    assert s.ci_low < s.delta < s.ci_high
    assert s.note == ""


def test_rank_biserial_by_hand():
    # d = [3, -1, 2, 0, 4]: zero dropped; |d| ranks 3,1,2,4 -> T+ = 3+2+4 = 9, T- = 1
    base = [0, 1, 0, 5, 0]
    tuned = [3, 0, 2, 5, 4]
    assert cs.rank_biserial(base, tuned) == pytest.approx((9 - 1) / 10)
    # Equivalent closed form without zeros: 4 T+ / (n (n + 1)) - 1 with n = 4
    assert cs.rank_biserial(base, tuned) == pytest.approx(4 * 9 / (4 * 5) - 1)
    assert cs.rank_biserial([1, 1], [1, 1]) is None


def test_holm_by_hand():
    adjusted = cs.holm({"extraction": 0.01, "sql_qa": 0.04, "insights": 0.03, "push": None})
    # family of three: 0.01*3 = 0.03; 0.03*2 = 0.06; max(0.06, 0.04*1) = 0.06
    assert adjusted.pop("push") is None
    assert adjusted == pytest.approx({"extraction": 0.03, "insights": 0.06, "sql_qa": 0.06})
    assert cs.holm({"a": 0.5, "b": 0.9}) == {"a": 1.0, "b": 1.0}


def test_compare_applies_holm_and_pools_overall():
    rng = np.random.default_rng(7)
    pairs = []
    for task, shift in (("extraction", 0.3), ("sql_qa", -0.05), ("insights", 0.2), ("push", 0.0)):
        base = rng.uniform(0, 0.6, size=16)
        tuned = np.clip(base + shift + rng.normal(0, 0.05, size=16), 0, 1)
        pairs += [{"task": task, "base": b, "tuned": t} for b, t in zip(base, tuned, strict=True)]
    res = cs.compare(pairs, tasks=("extraction", "sql_qa", "insights", "push"), n_resamples=500)
    raw = {t: s.p_greater for t, s in res.tasks.items()}
    assert {t: s.p_holm for t, s in res.tasks.items()} == pytest.approx(cs.holm(raw))
    assert res.tasks["extraction"].significant and res.tasks["insights"].significant
    assert not res.tasks["sql_qa"].significant
    assert res.overall.n == 64
    all_b = [p["base"] for p in pairs]
    all_t = [p["tuned"] for p in pairs]
    assert res.overall.p_greater == pytest.approx(stats.wilcoxon(all_t, all_b, alternative="greater").pvalue)
    assert res.to_dict()["tasks"]["push"]["task"] == "push"


def test_identical_outputs_say_wilcoxon_is_undefined():
    s = cs.task_stats("push", [0.5, 0.7, 0.2], [0.5, 0.7, 0.2])
    assert s.p_greater is None and s.p_two_sided is None and s.rank_biserial is None
    assert "undefined" in s.note and "zero" in s.note
    assert (s.ci_low, s.ci_high) == (0.0, 0.0)
    assert s.delta == 0 and s.delta_pct == 0
    res = cs.compare([{"task": "push", "base": 0.5, "tuned": 0.5}] * 4, tasks=("push", "sql_qa"))
    assert res.tasks["push"].p_holm is None and not res.tasks["push"].significant
    assert res.tasks["sql_qa"].n == 0 and res.tasks["sql_qa"].note == "no paired prompts"


def test_base_mean_zero_gives_no_percentage_and_bad_input_raises():
    s = cs.task_stats("sql_qa", [0, 0, 0], [0.5, 0.2, 0.1])
    assert s.delta_pct is None and s.delta == pytest.approx(0.8 / 3)
    with pytest.raises(ValueError, match="3 base rewards but 2"):
        cs.task_stats("sql_qa", [0, 0, 0], [0.5, 0.2])
    with pytest.raises(ValueError, match="finite"):
        cs.task_stats("sql_qa", [math.nan], [0.5])
    with pytest.raises(ValueError, match="outside"):
        cs.compare([{"task": "poetry", "base": 0, "tuned": 1}], tasks=("push",))


def test_summarise_seeds_mean_and_spread():
    rng = np.random.default_rng(3)
    base = rng.uniform(0, 1, 10)
    results = []
    for label, shift in (("seed-42", 0.1), ("seed-123", 0.2), ("seed-456", 0.3)):
        pairs = [{"task": "push", "base": b, "tuned": min(1.0, b + shift)} for b in base]
        results.append(cs.compare(pairs, label=label, n_resamples=200))
    summary = cs.summarise_seeds(results)
    push = summary["push"]
    deltas = [r.tasks["push"].delta for r in results]
    assert push.n_seeds == 3
    assert push.delta_mean == pytest.approx(np.mean(deltas))
    assert push.delta_sd == pytest.approx(np.std(deltas, ddof=1))
    assert (push.delta_min, push.delta_max) == pytest.approx((min(deltas), max(deltas)))
    assert set(push.per_seed) == {"seed-42", "seed-123", "seed-456"}
    assert summary["overall"].n_seeds == 3
    assert cs.summarise_seeds([results[0]])["push"].delta_sd is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=30))
def test_rank_biserial_bounds_and_antisymmetry(pairs):
    base = [p[0] for p in pairs]
    tuned = [p[1] for p in pairs]
    r = cs.rank_biserial(base, tuned)
    if all(b == t for b, t in pairs):
        assert r is None
    else:
        assert -1 - 1e-12 <= r <= 1 + 1e-12
        assert cs.rank_biserial(tuned, base) == pytest.approx(-r)


def test_too_few_differences_are_flagged_exactly_where_p_cannot_reach_005():
    four = cs.task_stats("push", [0, 0, 0, 0, 0.5], [1, 1, 1, 1, 0.5])
    five = cs.task_stats("push", [0] * 5, [1] * 5)
    assert four.p_greater == pytest.approx(1 / 16) and "only 4 non-zero differences" in four.note
    assert five.p_greater == pytest.approx(1 / 32) and five.note == ""
    assert "only 1 non-zero difference:" in cs.task_stats("push", [0, 0.5], [1, 0.5]).note
