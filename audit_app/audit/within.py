"""Agreement inside each prompt's group: the order GRPO actually uses.

GRPO compares the completions of one prompt with each other (their rewards become
advantages relative to the group's mean), so a reward that only knows which prompts are
hard can agree with people across prompts (high pooled rho) and still teach nothing. The
audit therefore also asks, per prompt with two or more scored completions, whether the
reward orders them as people do: Kendall tau-b inside the group, averaged over prompts,
with a bootstrap interval over prompts.
"""

from __future__ import annotations

import numpy as np

MIN_GROUP = 2  # a prompt's group needs at least 2 scored completions to have an order


def within_prompt_taus(x, y, clusters, *, min_group: int = MIN_GROUP) -> tuple[np.ndarray, int, int]:
    """Kendall tau-b of x vs y inside each cluster with >= `min_group` items.

    Returns (taus of the clusters where both orders are defined, number of clusters where
    x or y ties every item so tau is undefined, number of clusters with >= min_group items)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) == 0:
        return np.empty(0), 0, 0
    _, cidx = np.unique(np.asarray(clusters, dtype=object), return_inverse=True)
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
        return np.empty(0), 0, 0
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
    return taus, int((~defined).sum()), gid
