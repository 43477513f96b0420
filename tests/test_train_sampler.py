"""The task-mix sampler: TRL's group layout, task frequencies that follow the weights, and
weight changes that take effect on the next batch."""

from __future__ import annotations

from collections import Counter

import pytest

from train.grpo.task_sampler import TaskMixSampler, TaskWeights

ROWS = ["extraction"] * 30 + ["sql_qa"] * 10 + ["push"] * 20


def test_group_layout_matches_repeat_sampler():
    weights = TaskWeights(["extraction", "sql_qa", "push"])
    s = TaskMixSampler(ROWS, weights, mini_repeat_count=4, batch_size=3, repeat_count=2, seed=1)
    ids = list(s)
    assert len(ids) == len(s) == (60 // 3) * 3 * 4 * 2
    first = ids[: 3 * 4 * 2]
    groups = [first[i: i + 4] for i in range(0, 12, 4)]
    assert all(len(set(g)) == 1 for g in groups)  # each prompt repeated num_generations times in a row
    assert first[:12] == first[12:24]  # the whole batch repeated repeat_count times


def test_frequencies_follow_weights_not_dataset_sizes():
    weights = TaskWeights(["extraction", "sql_qa", "push"], {"extraction": 0.1, "sql_qa": 0.6, "push": 0.3})
    s = TaskMixSampler(ROWS, weights, mini_repeat_count=1, batch_size=10, seed=0, num_batches=300)
    counts = Counter(ROWS[i] for i in s)
    total = sum(counts.values())
    assert abs(counts["sql_qa"] / total - 0.6) < 0.03
    assert abs(counts["extraction"] / total - 0.1) < 0.03
    # sql_qa has 10 prompts: it cycles through all of them before repeating one.
    sql = [i for i in TaskMixSampler(ROWS, TaskWeights(["sql_qa"]), mini_repeat_count=1, batch_size=5, seed=3,
                                     num_batches=2)]
    assert sorted(sql) == list(range(30, 40))


def test_weight_update_takes_effect_on_the_next_batch():
    weights = TaskWeights(["extraction", "push"])
    s = TaskMixSampler(ROWS, weights, mini_repeat_count=2, batch_size=4, seed=0, num_batches=50)
    it = iter(s)
    [next(it) for _ in range(8)]  # one batch
    weights.set({"extraction": 0.0, "push": 1.0})
    rest = list(it)
    assert {ROWS[i] for i in rest} == {"push"}


def test_bad_weights_and_missing_tasks():
    with pytest.raises(ValueError, match="outside the mix"):
        TaskWeights(["push"], {"chat": 1.0})
    with pytest.raises(ValueError, match="all be zero"):
        TaskWeights(["push", "sql_qa"], {"push": 0.0})
    with pytest.raises(ValueError, match="finite"):
        TaskWeights(["push"], {"push": float("nan")})
    with pytest.raises(ValueError, match=r"no rows for task\(s\) \['insights'\]"):
        TaskMixSampler(ROWS, TaskWeights(["push", "insights"]), mini_repeat_count=2, batch_size=2)


def test_short_runs_get_the_mix_they_ask_for_whatever_the_seed():
    # One prompt per step and 14 steps, as on a CPU: every seed trains 7 + 7, and any
    # stretch of steps stays within one step of the weights.
    for seed in range(20):
        s = TaskMixSampler(ROWS, TaskWeights(["extraction", "push"]), mini_repeat_count=4, batch_size=1, seed=seed,
                           num_batches=14)
        steps = [ROWS[i] for i in list(s)[::4]]
        assert Counter(steps) == {"extraction": 7, "push": 7}
        assert all(abs(steps[:n].count("push") - n / 2) <= 1 for n in range(1, 15))
    weights = TaskWeights(["extraction", "sql_qa", "push"], {"extraction": 0.5, "sql_qa": 0.25, "push": 0.25})
    steps = [ROWS[i] for i in TaskMixSampler(ROWS, weights, mini_repeat_count=1, batch_size=1, seed=5, num_batches=12)]
    assert Counter(steps) == {"extraction": 6, "sql_qa": 3, "push": 3}
    # Which task opens a run still depends on the seed.
    first = {ROWS[next(iter(TaskMixSampler(ROWS, TaskWeights(["extraction", "push"]), mini_repeat_count=1,
                                           batch_size=1, seed=seed, num_batches=2)))] for seed in range(20)}
    assert first == {"extraction", "push"}
