"""The value every reward returns: a total in [0, 1], its named components and notes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

TASKS: tuple[str, ...] = ("extraction", "sql_qa", "insights", "push")


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

    def to_dict(self) -> dict:
        return {"total": self.total, "components": dict(self.components), "notes": list(self.notes)}
