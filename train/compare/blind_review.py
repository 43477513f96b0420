"""Blind review of a comparison: reviewers see two completions of one prompt, base and
tuned in random left/right order with no model names, and say which is better or tie.

This is the human check that reward gains are real gains. The store keeps the side that
was shown on the left with every judgement, so a position bias (reviewers preferring the
left box) can be measured and is reported next to the win rates.

Pairs whose two completions are identical are never shown (the answer would be a forced
tie); they are counted and reported instead. Tasks are balanced: the next pair comes from
the task with the fewest judgements so far, so every task reaches a usable count.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from scipy import stats

from data.store.compare import BASE
from data.store.roles import User

CONFIDENCE = 0.95


@dataclass(frozen=True)
class BlindPair:
    """What the page shows (left_text, right_text, messages) and what it must send back."""

    comparison_id: int
    prompt_id: str
    task: str
    tuned_side: str
    sample_index: int
    left_side: str  # never displayed
    right_side: str
    left_text: str
    right_text: str
    messages: list


@dataclass(frozen=True)
class WinRate:
    task: str
    judgements: int
    tuned_wins: int
    base_wins: int
    ties: int
    win_rate: float | None  # tuned wins / decisive judgements
    ci_low: float | None  # Wilson score interval of win_rate
    ci_high: float | None
    win_rate_ties_half: float | None  # (tuned wins + ties / 2) / judgements
    left_chosen: float | None  # share of decisive judgements that picked the left box

    def to_dict(self) -> dict:
        return asdict(self)


def candidates(store, comparison_id: int, tuned_side: str) -> tuple[list[dict], int]:
    """(reviewable pairs, number of identical pairs left out). A pair: prompt_id, task,
    sample_index, base and tuned completion texts."""
    prompts = {p["prompt_id"]: p for p in store.compare_prompts(comparison_id)}
    texts: dict[tuple[str, int], dict[str, str]] = {}
    for r in store.compare_results(comparison_id):
        if r["side"] in (BASE, tuned_side):
            texts.setdefault((r["prompt_id"], r["sample_index"]), {})[r["side"]] = r["completion"]
    pairs, identical = [], 0
    for (prompt_id, sample_index), sides in texts.items():
        if len(sides) < 2:
            continue
        if sides[BASE] == sides[tuned_side]:
            identical += 1
            continue
        pairs.append({"prompt_id": prompt_id, "task": prompts[prompt_id]["task"], "sample_index": sample_index,
                      "position": prompts[prompt_id]["position"], "base": sides[BASE],
                      "tuned": sides[tuned_side], "messages": prompts[prompt_id]["messages"]})
    pairs.sort(key=lambda p: (p["position"], p["sample_index"]))
    return pairs, identical


def next_pair(store, actor: User, comparison_id: int, tuned_side: str | None = None, *,
              rng: random.Random | None = None, exclude: set[tuple[str, int]] | None = None) -> BlindPair | None:
    """A pair this reviewer has not judged, from the least-judged task, sides shuffled."""
    actor = store.acting(actor, "reviewer", action="blind review", account=True)
    rng = rng or random.SystemRandom()
    c = store.get_comparison(comparison_id)
    tuned_side = tuned_side or c["side_labels"][0]
    pairs, _identical = candidates(store, comparison_id, tuned_side)
    mine = {(j["prompt_id"], j["sample_index"])
            for j in store.blind_judgements(comparison_id, tuned_side, reviewer_id=actor.id)}
    skip = mine | (exclude or set())
    open_pairs = [p for p in pairs if (p["prompt_id"], p["sample_index"]) not in skip]
    if not open_pairs:
        return None
    judged_per_task: dict[str, int] = {}
    for j in store.blind_judgements(comparison_id, tuned_side):
        judged_per_task[j["task"]] = judged_per_task.get(j["task"], 0) + 1
    fewest = min(judged_per_task.get(p["task"], 0) for p in open_pairs)
    pool = [p for p in open_pairs if judged_per_task.get(p["task"], 0) == fewest]
    chosen = rng.choice(pool)
    base_left = rng.random() < 0.5
    left, right = (BASE, tuned_side) if base_left else (tuned_side, BASE)
    return BlindPair(
        comparison_id=comparison_id, prompt_id=chosen["prompt_id"], task=chosen["task"], tuned_side=tuned_side,
        sample_index=chosen["sample_index"], left_side=left, right_side=right,
        left_text=chosen["base"] if base_left else chosen["tuned"],
        right_text=chosen["tuned"] if base_left else chosen["base"], messages=chosen["messages"],
    )


def record(store, actor: User, pair: BlindPair, choice: str, *, seconds: float | None = None) -> int:
    """Store the judgement of `pair` ("left", "right" or "tie") with the side shown."""
    return store.record_blind_judgement(
        actor, pair.comparison_id, prompt_id=pair.prompt_id, tuned_side=pair.tuned_side,
        sample_index=pair.sample_index, left_side=pair.left_side, choice=choice, seconds=seconds)


def win_rate(task: str, judgements: list[dict], confidence: float = CONFIDENCE) -> WinRate:
    tuned = sum(1 for j in judgements if j["winner"] == "tuned")
    base = sum(1 for j in judgements if j["winner"] == "base")
    ties = sum(1 for j in judgements if j["winner"] == "tie")
    decisive = tuned + base
    n = len(judgements)
    lo = hi = rate = left = None
    if decisive:
        rate = tuned / decisive
        ci = stats.binomtest(tuned, decisive).proportion_ci(confidence_level=confidence, method="wilson")
        lo, hi = float(ci.low), float(ci.high)
        left = sum(1 for j in judgements if j["choice"] == "left") / decisive
    return WinRate(task=task, judgements=n, tuned_wins=tuned, base_wins=base, ties=ties, win_rate=rate,
                   ci_low=lo, ci_high=hi, win_rate_ties_half=((tuned + ties / 2) / n) if n else None,
                   left_chosen=left)


def win_rates(store, comparison_id: int, tuned_side: str | None = None,
              tasks: list[str] | None = None) -> dict[str, WinRate]:
    """Per task (comparison order) and "overall": the tuned side's win rate with a CI."""
    c = store.get_comparison(comparison_id)
    tuned_side = tuned_side or c["side_labels"][0]
    rows = store.blind_judgements(comparison_id, tuned_side)
    out = {}
    for task in tasks or c["tasks"]:
        out[task] = win_rate(task, [j for j in rows if j["task"] == task])
    out["overall"] = win_rate("overall", rows)
    return out


def progress(store, actor: User, comparison_id: int, tuned_side: str) -> dict:
    """How many reviewable pairs exist, how many this reviewer judged, identical pairs left out."""
    pairs, identical = candidates(store, comparison_id, tuned_side)
    mine = len(store.blind_judgements(comparison_id, tuned_side, reviewer_id=actor.id))
    return {"pairs": len(pairs), "mine": mine, "identical": identical,
            "all": len(store.blind_judgements(comparison_id, tuned_side))}
