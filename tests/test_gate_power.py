"""The shipped thresholds are the ones a simulation supports: at the default number of
scored items per task, the planted extraction bug is caught at least 90% of the time and
the correct reward fails at most 5% of the time, with careful and with realistic (noisier)
annotators. Push's missing length penalty is caught as well. Below the default the
correct reward fails too often, which is why the default is where it is. The whole table
(bench/gate_power.py) is in docs/audit.md.

The projection of how many more scores a task needs is checked the same way: a correct
reward that fails for want of data is told a number, and at that number it passes far
more often; a buggy reward is told that more scores will not help."""

from __future__ import annotations

import pytest

from audit_app.audit.needs import needs
from audit_app.audit.stats import task_stats
from audit_app.audit.verdict import evaluate
from data.store.thresholds import load_default_thresholds
from tests.gate_simulation import rates, simulated_items

DEFAULTS = load_default_thresholds()["defaults"]
SEEDS = range(1, 41)
CAREFUL, REALISTIC = 0.6, 1.0  # sd of a person's score on the 1-5 scale (alpha about 0.75 and 0.5)


@pytest.mark.parametrize("noise", [CAREFUL, REALISTIC])
@pytest.mark.parametrize("task", ["extraction", "push"])
def test_defaults_catch_the_bug_and_spare_the_correct_reward(task, noise):
    r = rates(DEFAULTS["min_items"], noise, SEEDS, task=task)
    assert r.detected >= 0.9, r
    assert r.false_alarm <= 0.05, r


def test_half_the_default_fails_the_correct_reward_too_often():
    r = rates(DEFAULTS["min_items"] // 2, REALISTIC, SEEDS)
    assert r.false_alarm > 0.05, r


def test_more_scores_needed_is_a_number_that_works():
    # Strict interval thresholds, so that 40 items are often too few for a correct reward.
    limits = {**DEFAULTS, "min_items": 20, "min_prompts": 5, "min_overlap": 2, "min_ci_low": 0.5,
              "min_within_ci_low": 0.35}
    too_few = passed_at_target = buggy_told_to_fix = 0
    for seed in range(1, 61):
        good, bad = simulated_items(40, REALISTIC, seed)
        st = task_stats(good, "extraction", n_boot=500, seed=seed)
        if evaluate(st, limits).passed:
            continue
        n = needs(st, limits)
        if n.reachable is not True or not n.items:  # failed for another reason (e.g. overlap)
            continue
        too_few += 1
        assert n.target_items == 40 + n.items
        more, _ = simulated_items(n.target_items, REALISTIC, seed + 1000)
        passed_at_target += evaluate(task_stats(more, "extraction", n_boot=500, seed=seed), limits).passed
        buggy = needs(task_stats(bad, "extraction", n_boot=500, seed=seed), limits)
        if buggy.reachable is False:
            assert "fix the reward" in buggy.reason
            buggy_told_to_fix += 1
        else:  # an unlucky draw where the bug looks fine at 40 items: it is then told to score far more
            assert buggy.items > n.items
    assert too_few >= 10 and buggy_told_to_fix >= 0.75 * too_few
    assert passed_at_target >= 0.75 * too_few  # the projection keeps today's estimate: about, not exactly
