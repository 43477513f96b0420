"""Which tasks give GRPO a gradient: per task, the share of training groups whose completions'
rewards differ, and the IWU weights scaled by it.

GRPO's advantage is a completion's reward minus its group's mean, so a group whose
completions all score the same (every extraction answer 0, say) contributes nothing. IWU
(rewards.iwu) moves weight to tasks that score low and are not improving, which is exactly
what a task without signal looks like: left alone, it would draw more and more prompts
that teach nothing. So after IWU sets the weights at an evaluation, `SignalGate` multiplies
each task's weight by the share of its training groups, since the previous evaluation, that
had any reward spread (at least SIGNAL_FLOOR, so a task without signal is still drawn now
and then and is noticed when it comes back), and renormalises.

    meter = SignalMeter()
    funcs = [meter.wrap(f, task) for f, task in ...]     # same __name__, same signature
    callbacks = [..., IWUCallback(...), SignalGate(meter, weights, state), ...]   # right after IWU

A reward function is called for training and for evaluation alike; `commit()` (at every
training step's end, before an evaluation can run) moves what was scored into the training
count, and `on_evaluate` drops the evaluation's own groups.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable

from transformers import TrainerCallback

logger = logging.getLogger("tucano.train")

SIGNAL_FLOOR = 0.1
SPREAD_EPS = 1e-6


class SignalMeter:
    """Per task: training groups seen and groups with reward spread, since the last take()."""

    def __init__(self):
        self.pending: dict[str, list[int]] = {}
        self.committed: dict[str, list[int]] = {}

    def wrap(self, func: Callable, task: str) -> Callable:
        @functools.wraps(func)
        def measured(prompts=None, completions=None, **kwargs):
            out = func(prompts=prompts, completions=completions, **kwargs)
            self.record(task, out, kwargs.get("prompt_id"))
            return out

        return measured

    def record(self, task: str, rewards, prompt_ids) -> None:
        """Group the rows this task scored by prompt (TRL repeats each prompt num_generations times)."""
        groups: dict[object, list[float]] = {}
        for i, r in enumerate(rewards):
            if r is not None and math.isfinite(r):
                groups.setdefault(prompt_ids[i] if prompt_ids is not None else i, []).append(float(r))
        counts = self.pending.setdefault(task, [0, 0])
        for values in groups.values():
            if len(values) > 1:
                counts[0] += 1
                counts[1] += int(max(values) - min(values) > SPREAD_EPS)

    def commit(self) -> None:
        for task, (n, spread) in self.pending.items():
            c = self.committed.setdefault(task, [0, 0])
            c[0], c[1] = c[0] + n, c[1] + spread
        self.pending = {}

    def discard(self) -> None:
        self.pending = {}

    def take(self) -> dict[str, float]:
        """task -> share of its training groups with spread (tasks with no group are left out)."""
        out = {t: spread / n for t, (n, spread) in self.committed.items() if n}
        self.committed = {}
        return out


def gated(weights: dict[str, float], shares: dict[str, float], floor: float = SIGNAL_FLOOR) -> dict[str, float]:
    """Weights times max(share, floor), renormalised; a task not measured keeps its factor 1."""
    raw = {t: w * max(shares.get(t, 1.0), floor) for t, w in weights.items()}
    total = sum(raw.values())
    return {t: v / total for t, v in raw.items()} if total > 0 else dict(weights)


class SignalGate(TrainerCallback):
    """Runs after IWUCallback: scales the new task weights by each task's signal share."""

    def __init__(self, meter: SignalMeter, weights, run):
        self.meter, self.weights, self.run = meter, weights, run

    def on_step_end(self, args, state, control, **kwargs):
        self.meter.commit()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.meter.discard()  # the evaluation's own groups
        shares = self.meter.take()
        if not shares:
            return
        stored = self.weights.set(gated(self.weights.get(), shares))
        self.run.weights = stored
        if self.run.eval_history and self.run.eval_history[-1]["step"] == state.global_step:
            self.run.eval_history[-1] = {**self.run.eval_history[-1], "weights": stored, "signal": shares}
        logger.info("step %d groups with reward spread %s -> task weights %s", state.global_step,
                    " ".join(f"{t}={s:.2f}" for t, s in shares.items()),
                    " ".join(f"{t}={w:.3f}" for t, w in stored.items()))
