"""IWU: improvement-aware task weights for multi-task GRPO (MT-GRPO, arXiv 2602.05547,
Subroutine 1), as pure functions.

MT-GRPO aims at the worst task: tasks that score low *and* are not improving should be
trained on more. The task weights are a softmax over logits z, updated once per step
from each task's mean reward J_k and its improvement I_k = J_k(t) - J_k(t-1):

    w     = softmax(z)
    d_k   = I_k + lambda * J_k                    # per-task signal, lambda trades the two
    g_k   = w_k * (d_k - sum_j w_j d_j)           # gradient of sum_k w_k d_k w.r.t. z_k
    z_k  <- z_k - eta * g_k                       # descent: mass moves to small d_k
    w'    = softmax(z)

so a task's weight falls when its reward or its improvement rises (the others' rise),
`eta = 0` leaves the weights unchanged, `lambda = 0` looks only at improvement and a
large lambda mostly at the reward level. (The signal d = I + lambda * J and the
softmax-gradient step follow the paper's description and its authors' public code,
which runs the same step through an optimiser.)

In the paper the weights set *how often each task's prompts are sampled* (with a
ratio-preserving sampler), not a multiplier on the reward: under GRPO's group
normalisation a constant multiplier on one task's rewards cancels out. Hence
`sampling_counts()`, which turns weights into per-task prompt counts for a batch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def softmax(logits: Sequence[float]) -> list[float]:
    if not logits:
        raise ValueError("softmax of an empty sequence")
    top = max(logits)
    exps = [math.exp(z - top) for z in logits]
    total = sum(exps)
    return [e / total for e in exps]


def _finite(name: str, values: Sequence[float]) -> None:
    for v in values:
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            raise ValueError(f"{name} must be finite numbers, got {v!r}")


def iwu_step(
    logits: Sequence[float],
    rewards: Sequence[float],
    improvements: Sequence[float],
    *,
    eta: float,
    lam: float,
) -> list[float]:
    """One update of the logits (see module docstring). Returns the new logits."""
    if not len(logits) == len(rewards) == len(improvements):
        raise ValueError("logits, rewards and improvements must have the same length")
    _finite("logits", logits)
    _finite("rewards", rewards)
    _finite("improvements", improvements)
    if not (math.isfinite(eta) and eta >= 0):
        raise ValueError(f"eta (step size) must be >= 0, got {eta!r}")
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam (trade-off lambda) must be >= 0, got {lam!r}")
    w = softmax(logits)
    d = [i + lam * r for i, r in zip(improvements, rewards, strict=True)]
    mean_d = sum(wk * dk for wk, dk in zip(w, d, strict=True))
    return [z - eta * wk * (dk - mean_d) for z, wk, dk in zip(logits, w, d, strict=True)]


@dataclass(frozen=True)
class IWUState:
    """Task weights between steps: the logits and each task's last mean reward."""

    tasks: tuple[str, ...]
    logits: tuple[float, ...]
    last_rewards: tuple[float | None, ...]

    @property
    def weights(self) -> dict[str, float]:
        return dict(zip(self.tasks, softmax(self.logits), strict=True))


def initial_state(tasks: Sequence[str], weights: Mapping[str, float] | None = None) -> IWUState:
    """Uniform weights, or the given ones (positive, normalised here)."""
    tasks = tuple(tasks)
    if not tasks or len(set(tasks)) != len(tasks):
        raise ValueError("tasks must be a non-empty list of distinct names")
    if weights is None:
        logits = (0.0,) * len(tasks)
    else:
        unknown = set(weights) - set(tasks)
        if unknown or any(not (weights.get(t, 0) > 0) for t in tasks):
            raise ValueError(f"weights must be positive for every task of {tasks}")
        logits = tuple(math.log(weights[t]) for t in tasks)
    return IWUState(tasks, logits, (None,) * len(tasks))


def iwu_update(state: IWUState, rewards: Mapping[str, float], *, eta: float = 1.0, lam: float = 0.5) -> IWUState:
    """Apply one step with this step's mean reward per task.

    A task absent from `rewards` (no prompt of it this step) keeps its last reward and
    counts as not improving; a task's first reward counts as no improvement either."""
    unknown = set(rewards) - set(state.tasks)
    if unknown:
        raise ValueError(f"rewards for unknown task(s) {sorted(unknown)}; tasks are {state.tasks}")
    current: list[float] = []
    improvement: list[float] = []
    for task, last in zip(state.tasks, state.last_rewards, strict=True):
        r = rewards.get(task, last if last is not None else 0.0)
        current.append(r)
        improvement.append(0.0 if last is None or task not in rewards else r - last)
    logits = iwu_step(state.logits, current, improvement, eta=eta, lam=lam)
    last = tuple(rewards.get(t, prev) for t, prev in zip(state.tasks, state.last_rewards, strict=True))
    return IWUState(state.tasks, tuple(logits), last)


def sampling_counts(weights: Mapping[str, float], batch_size: int) -> dict[str, int]:
    """Prompts per task in a batch of `batch_size`, proportional to `weights` (largest
    remainder, so the counts sum to `batch_size` exactly)."""
    if batch_size < 0:
        raise ValueError("batch_size must be >= 0")
    total = sum(weights.values())
    if not weights or total <= 0 or any(w < 0 for w in weights.values()):
        raise ValueError("weights must be non-negative with a positive sum")
    exact = {t: batch_size * w / total for t, w in weights.items()}
    counts = {t: int(math.floor(x)) for t, x in exact.items()}
    left = batch_size - sum(counts.values())
    for t in sorted(exact, key=lambda t: (-(exact[t] - counts[t]), t))[:left]:
        counts[t] += 1
    return counts
