"""Audit statistics: does a reward rank completions the way people do?

Pure functions over *audit items*, the shape `Store.audit_items()` returns (one dict per
scored rollout):

    {"rollout_id": 7, "prompt_id": "push-1a2b", "task": "push",
     "reward_total": 0.62, "reward_components": {"length": 0.5, ...},
     "annotations": [{"annotator": "ana", "round": 0, "score": 4, "flag": False,
                      "comment": None}, ...], ...}

Per task (`task_stats`): Spearman rho between reward total and the human score (mean of
the annotators' first-round scores), its p-value and a 95% bootstrap interval that
resamples *prompts* (completions of one prompt are not independent; with fewer than
MIN_PROMPTS_CI prompts no interval is computed); Kendall tau-b; the share of tied pairs;
rho per reward component; the mean Kendall tau inside each prompt's group (the order
GRPO uses, audit_app.audit.within) with its own prompt-bootstrap interval; the
inter-annotator agreement (ordinal alpha with a bootstrap interval), the ceiling it puts
on rho against the mean human score (audit_app.audit.agreement), and each annotator's
self-consistency. `disagreement_queue` lists the items where reward and human ranks
differ most.

The bootstraps (audit_app.audit.bootstrap) are vectorised over resamples.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats as sps

from audit_app.audit.agreement import (  # noqa: F401  (re-exported: the audit's vocabulary)
    SCORES,
    first_round_scores,
    mean_score_ceiling,
    ordinal_alpha,
    self_consistency,
    value_counts,
)
from audit_app.audit.bootstrap import (
    CONFIDENCE,
    DEFAULT_BOOT,
    bootstrap_alpha,
    bootstrap_mean,
    bootstrap_spearman,
    percentile_ci,
)
from audit_app.audit.within import within_prompt_taus

# Above this share of tied reward pairs, rho and tau mostly measure ties: warn.
TIE_WARNING_SHARE = 0.25
# Below this many prompts (or prompt groups) a bootstrap over prompts is fiction: with 1-2
# prompts it returns a zero-width interval, and its coverage is poor until about 5.
MIN_PROMPTS_CI = 5


# -- item helpers -----------------------------------------------------------------------
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
    alpha: float | None = None         # inter-annotator agreement (ordinal alpha)
    alpha_ci_low: float | None = None
    alpha_ci_high: float | None = None
    n_alpha_items: int = 0             # items scored by two or more people (the overlap)
    scores_per_item: float | None = None  # k: mean first-round scores per scored item
    ceiling: float | None = None       # reliability index of the mean human score, from alpha and k
    ceiling_ci_low: float | None = None
    ceiling_ci_high: float | None = None
    self_consistency: list[dict] = field(default_factory=list)
    within_prompt_tau: float | None = None  # mean Kendall tau-b inside prompt groups
    within_ci_low: float | None = None
    within_ci_high: float | None = None
    n_prompt_groups: int = 0           # prompts with >= 2 scored completions and a defined tau
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


def prompt_ids(items: Sequence[dict]) -> list[str]:
    """Each item's prompt id; ValueError naming the first item without one (an item with no
    prompt cannot be resampled with its prompt's other completions)."""
    out = []
    for it in items:
        pid = it.get("prompt_id")
        if not isinstance(pid, str) or not pid.strip():
            raise ValueError(f"audit item (rollout {it.get('rollout_id')}) has no prompt_id; every audit item "
                             "needs the prompt it answers")
        out.append(pid)
    return out


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
    prompts = prompt_ids(used)
    st.n_items = len(used)
    st.n_prompts = len(set(prompts))
    st.annotators = sorted({str(a.get("annotator")) for it in scored for a in it.get("annotations", ())
                            if a.get("round", 0) == 0 and a.get("score") is not None})
    st.human_distinct = len(np.unique(human))
    st.reward_distinct = len(np.unique(reward))
    if st.n_items:
        st.human_mean, st.reward_mean = float(human.mean()), float(reward.mean())
        st.scores_per_item = float(np.mean([len(first_round_scores(it)) for it in used]))
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

    _pooled(st, used, reward, human, prompts, n_boot, _seed_for(seed, st.task), confidence)
    _within(st, reward, human, prompts, n_boot, _seed_for(seed + 2, st.task), confidence)
    _agreement(st, scored, n_boot, _seed_for(seed + 1, st.task), confidence)
    return st


def _too_few_prompts(n: int, what: str) -> str:
    return (f"no 95% interval for {what}: {n} prompt{'' if n == 1 else 's'} "
            f"{'is' if n == 1 else 'are'} too few to resample ({MIN_PROMPTS_CI} needed)")


def _pooled(st: TaskStats, used, reward, human, prompts, n_boot, seed, confidence) -> None:
    """Spearman rho over all items, its prompt-bootstrap interval, tau-b, per-component rho."""
    rho, p = _spearman(reward, human)
    if not math.isfinite(rho):
        return
    st.rho, st.p_value = rho, p
    tau = sps.kendalltau(reward, human)
    st.tau_b, st.tau_p = float(tau.statistic), float(tau.pvalue)
    if st.n_prompts < MIN_PROMPTS_CI:
        st.problems.append(_too_few_prompts(st.n_prompts, "rho"))
    else:
        boot = bootstrap_spearman(reward, human, prompts, n_boot=n_boot, seed=seed)
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


def _within(st: TaskStats, reward, human, prompts, n_boot, seed, confidence) -> None:
    """Mean within-prompt tau-b over prompt groups with 2+ scored completions, with its interval."""
    taus, tied, groups = within_prompt_taus(reward, human, prompts)
    st.n_prompt_groups, st.n_prompt_groups_tied = len(taus), tied
    if not len(taus):
        if st.n_items:
            st.problems.append("within-prompt agreement unknown: " + (
                "no prompt has 2 or more scored completions" if not groups else
                f"in all {groups} prompt groups the reward or the people tie every completion"))
        return
    st.within_prompt_tau = float(taus.mean())
    if len(taus) < MIN_PROMPTS_CI:
        st.problems.append(_too_few_prompts(len(taus), "within-prompt tau"))
        return
    lo, hi = percentile_ci(bootstrap_mean(taus, n_boot=n_boot, seed=seed), confidence)
    st.within_ci_low, st.within_ci_high = lo, hi


def _agreement(st: TaskStats, scored, n_boot, seed, confidence) -> None:
    """Inter-annotator agreement (ordinal alpha, CI), the ceiling it sets, self-consistency."""
    st.self_consistency = self_consistency(scored)
    counts = value_counts(scored)
    st.n_alpha_items = len(counts)
    if len(st.annotators) < 2:
        if scored:
            st.problems.append(f"only {len(st.annotators)} annotator ({', '.join(st.annotators)}): "
                               "no agreement between people can be measured")
        return
    if not len(counts):
        st.problems.append("no item was scored by two or more annotators: agreement unknown")
        return
    a = ordinal_alpha(counts)
    if not math.isfinite(a):
        st.problems.append("agreement undefined: every doubly-scored item got the same score")
        return
    st.alpha = a
    st.ceiling = mean_score_ceiling(a, st.scores_per_item)
    lo, hi = percentile_ci(bootstrap_alpha(counts, n_boot=n_boot, seed=seed), confidence)
    if math.isfinite(lo):
        st.alpha_ci_low, st.alpha_ci_high = lo, hi
        st.ceiling_ci_low = mean_score_ceiling(lo, st.scores_per_item)
        st.ceiling_ci_high = mean_score_ceiling(hi, st.scores_per_item)


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
