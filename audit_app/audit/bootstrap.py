"""Vectorised bootstraps for the audit: prompt-cluster resamples of Spearman's rho and
unit resamples of Krippendorff's ordinal alpha.

A resample of clusters is a vector of counts, so the Spearman rho of a resample is a
count-weighted Pearson correlation of count-weighted mid-ranks, computed for many
resamples at once with numpy (no Python loop per resample); alpha's coincidence matrix is
likewise a count-weighted sum of per-unit matrices.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_BOOT = 2000
CONFIDENCE = 0.95
_BOOT_CHUNK = 64  # resamples per numpy batch: keeps the B x n arrays cache-sized
_ONEHOT_MAX = 64  # distinct values of the coarser variable up to which group sums are a matmul


def cluster_counts(rng: np.random.Generator, n_clusters: int, n_boot: int) -> np.ndarray:
    """(n_boot, n_clusters) counts: how often each cluster is drawn in each resample."""
    draws = rng.integers(0, n_clusters, size=(n_boot, n_clusters))
    flat = draws + (np.arange(n_boot) * n_clusters)[:, None]
    return np.bincount(flat.ravel(), minlength=n_boot * n_clusters).reshape(n_boot, n_clusters)


def _centred_midranks(gw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mid-ranks of tie groups (centred on the resample's mean rank) from group weights.

    Row b: tie group g holds gw[b, g] copies. A group of weight W ending at cumulative
    weight C occupies ranks C-W+1 .. C, so its mid-rank is C - (W - 1) / 2; the mean rank
    of N values is (N + 1) / 2. Returns (mid-ranks, N as a column)."""
    cum = np.cumsum(gw, axis=1)
    n = cum[:, -1:]
    return cum - (gw - 1) / 2 - (n + 1) / 2, n


def bootstrap_spearman(x, y, clusters, *, n_boot: int = DEFAULT_BOOT, seed: int = 0) -> np.ndarray:
    """Spearman rho of `n_boot` cluster-bootstrap resamples (NaN where a resample is constant).

    `clusters` gives each item's cluster (prompt); a resample draws clusters with
    replacement and keeps all items of each drawn cluster. Spearman's rho of a resample is
    the Pearson correlation of its mid-ranks; with w[b, i] the number of copies of item i,
    every sum over the resample is a w-weighted sum over items, so no resampled rows are
    built. Items are kept sorted by x (x's ties are contiguous runs: group sums are one
    `reduceat`); y, the variable with fewer distinct values (the human mean score), is
    handled through a one-hot matrix, so its group sums are one matrix product.
    float32 is ample here (counts and half-integer ranks are exact; sums lose ~1e-7)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    _, cluster_idx = np.unique(np.asarray(clusters), return_inverse=True)
    n_clusters = int(cluster_idx.max()) + 1 if len(cluster_idx) else 0
    if n_clusters == 0 or n_boot <= 0:
        return np.empty(0)
    if len(np.unique(x)) < len(np.unique(y)):
        x, y = y, x  # rho is symmetric
    rng = np.random.default_rng(seed)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    lengths = np.diff(np.r_[starts, len(xs)])
    _, y_group = np.unique(y[order], return_inverse=True)
    n_y = int(y_group.max()) + 1
    if n_y > _ONEHOT_MAX:
        # Both continuous (not the audit's case): rank y per resample through its own order.
        oy = np.argsort(y[order], kind="stable")
        ys = y[order][oy]
        y_starts = np.flatnonzero(np.r_[True, ys[1:] != ys[:-1]])
        y_lengths = np.diff(np.r_[y_starts, len(ys)])
        back = np.argsort(oy)
    else:
        onehot = np.zeros((len(xs), n_y), dtype=np.float32)
        onehot[np.arange(len(xs)), y_group] = 1
    cluster_sorted = cluster_idx[order]
    out = np.empty(n_boot)
    for start in range(0, n_boot, _BOOT_CHUNK):
        b = min(_BOOT_CHUNK, n_boot - start)
        w = cluster_counts(rng, n_clusters, b).astype(np.float32)[:, cluster_sorted]
        gx = np.add.reduceat(w, starts, axis=1)
        mid_x, _ = _centred_midranks(gx)
        sxx = (gx * mid_x * mid_x).sum(axis=1)
        wrx = w * np.repeat(mid_x, lengths, axis=1)
        if n_y > _ONEHOT_MAX:
            gy = np.add.reduceat(w[:, oy], y_starts, axis=1)
            mid_y, _ = _centred_midranks(gy)
            sxy = np.einsum("ij,ij->i", wrx, np.repeat(mid_y, y_lengths, axis=1)[:, back])
        else:
            gy = w @ onehot
            mid_y, _ = _centred_midranks(gy)
            sxy = ((wrx @ onehot) * mid_y).sum(axis=1)
        syy = (gy * mid_y * mid_y).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:start + b] = sxy / np.sqrt(sxx * syy)
    return out


def percentile_ci(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval of the finite bootstrap samples (NaN, NaN when too few)."""
    s = samples[np.isfinite(samples)]
    # An interval from a handful of defined resamples would be fiction.
    if len(s) < max(10, 0.5 * len(samples)):
        return math.nan, math.nan
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(s, [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap_alpha(counts: np.ndarray, *, n_boot: int = DEFAULT_BOOT, seed: int = 0) -> np.ndarray:
    """Ordinal alpha of `n_boot` resamples of units (items), vectorised.

    Alpha is 1 - sum(o * d) / sum(e * d) where the coincidence matrix o is a sum of
    per-unit matrices, so a resample's o is a count-weighted sum; e and the ordinal
    distances d follow from o's margins (same formulas as the package)."""
    n_units, v = counts.shape
    if n_units == 0 or n_boot <= 0:
        return np.empty(0)
    m = counts.sum(axis=1)
    per_unit = (counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(v)[None]) \
        / (np.maximum(m, 2) - 1)[:, None, None]
    rng = np.random.default_rng(seed)
    w = cluster_counts(rng, n_units, n_boot).astype(float)
    o = (w @ per_unit.reshape(n_units, v * v)).reshape(n_boot, v, v)
    n_v = o.sum(axis=1)
    n = n_v.sum(axis=1)
    e = (n_v[:, :, None] * n_v[:, None, :] - n_v[:, :, None] * np.eye(v)[None]) / (n - 1)[:, None, None]
    cum = np.cumsum(n_v, axis=1)
    i = np.arange(v)
    lo, hi = np.minimum(i[:, None], i[None, :]), np.maximum(i[:, None], i[None, :])
    between = cum[:, hi] - cum[:, lo] + n_v[:, lo]
    d = (between - (n_v[:, :, None] + n_v[:, None, :]) / 2) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1 - (o * d).sum(axis=(1, 2)) / (e * d).sum(axis=(1, 2))


def bootstrap_mean(values, *, n_boot: int = DEFAULT_BOOT, seed: int = 0) -> np.ndarray:
    """Means of `n_boot` resamples (with replacement) of `values`, one value per cluster.

    Used for the mean within-prompt tau: each prompt contributes one tau, so resampling
    the taus is resampling prompts."""
    v = np.asarray(values, dtype=float)
    if len(v) == 0 or n_boot <= 0:
        return np.empty(0)
    w = cluster_counts(np.random.default_rng(seed), len(v), n_boot)
    return (w @ v) / len(v)
