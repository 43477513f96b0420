"""A simulated audit: how often the gate catches a planted reward bug and how often it fails
the correct reward, for a number of scored items per task and an annotator noise.

The completions are the realistic ones of tests/test_bug_detection.py, written afresh for
every seed and scored with the correct reward and with the planted bug: for extraction (complete
JSON, small slips, decimal commas, booleans as scores, prose) Portuguese decimals not
normalised and booleans accepted as integers; for push (good, weak, 120-200 and 200+
character notifications) no length penalty. One simulated audit has prompts of 4
completions each; people score each completion by where it stands among the
audit's completions under the correct reward (1 + 4 * quantile) plus Gaussian noise of sd
`noise`, rounded to 1-5. As the app assigns them by default, each item gets one of three
annotators and a fixed share (20%) a second one. Both rewards are then judged by the gate
with the same human scores.

Used by tests/test_gate_power.py (the defaults hold) and bench/gate_power.py (the table).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.stats import rankdata

from audit_app.audit.stats import task_stats
from audit_app.audit.verdict import evaluate
from data.store.thresholds import load_default_thresholds
from rewards.extraction import make_extraction_reward
from rewards.push import make_push_reward
from rewards.registry import get_reward
from tests.test_bug_detection import REVIEWS, extraction_completion, push_completion

PER_PROMPT = 4
AGREEMENT_SHARE = 0.2  # the app's default share of items scored by a second person
PEOPLE = ("ana", "bia", "caio")
TASKS = ("extraction", "push")


@cache
def rewards(task: str):
    """(correct reward, buggy copy, prompt kinds: [(make(rng) -> completion, meta)]) of a task.
    Extraction's kinds are its five reviews (star ratings), taken in turn; push has one."""
    if task == "extraction":
        kinds = [(lambda rng, review=review: extraction_completion(rng, review), {"rating": review[0]})
                 for review in REVIEWS]
        return get_reward("extraction"), make_extraction_reward(normalise_decimals=False, strict_int=False), kinds
    if task == "push":
        return get_reward("push"), make_push_reward(length_penalty=False), [(push_completion, {})]
    raise ValueError(f"no simulated completions for task {task!r}; simulated: {', '.join(TASKS)}")


@cache
def _score(task: str, which: int, text: str, meta: tuple) -> float:
    return rewards(task)[which].score(text, **dict(meta)).total


def simulated_items(n_items: int, noise: float, seed: int, task: str = "extraction") -> tuple[list[dict], list[dict]]:
    """(items scored by the correct reward, the same items scored by the buggy one): fresh
    completions for every seed, prompts taking the task's kinds in turn."""
    rng = np.random.default_rng(seed)
    writer = random.Random(seed)
    _, _, kinds = rewards(task)
    picks = []
    for p in range(-(-n_items // PER_PROMPT)):
        make, meta = kinds[p % len(kinds)]
        key = tuple(sorted(meta.items()))
        for _ in range(PER_PROMPT):
            text = make(writer)
            picks.append((f"{task}-{p}", _score(task, 0, text, key), _score(task, 1, text, key)))
    picks = picks[:n_items]
    quantile = (rankdata([c for _, c, _ in picks]) - 0.5) / len(picks)
    good, bad = [], []
    for i, ((pid, c, b), q) in enumerate(zip(picks, quantile, strict=True)):
        people = [PEOPLE[i % 3]] + ([PEOPLE[(i + 1) % 3]] if rng.random() < AGREEMENT_SHARE else [])
        anns = [{"annotator": who, "round": 0,
                 "score": int(np.clip(round(1 + 4 * q + rng.normal(0, noise)), 1, 5))} for who in people]
        base = {"rollout_id": i + 1, "prompt_id": pid, "task": task, "annotations": anns}
        good.append({**base, "reward_total": c})
        bad.append({**base, "reward_total": b})
    return good, bad


@dataclass(frozen=True)
class Rates:
    task: str
    n_items: int
    noise: float
    seeds: int
    detected: float     # share of seeds where the buggy reward fails
    false_alarm: float  # share of seeds where the correct reward fails
    false_alarm_stats: float  # ... with the overlap minimum left out (the statistical criteria alone)
    alpha: float        # median inter-annotator agreement seen


def rates(n_items: int, noise: float, seeds: range, *, task: str = "extraction", n_boot: int = 500,
          limits: dict | None = None) -> Rates:
    """Detection and false-alarm rates over `seeds` with the shipped thresholds (min_items = n_items,
    so the table shows what the statistical criteria decide at that size)."""
    limits = {**load_default_thresholds()["defaults"], **(limits or {}), "min_items": n_items}
    caught = false = false_stats = 0
    alphas = []
    for seed in seeds:
        good, bad = simulated_items(n_items, noise, seed, task)
        st_good = task_stats(good, task, n_boot=n_boot, seed=seed)
        false += not evaluate(st_good, limits).passed
        false_stats += not evaluate(st_good, {**limits, "min_overlap": 2}).passed
        caught += not evaluate(task_stats(bad, task, n_boot=n_boot, seed=seed), limits).passed
        if st_good.alpha is not None:
            alphas.append(st_good.alpha)
    n = len(seeds)
    return Rates(task, n_items, noise, n, caught / n, false / n, false_stats / n, float(np.median(alphas)) if alphas else float("nan"))
