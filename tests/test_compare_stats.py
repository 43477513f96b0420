"""The comparison statistics against scipy and against hand-computed values on fixed data."""

from __future__ import annotations

import itertools
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
    # 10 non-zero differences (2 zeros): scipy enumerates every sign assignment here, as we do.
    assert s.p_greater == pytest.approx(stats.wilcoxon(TUNED, BASE, alternative="greater").pvalue)
    assert s.p_two_sided == pytest.approx(stats.wilcoxon(TUNED, BASE).pvalue)
    assert s.p_greater == pytest.approx(permutation_p(np.subtract(TUNED, BASE))[0])
    # differences: 2 zeros, 2 negative, 8 positive
    assert (s.improved, s.regressed, s.unchanged) == (8, 2, 2)
    expected_ci = stats.bootstrap((np.subtract(TUNED, BASE),), np.mean, n_resamples=2000,
                                  rng=np.random.default_rng(0)).confidence_interval
    assert (s.ci_low, s.ci_high) == pytest.approx((expected_ci.low, expected_ci.high))
    assert s.ci_low < s.delta < s.ci_high
    assert s.note.startswith("12 prompts: with fewer than 20, a bootstrap 95% CI")


def permutation_p(d) -> tuple[float, float]:
    """Exact one- and two-sided Wilcoxon p by enumerating every sign assignment of the
    non-zero differences (their mid-ranks fixed), the slow obvious way."""
    d = np.asarray(d, dtype=float)
    d = d[d != 0]
    ranks = stats.rankdata(np.abs(d))
    observed = ranks[d > 0].sum()
    centre = ranks.sum() / 2
    t = np.array([sum(r for r, s in zip(ranks, signs, strict=True) if s)
                  for signs in itertools.product([0, 1], repeat=len(d))])
    return float((t >= observed - 1e-9).mean()), float((np.abs(t - centre) >= abs(observed - centre) - 1e-9).mean())


@pytest.mark.parametrize("seed", range(8))
def test_wilcoxon_is_the_exact_permutation_p_with_ties_and_zeros(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(14, 26))
    base = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], n)          # few reward values: ties
    tuned = np.clip(base + rng.choice([-0.25, 0, 0, 0, 0.25, 0.5], n), 0, 1)   # many zeros
    if np.count_nonzero(tuned - base) > 14:                     # keep the enumeration small
        tuned[np.flatnonzero(tuned - base)[14:]] = base[np.flatnonzero(tuned - base)[14:]]
    s = cs.task_stats("push", base, tuned, n_resamples=200)
    p_greater, p_two = permutation_p(tuned - base)
    assert s.p_greater == pytest.approx(p_greater, abs=1e-12)
    assert s.p_two_sided == pytest.approx(min(1.0, p_two), abs=1e-12)


def test_unchanged_prompts_do_not_make_three_improvements_significant():
    """3 improved and 17 unchanged: scipy's normal approximation said 0.042; exactly it is 2**-3."""
    s = cs.task_stats("extraction", [0.5] * 20, [0.6] * 3 + [0.5] * 17, n_resamples=200)
    assert s.p_greater == pytest.approx(0.125) and s.p_two_sided == pytest.approx(0.25)
    assert (s.improved, s.unchanged) == (3, 17)
    assert "only 3 non-zero differences" in s.note
    res = cs.compare([{"task": "extraction", "base": 0.5, "tuned": t} for t in [0.6] * 3 + [0.5] * 17])
    assert not res.tasks["extraction"].significant


def test_large_samples_use_the_normal_approximation_and_say_so():
    rng = np.random.default_rng(1)
    d = rng.normal(0.01, 0.1, cs.EXACT_MAX + 5)
    p_greater, _, note = cs.wilcoxon_pair(np.zeros_like(d), d)
    assert p_greater == pytest.approx(stats.wilcoxon(d, alternative="greater", method="asymptotic").pvalue)
    assert "normal approximation" in note
    # At the edge the exact distribution and the approximation agree closely.
    exact, _ = cs.signed_rank_p(d[: cs.EXACT_MAX])
    approx = stats.wilcoxon(d[: cs.EXACT_MAX], alternative="greater", method="asymptotic").pvalue
    assert exact == pytest.approx(approx, abs=0.01)


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
    # No ties, no zeros here: scipy's exact distribution applies and must agree.
    assert res.overall.p_greater == pytest.approx(
        stats.wilcoxon(all_t, all_b, alternative="greater", method="exact").pvalue)
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
    assert five.p_greater == pytest.approx(1 / 32) and "non-zero difference" not in five.note
    assert "only 1 non-zero difference:" in cs.task_stats("push", [0, 0.5], [1, 0.5]).note
