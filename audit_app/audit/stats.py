"""Audit statistics: does a reward rank completions the way people do?

Pure functions over *audit items*, the shape `Store.audit_items()` returns (one dict per
scored rollout):

    {"rollout_id": 7, "prompt_id": "push-1a2b", "task": "push",
     "reward_total": 0.62, "reward_components": {"length": 0.5, ...},
     "annotations": [{"annotator": "ana", "round": 0, "score": 4, "flag": False,
                      "comment": None}, ...], ...}

Per task (`task_stats`): Spearman rho between reward total and the human score (mean of
the annotators' first-round scores), its p-value and a 95% bootstrap interval that
resamples *prompts* (completions of one prompt are not independent); Kendall tau-b; the
share of tied pairs (a reward with few distinct values ties a lot); rho per reward
component; the human ceiling (Krippendorff's ordinal alpha on items scored by two or more
people, with a bootstrap interval, and each annotator's self-consistency on unannounced
repeats); the mean Kendall tau inside each prompt's group (what GRPO actually compares).
`disagreement_queue` lists the items where reward and human ranks differ most.

The bootstraps (audit_app.audit.bootstrap) are vectorised over resamples.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import krippendorff
import numpy as np
from scipy import stats as sps

from audit_app.audit.bootstrap import (
    CONFIDENCE,
    DEFAULT_BOOT,
    bootstrap_alpha,
    bootstrap_spearman,
    percentile_ci,
)

SCORES = (1, 2, 3, 4, 5)
# Above this share of tied reward pairs, rho and tau mostly measure ties: warn.
TIE_WARNING_SHARE = 0.25
MIN_GROUP = 3  # within-prompt ranking needs at least 3 scored completions of a prompt


# -- item helpers -----------------------------------------------------------------------
def first_round_scores(item: dict) -> list[float]:
    """The non-skipped round-0 scores of an item, one per annotator."""
    return [float(a["score"]) for a in item.get("annotations", ())
            if a.get("round", 0) == 0 and a.get("score") is not None]


def human_score(item: dict) -> float:
    """Mean of the annotators' round-0 scores; NaN when nobody scored the item."""
    scores = first_round_scores(item)
    return sum(scores) / len(scores) if scores else math.nan


def is_scored(item: dict) -> bool:
    return bool(first_round_scores(item))


def as_float(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v


def json_safe(value):
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


# -- result -----------------------------------------------------------------------------
@dataclass
class TaskStats:
    """Every audit figure of one task. A figure that cannot be computed is None and
    `problems` says why, in words."""

    task: str
    n_rollouts: int | None = None      # all rollouts of the task, scored or not
    n_items: int = 0                   # scored items with a finite reward
    n_nan_rewards: int = 0             # scored items whose reward total is missing / NaN
    n_prompts: int = 0
    annotators: list[str] = field(default_factory=list)
    human_distinct: int = 0
    reward_distinct: int = 0
    human_mean: float | None = None
    reward_mean: float | None = None
    rho: float | None = None
    p_value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n_boot: int = 0
    tau_b: float | None = None
    tau_p: float | None = None
    reward_ties: float | None = None   # share of item pairs with equal reward totals
    human_ties: float | None = None
    ties_warning: str | None = None
    components: dict[str, float | None] = field(default_factory=dict)
    alpha: float | None = None
    alpha_ci_low: float | None = None
    alpha_ci_high: float | None = None
    n_alpha_items: int = 0
    self_consistency: list[dict] = field(default_factory=list)
    within_prompt_tau: float | None = None
    n_prompt_groups: int = 0           # prompts with >= 3 scored completions and a defined tau
    n_prompt_groups_tied: int = 0      # such prompts where reward or humans tie every completion
    problems: list[str] = field(default_factory=list)

    @property
    def n_annotators(self) -> int:
        return len(self.annotators)

    def to_dict(self) -> dict:
        out = json_safe(asdict(self))
        out["n_annotators"] = self.n_annotators
        return out

    @classmethod
    def from_dict(cls, data: dict) -> TaskStats:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in names})


# -- core figures ----------------------------------------------------------------------
def tie_share(values: np.ndarray) -> float:
    """Share of item pairs whose values are equal."""
    n = len(values)
    if n < 2:
        return math.nan
    _, counts = np.unique(values, return_counts=True)
    return float((counts * (counts - 1)).sum() / (n * (n - 1)))


# -- human ceiling -----------------------------------------------------------------------
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


# -- within-prompt ranking ----------------------------------------------------------------
def within_prompt_taus(x, y, clusters, *, min_group: int = MIN_GROUP) -> tuple[np.ndarray, int]:
    """Kendall tau-b of x vs y inside each cluster with >= `min_group` items.

    Returns (taus of clusters where both orders are defined, number of clusters where
    x or y ties every item so tau is undefined)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    _, cidx = np.unique(np.asarray(clusters), return_inverse=True)
    order = np.argsort(cidx, kind="stable")
    sizes = np.bincount(cidx)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    I_parts, J_parts, G_parts = [], [], []
    gid = 0
    # All groups of one size at once: their pairs are the same triangle, offset.
    for m in np.unique(sizes[sizes >= min_group]):
        s = starts[sizes == m]
        a, b = np.triu_indices(m, 1)
        I_parts.append((s[:, None] + a[None, :]).ravel())
        J_parts.append((s[:, None] + b[None, :]).ravel())
        G_parts.append(np.repeat(np.arange(gid, gid + len(s)), len(a)))
        gid += len(s)
    if gid == 0:
        return np.empty(0), 0
    I = order[np.concatenate(I_parts)]  # noqa: E741
    J = order[np.concatenate(J_parts)]
    G = np.concatenate(G_parts)
    dx, dy = np.sign(x[I] - x[J]), np.sign(y[I] - y[J])
    n0 = np.bincount(G, minlength=gid).astype(float)
    nx = n0 - np.bincount(G, weights=(dx == 0), minlength=gid)
    ny = n0 - np.bincount(G, weights=(dy == 0), minlength=gid)
    s = np.bincount(G, weights=dx * dy, minlength=gid)
    defined = (nx > 0) & (ny > 0)
    taus = s[defined] / np.sqrt(nx[defined] * ny[defined])
    return taus, int((~defined).sum())


# -- per task -------------------------------------------------------------------------------
def _seed_for(seed: int, task: str) -> int:
    # Independent but reproducible streams per task.
    return int(np.random.SeedSequence([seed, zlib.crc32(task.encode())]).generate_state(1)[0])


def component_names(items: Sequence[dict]) -> list[str]:
    names: set[str] = set()
    for item in items:
        names.update((item.get("reward_components") or {}).keys())
    return sorted(names)


def _spearman(x, y) -> tuple[float, float]:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    r = sps.spearmanr(x, y)
    return float(r.statistic), float(r.pvalue)


def task_stats(items: Sequence[dict], task: str = "", *, n_rollouts: int | None = None,
               n_boot: int = DEFAULT_BOOT, seed: int = 0, confidence: float = CONFIDENCE) -> TaskStats:
    """Every figure for one task's audit items (unscored items are ignored)."""
    st = TaskStats(task=task or (items[0]["task"] if items else ""), n_rollouts=n_rollouts)
    firsts = [first_round_scores(it) for it in items]
    scored = [it for it, f in zip(items, firsts, strict=True) if f]
    means = [sum(f) / len(f) for f in firsts if f]
    reward_all = np.array([as_float(it.get("reward_total")) for it in scored], dtype=float)
    good = np.isfinite(reward_all)
    st.n_nan_rewards = int((~good).sum())
    used = [it for it, ok in zip(scored, good, strict=True) if ok]
    reward = reward_all[good]
    human = np.array(means, dtype=float)[good]
    prompts = [str(it.get("prompt_id")) for it in used]
    st.n_items = len(used)
    st.n_prompts = len(set(prompts))
    st.annotators = sorted({str(a.get("annotator")) for it in scored for a in it.get("annotations", ())
                            if a.get("round", 0) == 0 and a.get("score") is not None})
    st.human_distinct = len(np.unique(human))
    st.reward_distinct = len(np.unique(reward))
    if st.n_items:
        st.human_mean, st.reward_mean = float(human.mean()), float(reward.mean())
    if n_rollouts == 0:
        st.problems.append("no rollouts for this task")
    elif not scored:
        st.problems.append("no human scores yet" + (f" (0 of {n_rollouts} rollouts scored)" if n_rollouts else ""))
    if st.n_nan_rewards:
        st.problems.append(f"{st.n_nan_rewards} scored item(s) have no reward total (NaN); they are left out")

    if st.n_items >= 2:
        st.reward_ties = tie_share(reward)
        st.human_ties = tie_share(human)
        if st.reward_ties >= TIE_WARNING_SHARE:
            st.ties_warning = (f"{st.reward_ties:.0%} of item pairs have equal reward totals "
                               f"({st.reward_distinct} distinct values): rho and tau count them as ties")

    if st.n_items and st.human_distinct == 1:
        st.problems.append(f"every human score is {human[0]:g}: there is no human order to compare with")
    if st.n_items and st.reward_distinct == 1:
        st.problems.append(f"the reward gives every scored item {reward[0]:.2f}: it does not rank them")
    if 0 < st.n_items < 3:
        st.problems.append(f"only {st.n_items} scored item(s): too few for a correlation")

    rho, p = _spearman(reward, human)
    if math.isfinite(rho):
        st.rho, st.p_value = rho, p
        tau = sps.kendalltau(reward, human)
        st.tau_b, st.tau_p = float(tau.statistic), float(tau.pvalue)
        task_seed = _seed_for(seed, st.task)
        boot = bootstrap_spearman(reward, human, prompts, n_boot=n_boot, seed=task_seed)
        lo, hi = percentile_ci(boot, confidence)
        st.n_boot = int(np.isfinite(boot).sum())
        if math.isfinite(lo):
            st.ci_low, st.ci_high = lo, hi
        else:
            st.problems.append("bootstrap interval undefined: too many resamples had a constant reward "
                               f"or human score ({st.n_prompts} prompts)")
        for name in component_names(used):
            col = np.array([as_float((it.get("reward_components") or {}).get(name)) for it in used])
            ok = np.isfinite(col)
            r, _ = _spearman(col[ok], human[ok])
            st.components[name] = r if math.isfinite(r) else None

    counts = value_counts(scored)
    st.n_alpha_items = len(counts)
    if len(st.annotators) < 2:
        if scored:
            st.problems.append(f"only {len(st.annotators)} annotator ({', '.join(st.annotators)}): "
                               "no agreement between people can be measured")
    elif not len(counts):
        st.problems.append("no item was scored by two or more annotators: agreement unknown")
    else:
        a = ordinal_alpha(counts)
        if math.isfinite(a):
            st.alpha = a
            lo, hi = percentile_ci(bootstrap_alpha(counts, n_boot=n_boot, seed=_seed_for(seed + 1, st.task)),
                                   confidence)
            if math.isfinite(lo):
                st.alpha_ci_low, st.alpha_ci_high = lo, hi
        else:
            st.problems.append("agreement undefined: every doubly-scored item got the same score")
    st.self_consistency = self_consistency(scored)

    if st.n_items >= MIN_GROUP:
        taus, tied = within_prompt_taus(reward, human, prompts)
        st.n_prompt_groups, st.n_prompt_groups_tied = len(taus), tied
        if len(taus):
            st.within_prompt_tau = float(taus.mean())
    return st


def audit(items_by_task: dict[str, Sequence[dict]], *, rollout_counts: dict[str, int] | None = None,
          n_boot: int = DEFAULT_BOOT, seed: int = 0) -> dict[str, TaskStats]:
    """`task_stats` for every task given."""
    counts = rollout_counts or {}
    return {task: task_stats(items, task, n_rollouts=counts.get(task), n_boot=n_boot, seed=seed)
            for task, items in items_by_task.items()}


# -- disagreement queue -------------------------------------------------------------------
def disagreement_queue(items: Sequence[dict], *, limit: int | None = 50) -> list[dict]:
    """Scored items ordered for reading: flagged first, then by |reward rank - human rank|.

    Ranks are mid-ranks scaled to 0..1 (0 = lowest), so a difference of 0.8 means the
    reward puts an item near the top that people put near the bottom (or the reverse)."""
    used = [it for it in items if is_scored(it) and math.isfinite(as_float(it.get("reward_total")))]
    if not used:
        return []
    reward = np.array([float(it["reward_total"]) for it in used])
    human = np.array([human_score(it) for it in used])
    scale = max(len(used) - 1, 1)
    r_rank = (sps.rankdata(reward) - 1) / scale
    h_rank = (sps.rankdata(human) - 1) / scale
    rows = []
    for it, rr, hr, hs in zip(used, r_rank, h_rank, human, strict=True):
        anns = it.get("annotations", ())
        diff = float(rr - hr)
        rows.append({
            "rollout_id": it.get("rollout_id"), "prompt_id": it.get("prompt_id"), "task": it.get("task"),
            "reward_total": float(it["reward_total"]), "human_score": float(hs),
            "reward_rank": float(rr), "human_rank": float(hr), "rank_diff": diff,
            "direction": ("reward rates it above people" if diff > 0 else
                          "reward rates it below people" if diff < 0 else "same rank"),
            "flags": sum(1 for a in anns if a.get("flag")),
            "comments": [{"annotator": a.get("annotator"), "comment": a["comment"]}
                         for a in anns if a.get("comment")],
            "scores": [{"annotator": a.get("annotator"), "round": a.get("round", 0), "score": a.get("score")}
                       for a in anns],
            "reward_components": dict(it.get("reward_components") or {}),
            "reward_notes": list(it.get("reward_notes") or []),
            "completion": it.get("completion"),
        })
    rows.sort(key=lambda r: (r["flags"] == 0, -abs(r["rank_diff"]), r["rollout_id"] or 0))
    return rows if limit is None else rows[:limit]
