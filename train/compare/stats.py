"""Statistics of a base-versus-tuned comparison (pure: numbers in, numbers out).

The unit of analysis is the prompt: each eval prompt has a base reward and a tuned reward
(the mean over samples when `--samples` > 1), so the test is paired. Per task and overall:

- mean reward base and tuned, delta and delta % (of the base mean);
- paired Wilcoxon signed-rank, one-sided "tuned greater" as the recipe we follow reported
  it, and two-sided. Zero differences (unchanged prompts, the common case at temperature
  0.1) are dropped first (Wilcoxon's zero method), and the p-value is *exact and
  conditional on the ties*: the null distribution of the statistic over the 2^n sign
  assignments of the n non-zero differences, with their mid-ranks, by convolution
  (`signed_rank_null`). scipy's wilcoxon falls back to a normal approximation as soon as
  there are ties or zeros beyond 13 pairs (3 improved and 17 unchanged prompts gave
  p = 0.042 where the exact p is 0.125), and its method="exact" ignores ties. Beyond
  EXACT_MAX non-zero differences the normal approximation (tie-corrected) is used;
- Holm's step-down correction of the one-sided p-values across the tasks (the overall row
  is a summary, not a member of that family);
- the matched-pairs rank-biserial correlation (Kerby 2014): (T+ - T-) / (T+ + T-) over the
  ranks of the non-zero |differences|, in [-1, 1];
- a bootstrap (BCa, scipy) 95% confidence interval of the mean delta; below
  SMALL_SAMPLE_PROMPTS prompts the note says that its coverage falls short of 95%.

With every paired difference zero (identical outputs, or identical rewards) Wilcoxon is
undefined: the p-values are None and `note` says so in words instead of a NaN.

Several adapters (seeds) against one base: `summarise_seeds` gives mean and spread across
seeds of the per-task tuned mean and delta, keeping the per-seed rows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from scipy import stats

ALPHA = 0.05
N_BOOT = 9999
CONFIDENCE = 0.95
OVERALL = "overall"
# With n non-zero differences the smallest exact one-sided Wilcoxon p is 2**-n: below 5 of
# them p < 0.05 is impossible whatever the data, so the row says so (still computed).
MIN_PAIRS_NOTE = 5
# Non-zero differences up to which the exact conditional distribution is computed (the
# convolution costs n * n(n+1) operations; beyond this the normal approximation is accurate).
EXACT_MAX = 400
# Below this many prompts a bootstrap interval of a mean covers the truth less often than it says.
SMALL_SAMPLE_PROMPTS = 20
TEST_DESCRIPTION = ("paired Wilcoxon signed-rank, one-sided (tuned > base), Holm-corrected across tasks; "
                    "zero differences dropped (Wilcoxon's zero method); p exact and conditional on tied "
                    f"ranks (all 2^n sign assignments, by convolution) up to {EXACT_MAX} non-zero differences")


@dataclass(frozen=True)
class TaskStats:
    """Paired statistics of one task (or of all tasks pooled, task == "overall")."""

    task: str
    n: int
    base_mean: float | None
    tuned_mean: float | None
    delta: float | None
    delta_pct: float | None  # None when the base mean is 0 (no percentage of nothing)
    improved: int = 0
    regressed: int = 0
    unchanged: int = 0
    p_greater: float | None = None  # one-sided Wilcoxon, H1: tuned > base
    p_two_sided: float | None = None
    p_holm: float | None = None  # Holm-adjusted p_greater across tasks
    significant: bool = False  # p_holm < alpha (the overall row: raw p_greater < alpha)
    rank_biserial: float | None = None
    ci_low: float | None = None  # bootstrap CI of the mean delta
    ci_high: float | None = None
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ComparisonStats:
    """All tasks of one adapter against the base."""

    label: str
    tasks: dict[str, TaskStats]
    overall: TaskStats
    alpha: float = ALPHA

    def rows(self) -> list[TaskStats]:
        return [*self.tasks.values(), self.overall]

    def to_dict(self) -> dict:
        return {"label": self.label, "alpha": self.alpha,
                "tasks": {t: s.to_dict() for t, s in self.tasks.items()},
                "overall": self.overall.to_dict()}


@dataclass(frozen=True)
class SeedSummary:
    """One task across several adapters (seeds) compared with the same base."""

    task: str
    n_seeds: int
    base_mean: float | None
    tuned_mean: float | None  # mean over seeds of the per-seed tuned mean
    tuned_sd: float | None  # sample SD across seeds (None with one seed)
    delta_mean: float | None
    delta_sd: float | None
    delta_pct: float | None
    delta_min: float | None
    delta_max: float | None
    significant_seeds: int = 0
    per_seed: dict[str, TaskStats] = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["per_seed"] = {k: v.to_dict() for k, v in self.per_seed.items()}
        return d


# -- building blocks -----------------------------------------------------------------------

def rank_biserial(base: Sequence[float], tuned: Sequence[float]) -> float | None:
    """Matched-pairs rank-biserial correlation of tuned - base; None when all differences are 0."""
    d = np.asarray(tuned, dtype=float) - np.asarray(base, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return None
    ranks = stats.rankdata(np.abs(d))  # average ranks for tied |d|, as Wilcoxon uses
    t_plus = float(ranks[d > 0].sum())
    t_minus = float(ranks[d < 0].sum())
    return (t_plus - t_minus) / (t_plus + t_minus)


def holm(pvalues: Mapping[str, float | None]) -> dict[str, float | None]:
    """Holm step-down adjusted p-values; None entries (undefined tests) are not in the family."""
    defined = sorted(((p, k) for k, p in pvalues.items() if p is not None), key=lambda x: x[0])
    m = len(defined)
    out: dict[str, float | None] = {k: None for k in pvalues}
    running = 0.0
    for i, (p, k) in enumerate(defined):
        # Monotone: an adjusted p never falls below the one before it.
        running = max(running, min(1.0, (m - i) * p))
        out[k] = running
    return out


def bootstrap_ci(deltas: Sequence[float], *, confidence: float = CONFIDENCE, n_resamples: int = N_BOOT,
                 seed: int = 0) -> tuple[float | None, float | None]:
    """BCa bootstrap CI of the mean of `deltas` (percentile when BCa is degenerate)."""
    d = np.asarray(deltas, dtype=float)
    if d.size == 0:
        return None, None
    if d.size == 1 or np.all(d == d[0]):
        # No spread to resample: the interval is the single value.
        return float(d[0]), float(d[0])
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            # A degenerate BCa (e.g. nearly constant deltas) returns NaN; we then fall back.
            warnings.simplefilter("ignore")
            res = stats.bootstrap((d,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                                  method=method, vectorized=True, rng=np.random.default_rng(seed))
        lo, hi = res.confidence_interval
        if math.isfinite(lo) and math.isfinite(hi):
            return float(lo), float(hi)
    return None, None


def signed_rank_null(doubled_ranks: np.ndarray) -> np.ndarray:
    """Exact null distribution of 2 T+ given the (doubled, so integer) mid-ranks of the
    non-zero |differences|: each difference is positive or negative with probability 1/2,
    so the distribution is the product of (1 + x^r) / 2 over the ranks r, by convolution."""
    dist = np.zeros(int(doubled_ranks.sum()) + 1)
    dist[0] = 1.0
    for r in doubled_ranks:
        shifted = np.zeros_like(dist)
        shifted[r:] = dist[:-r]
        dist = (dist + shifted) / 2
    return dist


def signed_rank_p(d: np.ndarray) -> tuple[float, float]:
    """(p one-sided "d > 0", p two-sided) of the Wilcoxon signed-rank test on non-zero `d`,
    exact and conditional on ties up to EXACT_MAX differences, normal approximation beyond."""
    if d.size > EXACT_MAX:
        return (float(stats.wilcoxon(d, alternative="greater", method="asymptotic").pvalue),
                float(stats.wilcoxon(d, alternative="two-sided", method="asymptotic").pvalue))
    doubled = np.rint(2 * stats.rankdata(np.abs(d))).astype(int)  # mid-ranks are multiples of 1/2
    t2 = int(doubled[d > 0].sum())
    dist = signed_rank_null(doubled)
    p_greater, p_less = float(dist[t2:].sum()), float(dist[: t2 + 1].sum())
    return min(1.0, p_greater), min(1.0, 2 * min(p_greater, p_less))


def wilcoxon_pair(base: Sequence[float], tuned: Sequence[float]) -> tuple[float | None, float | None, str]:
    """(p one-sided tuned > base, p two-sided, note); p None when the test is undefined.
    Zero differences are dropped before ranking (see the module docstring)."""
    d = np.asarray(tuned, dtype=float) - np.asarray(base, dtype=float)
    if d.size == 0:
        return None, None, "no paired prompts"
    d = d[d != 0]
    if d.size == 0:
        return None, None, ("Wilcoxon undefined: every paired difference is zero "
                            "(base and tuned rewards identical on all prompts)")
    p_greater, p_two = signed_rank_p(d)
    note = ""
    if d.size < MIN_PAIRS_NOTE:
        note = (f"only {d.size} non-zero difference{'s' if d.size != 1 else ''}: Wilcoxon cannot reach "
                f"p < 0.05 with fewer than {MIN_PAIRS_NOTE}")
    elif d.size > EXACT_MAX:
        note = f"{d.size} non-zero differences: normal approximation (tie-corrected) instead of the exact p"
    return p_greater, p_two, note


def small_sample_note(n: int) -> str:
    if n >= SMALL_SAMPLE_PROMPTS:
        return ""
    return (f"{n} prompts: with fewer than {SMALL_SAMPLE_PROMPTS}, a bootstrap 95% CI of the mean covers the true "
            "Δ less often than 95%; read it as rough")


def task_stats(task: str, base: Sequence[float], tuned: Sequence[float], *, seed: int = 0,
               n_resamples: int = N_BOOT) -> TaskStats:
    """Paired statistics of one task (Holm and significance are filled in by `compare`)."""
    if len(base) != len(tuned):
        raise ValueError(f"{task}: {len(base)} base rewards but {len(tuned)} tuned rewards")
    b = np.asarray(base, dtype=float)
    t = np.asarray(tuned, dtype=float)
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(t))):
        raise ValueError(f"{task}: rewards must be finite numbers")
    n = int(b.size)
    if n == 0:
        return TaskStats(task=task, n=0, base_mean=None, tuned_mean=None, delta=None, delta_pct=None,
                         note="no paired prompts")
    base_mean, tuned_mean = float(b.mean()), float(t.mean())
    delta = tuned_mean - base_mean
    d = t - b
    p_greater, p_two, note = wilcoxon_pair(b, t)
    note = "; ".join(x for x in (note, small_sample_note(n)) if x)
    lo, hi = bootstrap_ci(d, seed=seed, n_resamples=n_resamples)
    return TaskStats(
        task=task, n=n, base_mean=base_mean, tuned_mean=tuned_mean, delta=delta,
        delta_pct=(100.0 * delta / base_mean) if base_mean != 0 else None,
        improved=int((d > 0).sum()), regressed=int((d < 0).sum()), unchanged=int((d == 0).sum()),
        p_greater=p_greater, p_two_sided=p_two, rank_biserial=rank_biserial(b, t),
        ci_low=lo, ci_high=hi, note=note,
    )


# -- a whole comparison --------------------------------------------------------------------

def compare(pairs: Iterable[Mapping], *, label: str = "tuned", tasks: Sequence[str] | None = None,
            alpha: float = ALPHA, seed: int = 0, n_resamples: int = N_BOOT) -> ComparisonStats:
    """Statistics of one adapter against the base.

    `pairs`: one mapping per prompt with `task`, `base` and `tuned` (rewards, floats).
    `tasks`: the tasks to report, in order (default: those present, in first-seen order);
    a listed task without pairs gets an empty row.
    """
    by_task: dict[str, tuple[list[float], list[float]]] = {}
    for row in pairs:
        b, t = by_task.setdefault(row["task"], ([], []))
        b.append(float(row["base"]))
        t.append(float(row["tuned"]))
    order = list(tasks) if tasks is not None else list(by_task)
    unknown = sorted(set(by_task) - set(order))
    if unknown:
        raise ValueError(f"pairs name tasks outside {order}: {unknown}")
    per_task = {task: task_stats(task, *by_task.get(task, ([], [])), seed=seed, n_resamples=n_resamples)
                for task in order}
    adjusted = holm({task: s.p_greater for task, s in per_task.items()})
    per_task = {
        task: replace(s, p_holm=adjusted[task], significant=adjusted[task] is not None and adjusted[task] < alpha)
        for task, s in per_task.items()
    }
    all_b = [x for task in order for x in by_task.get(task, ([], []))[0]]
    all_t = [x for task in order for x in by_task.get(task, ([], []))[1]]
    overall = task_stats(OVERALL, all_b, all_t, seed=seed, n_resamples=n_resamples)
    overall = replace(overall, significant=overall.p_greater is not None and overall.p_greater < alpha)
    return ComparisonStats(label=label, tasks=per_task, overall=overall, alpha=alpha)


def summarise_seeds(results: Sequence[ComparisonStats]) -> dict[str, SeedSummary]:
    """Per task (and overall): mean and spread across adapters of tuned mean and delta."""
    if not results:
        return {}
    names = [*results[0].tasks, OVERALL]
    out: dict[str, SeedSummary] = {}
    for task in names:
        rows = {r.label: (r.overall if task == OVERALL else r.tasks[task]) for r in results}
        defined = [s for s in rows.values() if s.n > 0]
        tuned = np.array([s.tuned_mean for s in defined], dtype=float)
        deltas = np.array([s.delta for s in defined], dtype=float)
        bases = np.array([s.base_mean for s in defined], dtype=float)
        base_mean = float(bases.mean()) if bases.size else None
        delta_mean = float(deltas.mean()) if deltas.size else None
        out[task] = SeedSummary(
            task=task, n_seeds=len(defined), base_mean=base_mean,
            tuned_mean=float(tuned.mean()) if tuned.size else None,
            tuned_sd=float(tuned.std(ddof=1)) if tuned.size > 1 else None,
            delta_mean=delta_mean,
            delta_sd=float(deltas.std(ddof=1)) if deltas.size > 1 else None,
            delta_pct=(100.0 * delta_mean / base_mean) if base_mean and delta_mean is not None else None,
            delta_min=float(deltas.min()) if deltas.size else None,
            delta_max=float(deltas.max()) if deltas.size else None,
            significant_seeds=sum(1 for s in defined if s.significant),
            per_seed=rows,
        )
    return out
