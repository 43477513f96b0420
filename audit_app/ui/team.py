"""Per-annotator figures for admins: how much each person scored, how fast, how often
they flagged or skipped, and how well they agree with the others.

Agreement is Krippendorff's alpha (ordinal; the audit's own `ordinal_alpha`, over items
scored by two or more people in the first round), computed leave-one-out: alpha of
everyone, and alpha with this person's scores left out. When leaving someone out raises
alpha, they disagree with the rest ("effect on alpha" below zero); an annotator who scores
at random shows up here long before the audit's per-task ceiling moves.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass

from audit_app.audit.stats import ordinal_alpha, value_counts


@dataclass(frozen=True)
class AnnotatorFigures:
    username: str
    active: bool
    scores: int  # every score given, repeats included
    median_seconds: float | None
    flags: int
    skipped: int
    shared_items: int  # first-round items they scored that someone else scored too
    alpha_without: float  # NaN when undefined (too few shared items)
    effect: float  # alpha of everyone minus alpha without them


def _alpha(units: dict[int, dict[str, float]], leave_out: str | None = None) -> float:
    items = [{"annotations": [{"round": 0, "score": s} for who, s in scores.items() if who != leave_out]}
             for scores in units.values()]
    return ordinal_alpha(value_counts(items))


def annotator_figures(store, actor) -> tuple[float, list[AnnotatorFigures]]:
    """(alpha of everyone, one AnnotatorFigures per person who scored or skipped)."""
    people = store.annotator_activity(actor)
    units: dict[int, dict[str, float]] = defaultdict(dict)
    for person in people:
        for a in person["annotations"]:
            if a["round"] == 0 and a["score"] is not None:
                units[a["rollout_id"]][person["username"]] = float(a["score"])
    shared = {rid: scores for rid, scores in units.items() if len(scores) >= 2}
    everyone = _alpha(shared)
    out = []
    for person in people:
        name, rows = person["username"], person["annotations"]
        seconds = [a["seconds"] for a in rows if a["seconds"] is not None and a["score"] is not None]
        without = _alpha(shared, leave_out=name)
        out.append(AnnotatorFigures(
            username=name, active=person["active"], scores=sum(a["score"] is not None for a in rows),
            median_seconds=statistics.median(seconds) if seconds else None,
            flags=sum(bool(a["flag"]) for a in rows), skipped=person["skipped"],
            shared_items=sum(name in scores for scores in shared.values()),
            alpha_without=without, effect=everyone - without))
    return everyone, out


def number(value: float | None, digits: int = 2, *, signed: bool = False) -> str:
    """A figure for the table: fixed digits, "—" when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def table_rows(figures: list[AnnotatorFigures]) -> list[dict]:
    return [{"annotator": f.username + ("" if f.active else " (disabled)"), "scores": f.scores,
             "median s/item": number(f.median_seconds, 1), "flags": f.flags, "skipped": f.skipped,
             "items shared": f.shared_items, "alpha without them": number(f.alpha_without),
             "effect on alpha": number(f.effect, signed=True)} for f in figures]
