"""The value every reward returns (a total in [0, 1], its named components and notes) and
the `Reward` object that produces it."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rewards.fingerprint import compute_version
from rewards.parsing import completion_text

TASKS: tuple[str, ...] = ("extraction", "sql_qa", "insights", "push")
_set = object.__setattr__  # RewardBreakdown is frozen: its fast constructor sets its __dict__ whole


def clamp01(x: float) -> float:
    # NaN must never leak into training or the audit: it counts as the worst score.
    if x is None or isinstance(x, float) and math.isnan(x):
        return 0.0
    return max(0.0, min(1.0, float(x)))


@dataclass(frozen=True)
class RewardBreakdown:
    """One scored completion.

    `total` is clamped to [0, 1]; `components` maps component name -> points earned
    (penalties are negative); `notes` explain each deduction in a few words.
    """

    total: float
    components: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", clamp01(self.total))
        object.__setattr__(self, "notes", tuple(self.notes))

    @classmethod
    def make(cls, total: float, components: dict[str, float], notes: list[str] | tuple[str, ...]) -> RewardBreakdown:
        """Fast constructor for the rewards' hot path (same invariants as __init__)."""
        obj = cls.__new__(cls)
        _set(obj, "__dict__", {"total": total if type(total) is float and 0.0 < total < 1.0 else clamp01(total),
                               "components": components, "notes": tuple(notes)})
        return obj

    def to_dict(self) -> dict:
        return {"total": self.total, "components": dict(self.components), "notes": list(self.notes)}


def weighted(parts: dict[str, float | None], weights: dict[str, float]) -> dict[str, float]:
    """Components from each part's fraction (0-1) and weight; a part that could not be
    scored (None: the row lacks its grounding) earns 0 and the others share its weight."""
    total = 0  # the weights of the parts scored, summed in order (as sum() would)
    for k, v in parts.items():
        if v is not None:
            total += weights[k]
    scale = 1.0 / total
    return {k: (weights[k] * v * scale if v is not None else 0.0) for k, v in parts.items()}


# A second, third, ... disqualifying defect lowers the ceiling by this factor each.
CAP_STACK = 0.8
# What makes two cap notes the same defect: their text without quoted words and figures
# ("repeats 'cliente'" and "repeats 'pedido'" are one defect, repetition).
_CAP_DETAILS = re.compile(r"'[^']*'|\"[^\"]*\"|\d[\d.,%]*")


def capped(components: dict[str, float], limits: list[tuple[float, str]], notes: list[str]) -> RewardBreakdown:
    """The breakdown of `components` (every one but `cap`) with the caps of `limits` applied:
    a grounded reward caps the total when an answer is disqualified (it contradicts its
    prompt, copies it, invents figures, ...), whatever its other parts earn.

    The ceiling is the lowest limit, lowered by CAP_STACK for every further distinct defect
    (0.30, then 0.24, 0.19, ...): an answer with two defects that fixes one of them scores
    higher, where a single ceiling paid nothing for it and left a GRPO group of answers
    with different numbers of defects without an order. The `cap` component holds the
    (negative) difference, so the components still sum to the total; every limit that
    applied is noted, once."""
    total = sum(v for k, v in components.items() if k != "cap") if "cap" in components else sum(components.values())
    cap = 0.0
    if limits:
        defects = {_CAP_DETAILS.sub("", why) for _, why in limits}
        limit = min(limit for limit, _ in limits) * CAP_STACK ** (len(defects) - 1)
        for _, why in limits:
            if why not in notes:
                notes.append(why)
        if total > limit:
            cap = limit - total
            total = limit  # exactly the limit, not total + (limit - total) in floating point
    components["cap"] = cap
    return RewardBreakdown.make(total, components, notes)


# The task-independent scorer signature: completion text and the prompt's metadata
# (already filtered to the reward's meta keys) -> breakdown.
ScoreFn = Callable[[str, dict[str, Any]], RewardBreakdown]


@dataclass(frozen=True, eq=False)
class Reward:
    """A named, versioned scorer for one task.

    Built by the factories in rewards/<task>.py; `params` are the factory's keyword
    arguments and, with the source of `source_modules`, make up `version`.
    `score()` never raises on the completion; it raises ValueError on invalid metadata.
    """

    name: str
    task: str
    components: tuple[str, ...]
    weights: dict[str, float]
    params: dict[str, Any]
    meta_keys: tuple[str, ...]
    source_modules: tuple[str, ...]
    fn: ScoreFn = field(repr=False)

    def score(self, completion: Any, **meta: Any) -> RewardBreakdown:
        # Unknown keys are ignored and None means "not given", so callers can pass a whole
        # dataset row (TRL does) without knowing which columns this reward reads.
        if meta:
            given = meta
            meta = {}
            for k in self.meta_keys:  # a plain loop: cheaper than a comprehension for a few keys
                v = given.get(k)
                if v is not None:
                    meta[k] = v
        if type(completion) is not str:
            completion = completion_text(completion)
        return self.fn(completion, meta)

    @cached_property
    def version(self) -> str:
        return compute_version(self)
