"""IWU task weights (MT-GRPO Subroutine 1): the maths."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewards.iwu import initial_state, iwu_step, iwu_update, sampling_counts, softmax

TASKS = ("extraction", "sql_qa", "insights", "push")
finite = st.floats(-3, 3, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(z=st.lists(finite, min_size=2, max_size=6), data=st.data(),
       eta=st.floats(0, 5), lam=st.floats(0, 5))
def test_weights_stay_a_distribution(z, data, eta, lam):
    n = len(z)
    r = data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    i = data.draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n))
    w = softmax(iwu_step(z, r, i, eta=eta, lam=lam))
    assert math.isclose(sum(w), 1.0, abs_tol=1e-9)
    assert all(0 < x < 1 for x in w)


def test_step_size_zero_keeps_weights():
    z = [0.3, -0.2, 1.0, 0.0]
    assert iwu_step(z, [0.9, 0.1, 0.5, 0.2], [0.1, -0.2, 0.0, 0.3], eta=0.0, lam=0.7) == z


def test_equal_signals_keep_weights():
    z = [0.3, -0.2, 1.0]
    new = iwu_step(z, [0.5, 0.5, 0.5], [0.1, 0.1, 0.1], eta=2.0, lam=1.0)
    assert new == pytest.approx(z)


@pytest.mark.parametrize("k", range(4))
def test_higher_reward_or_improvement_lowers_that_task_weight(k):
    z = [0.0, 0.0, 0.0, 0.0]
    base_r, base_i = [0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0]
    w0 = softmax(iwu_step(z, base_r, base_i, eta=1.0, lam=1.0))
    more_r = list(base_r)
    more_r[k] = 0.9
    w_r = softmax(iwu_step(z, more_r, base_i, eta=1.0, lam=1.0))
    more_i = list(base_i)
    more_i[k] = 0.2
    w_i = softmax(iwu_step(z, base_r, more_i, eta=1.0, lam=1.0))
    assert w_r[k] < w0[k] and w_i[k] < w0[k]
    # ... and raises every other task's weight.
    assert all(w_r[j] > w0[j] for j in range(4) if j != k)


def test_monotonic_in_reward_over_a_sweep():
    ws = [softmax(iwu_step([0.0] * 3, [r, 0.5, 0.5], [0.0] * 3, eta=1.0, lam=1.0))[0]
          for r in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    assert all(a > b for a, b in zip(ws, ws[1:], strict=False))


def test_lambda_extremes():
    z = [0.0, 0.0]
    # lambda = 0: only improvement matters; rewards are ignored.
    a = iwu_step(z, [0.9, 0.1], [0.05, 0.05], eta=1.0, lam=0.0)
    assert a == pytest.approx(z)
    b = iwu_step(z, [0.9, 0.1], [0.00, 0.10], eta=1.0, lam=0.0)
    assert softmax(b)[0] > softmax(b)[1]  # task 0 improves less -> more weight
    # Large lambda: the reward level dominates the improvement.
    c = iwu_step(z, [0.9, 0.1], [0.00, 0.10], eta=1.0, lam=100.0)
    assert softmax(c)[0] < softmax(c)[1]  # task 0 scores higher -> less weight


def test_repeated_updates_favour_the_lagging_task():
    state = initial_state(TASKS)
    assert state.weights == pytest.approx(dict.fromkeys(TASKS, 0.25))
    rewards = {"extraction": 0.8, "sql_qa": 0.2, "insights": 0.6, "push": 0.7}
    for _step in range(20):
        rewards = {t: r + (0.01 if t != "sql_qa" else 0.0) for t, r in rewards.items()}
        state = iwu_update(state, rewards, eta=2.0, lam=1.0)
    w = state.weights
    assert max(w, key=w.get) == "sql_qa"
    assert sum(w.values()) == pytest.approx(1.0)


def test_update_bookkeeping_and_validation():
    state = initial_state(TASKS, {"extraction": 1, "sql_qa": 1, "insights": 2, "push": 4})
    assert state.weights["push"] == pytest.approx(0.5)
    first = iwu_update(state, {"extraction": 0.5}, eta=1.0, lam=0.5)
    assert first.last_rewards == (0.5, None, None, None)
    with pytest.raises(ValueError, match="unknown task"):
        iwu_update(state, {"chat": 0.5})
    with pytest.raises(ValueError, match="eta"):
        iwu_step([0.0], [0.5], [0.0], eta=-1.0, lam=0.5)
    with pytest.raises(ValueError, match="finite"):
        iwu_step([0.0], [float("nan")], [0.0], eta=1.0, lam=0.5)
    with pytest.raises(ValueError, match="distinct"):
        initial_state(["a", "a"])


def test_sampling_counts_follow_weights_and_sum_to_batch():
    counts = sampling_counts({"extraction": 0.5, "sql_qa": 0.3, "insights": 0.15, "push": 0.05}, 16)
    assert sum(counts.values()) == 16 and counts["extraction"] == 8 and counts["push"] in (0, 1)
    assert sampling_counts({"a": 1, "b": 1, "c": 1}, 10) == {"a": 4, "b": 3, "c": 3}
    with pytest.raises(ValueError):
        sampling_counts({"a": 0}, 4)
