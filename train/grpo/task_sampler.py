"""How often each task's prompts are drawn: a sampler over the task mix, with weights that
change while training runs.

GRPOTrainer reads prompts through a sampler that repeats each chosen prompt
`num_generations` times (one group) and hands out a whole generation batch at once
(TRL's RepeatSampler). `TaskMixSampler` keeps that layout but chooses the prompts of each
batch by task: every slot of the batch first picks a task, then takes that task's next
prompt (each task walks its own shuffled list, so no prompt repeats before the task's
list is used up).

Tasks are picked by smooth weighted round-robin, not by an independent draw per slot:
each task banks its weight every slot and the task with the most in the bank is picked and
pays 1 (ties in a seeded order). Over any stretch of slots each task's count stays within
one of weight x slots. Why: short runs are the rule on a CPU, and independent draws made
the mix a matter of luck (14 steps of a 50/50 mix gave two seeds 6 push steps and one
8, so the seeds did not train the same recipe).

The weights live in a shared `TaskWeights` object. The IWU callback (train.grpo.callbacks)
replaces them after each evaluation from the per-task eval rewards (rewards.iwu), and the
sampler reads them when it builds the next batch, so a task that lags gets more prompts
from the next generation batch on (the data loader works one batch ahead, no more).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from torch.utils.data import Sampler


class TaskWeights:
    """Sampling weights per task: non-negative, summing to 1, safe to read while updated."""

    def __init__(self, tasks: Sequence[str], weights: Mapping[str, float] | None = None):
        if not tasks:
            raise ValueError("TaskWeights needs at least one task")
        self.tasks = list(tasks)
        self._lock = threading.Lock()
        self._weights = self._normalise(weights or {t: 1.0 for t in self.tasks})

    def _normalise(self, weights: Mapping[str, float]) -> dict[str, float]:
        unknown = set(weights) - set(self.tasks)
        if unknown:
            raise ValueError(f"task weights name tasks outside the mix: {sorted(unknown)}; mix: {self.tasks}")
        values = {t: float(weights.get(t, 0.0)) for t in self.tasks}
        if any(not math.isfinite(v) or v < 0 for v in values.values()):
            raise ValueError(f"task weights must be finite and >= 0, got {values}")
        total = sum(values.values())
        if total <= 0:
            raise ValueError(f"task weights must not all be zero, got {values}")
        return {t: v / total for t, v in values.items()}

    def get(self) -> dict[str, float]:
        with self._lock:
            return dict(self._weights)

    def set(self, weights: Mapping[str, float]) -> dict[str, float]:
        """Replace the weights (normalised to sum 1); returns what was stored."""
        clean = self._normalise(weights)
        with self._lock:
            self._weights = clean
        return dict(clean)


class TaskMixSampler(Sampler[int]):
    """Indices for GRPOTrainer's training data loader, prompts chosen by task weight.

    Layout (as TRL's RepeatSampler): each batch holds `batch_size` prompts, each repeated
    `mini_repeat_count` times in a row (one group per prompt); the whole batch is then
    repeated `repeat_count` times (reused for num_iterations x steps_per_generation).
    """

    def __init__(self, row_tasks: Sequence[str], weights: TaskWeights, *, mini_repeat_count: int,
                 batch_size: int, repeat_count: int = 1, seed: int = 0, num_batches: int | None = None):
        missing = [t for t in weights.tasks if t not in set(row_tasks)]
        if missing:
            raise ValueError(f"the training prompts have no rows for task(s) {missing} in the mix")
        if min(mini_repeat_count, batch_size, repeat_count) < 1:
            raise ValueError("mini_repeat_count, batch_size and repeat_count must be at least 1")
        self.weights = weights
        self.mini_repeat_count = mini_repeat_count
        self.batch_size = batch_size
        self.repeat_count = repeat_count
        self.seed = seed
        self.by_task = {t: [i for i, rt in enumerate(row_tasks) if rt == t] for t in weights.tasks}
        # As many batches per pass as the dataset holds whole batches (RepeatSampler's epoch length).
        self.num_batches = num_batches or max(1, len(row_tasks) // batch_size)
        self.epoch = 0

    def __len__(self) -> int:
        return self.num_batches * self.batch_size * self.mini_repeat_count * self.repeat_count

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        queues: dict[str, list[int]] = {t: [] for t in self.by_task}

        def next_prompt(task: str) -> int:
            if not queues[task]:
                queues[task] = list(rng.permutation(self.by_task[task]))
            return int(queues[task].pop())

        names = [str(t) for t in rng.permutation(list(self.by_task))]  # the seeded tie order
        bank = dict.fromkeys(names, 0.0)
        for _ in range(self.num_batches):
            current = self.weights.get()
            live = [t for t in names if current[t] > 0]
            for t in names:
                if current[t] <= 0:
                    bank[t] = 0.0  # a task weighted out is not owed slots from before
            batch = []
            for _ in range(self.batch_size):
                for t in live:
                    bank[t] += current[t]
                task = max(live, key=bank.__getitem__)  # first of the most in the bank
                bank[task] -= 1.0
                batch.append(next_prompt(task))
            for _ in range(self.repeat_count):
                for index in batch:
                    for _ in range(self.mini_repeat_count):
                        yield index
