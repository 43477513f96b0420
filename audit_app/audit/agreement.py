"""Agreement between people, and what it allows a reward to reach.

- `ordinal_alpha`: Krippendorff's alpha, ordinal (the `krippendorff` package), on items
  scored by two or more people: the *inter-annotator agreement*.
- `mean_score_ceiling`: the highest correlation any reward can be expected to have with
  the *mean* human score. The audit compares a reward with the mean of k first-round
  scores, which is more reliable than one person's score: by Spearman-Brown its
  reliability is k a / (1 + (k - 1) a) (a: agreement between two people), and a
  correlation with a measure cannot exceed the square root of that measure's reliability.
  Alpha itself is not that ceiling: a correct reward beats alpha whenever k > 1 or the
  scores are noisy.
- `self_consistency`: each annotator's agreement with themself on unannounced repeats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import krippendorff
import numpy as np

SCORES = (1, 2, 3, 4, 5)


def first_round_scores(item: dict) -> list[float]:
    """The non-skipped round-0 scores of an item, one per annotator."""
    return [float(a["score"]) for a in item.get("annotations", ())
            if a.get("round", 0) == 0 and a.get("score") is not None]


def value_counts(items: Iterable[dict]) -> np.ndarray:
    """(units, 5) counts of round-0 scores 1..5 for items scored by two or more people."""
    rows = []
    for item in items:
        scores = first_round_scores(item)
        if len(scores) >= 2:
            rows.append([scores.count(float(v)) for v in SCORES])
    return np.asarray(rows, dtype=float).reshape(-1, len(SCORES))


def ordinal_alpha(counts: np.ndarray) -> float:
    """Krippendorff's alpha, ordinal, from the `krippendorff` package (NaN when undefined)."""
    if len(counts) == 0 or np.count_nonzero(counts.sum(axis=0)) < 2:
        return math.nan
    return float(krippendorff.alpha(value_counts=counts, value_domain=list(SCORES),
                                     level_of_measurement="ordinal"))


def mean_score_ceiling(alpha: float | None, k: float | None) -> float | None:
    """sqrt(k a / (1 + (k - 1) a)): the reliability index of a mean of k scores whose
    pairwise agreement is a. 0 when people do not agree at all (a <= 0); None when a or k
    is unknown."""
    if alpha is None or k is None or not (math.isfinite(alpha) and math.isfinite(k)) or k < 1:
        return None
    if alpha <= 0:
        return 0.0
    return math.sqrt(k * alpha / (1 + (k - 1) * alpha))


def self_consistency(items: Iterable[dict]) -> list[dict]:
    """Per annotator: how often a repeated item (round 1) got the same score as round 0."""
    pairs: dict[str, list[tuple[float, float]]] = {}
    for item in items:
        by = {}
        for a in item.get("annotations", ()):
            if a.get("score") is not None:
                by[(a.get("annotator"), a.get("round", 0))] = float(a["score"])
        for (who, rnd), first in by.items():
            if rnd == 0 and (who, 1) in by:
                pairs.setdefault(str(who), []).append((first, by[(who, 1)]))
    out = []
    for who in sorted(pairs):
        p = np.asarray(pairs[who])
        diff = np.abs(p[:, 0] - p[:, 1])
        out.append({"annotator": who, "n": len(p), "exact": float((diff == 0).mean()),
                    "within_one": float((diff <= 1).mean()), "mean_abs_diff": float(diff.mean())})
    return out
