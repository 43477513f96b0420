"""What the policy wrote at each logging step, in brief: the evidence for the monitor's
reward-hacking alarm (audit_app.jobs.hacking).

A reward that a degenerate answer maxes (one constant string, a keyword loop) shows in
training as the reward rising while the completions stop differing. TRL's logs carry
only means, so `CompletionSampler.wrap(func, task)` wraps each per-task reward function
(same `__name__`, same signature) and, for the rows that function scored, keeps:

- per task, since the last logging step: completions seen, the share that are distinct
  (across prompts), the share of repeated word 3-grams (a loop repeats its own phrases),
  the mean length in tokens;
- the most repeated completions (text, count, how many prompts, mean reward);
- a few completions drawn at random (reservoir), each with its prompt row's fields
  (prompt_id, task, rating, topic, reference answer), so a check that needs the prompt
  can read them.

The cost is a dict update and a word split per completion: about 0.3 ms for a 512-token
completion, 10 ms for a step of 32, beside a generation step of seconds. `RunRecorder` (train.grpo.callbacks) calls `drain()` at
every training log, adds `distinct/<task>`, `ngram_repeat/<task>`, `length/<task>` to
the step's metrics and writes the examples to `samples.jsonl` in the run folder; it
calls `discard()` after an evaluation, whose completions are not training's.

Where exploit-family signatures plug in (next step, once rewards.exploits exists):
`drain()` is the one place that sees every sampled completion with its prompt row;
`rewards.exploits.detect(completion, row)` runs there on the kept completions and its
family names go into each example and into an `exploit_share/<task>` metric, which the
monitor's alarm then reads beside distinctness.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable

from rewards.parsing import completion_text
from rewards.trl_adapter import row_meta

SAMPLES_FILE = "samples.jsonl"  # in the run folder: one line per logging step
# What TRL passes a reward function beside the dataset columns (not part of the prompt row).
TRL_ARGUMENTS = frozenset({"completion_ids", "trainer_state", "log_extra", "log_metric"})
NGRAM = 3
MAX_TEXT = 1000   # characters of a completion kept as an example
PER_TASK = 6      # random examples kept per task and logging step
TOP_REPEATED = 3  # most repeated completions kept per task and logging step


def repeated_ngrams(text: str, n: int = NGRAM) -> tuple[int, int]:
    """(word n-grams that already occurred earlier in the text, n-grams in the text)."""
    words = text.split()
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return len(grams) - len(set(grams)), len(grams)


class _TaskStep:
    """One task's running figures between two drains."""

    def __init__(self, rng: random.Random):
        self.rng, self.n, self.tokens, self.token_rows = rng, 0, 0, 0
        self.repeated, self.grams = 0, 0
        self.texts: dict[str, dict] = {}  # completion -> {count, prompts, reward_sum}
        self.sample: list[dict] = []

    def add(self, text: str, reward: float, row: dict, tokens: int | None) -> None:
        self.n += 1
        if tokens is not None:
            self.tokens, self.token_rows = self.tokens + tokens, self.token_rows + 1
        rep, grams = repeated_ngrams(text)
        self.repeated, self.grams = self.repeated + rep, self.grams + grams
        seen = self.texts.setdefault(text, {"count": 0, "prompts": set(), "reward_sum": 0.0})
        seen["count"] += 1
        seen["prompts"].add(row.get("prompt_id"))
        seen["reward_sum"] += reward
        example = {"prompt_id": row.get("prompt_id"), "completion": text[:MAX_TEXT], "reward": reward, "row": row}
        if len(self.sample) < PER_TASK:
            self.sample.append(example)
        elif (j := self.rng.randrange(self.n)) < PER_TASK:  # reservoir: every completion equally likely
            self.sample[j] = example

    def summary(self) -> dict:
        top = sorted(self.texts.items(), key=lambda kv: -kv[1]["count"])[:TOP_REPEATED]
        return {
            "completions": self.n,
            "distinct": len(self.texts) / self.n,
            "ngram_repeat": self.repeated / self.grams if self.grams else 0.0,
            "length": self.tokens / self.token_rows if self.token_rows else None,
            "repeated": [{"completion": text[:MAX_TEXT], "count": s["count"], "prompts": len(s["prompts"]),
                          "reward": s["reward_sum"] / s["count"]} for text, s in top if s["count"] > 1],
            "sample": self.sample,
        }


class CompletionSampler:
    """Collects the figures above from wrapped reward functions until `drain()`."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        self.tasks: dict[str, _TaskStep] = {}

    def wrap(self, func: Callable, task: str) -> Callable:
        """`func` (a TRL reward function scoring `task`'s rows, None for the others) that also
        records the rows it scored."""

        @functools.wraps(func)
        def recorded(prompts=None, completions=None, **kwargs):
            out = func(prompts=prompts, completions=completions, **kwargs)
            self.record(task, completions or [], out, kwargs)
            return out

        return recorded

    def record(self, task: str, completions, rewards, columns: dict) -> None:
        ids = columns.get("completion_ids")
        for i, (completion, reward) in enumerate(zip(completions, rewards, strict=True)):
            if reward is None or not math.isfinite(reward):
                continue  # another task's row (or a row the reward could not score)
            # The prompt row as the reward saw it: its ids and its reward meta (for the examples
            # shown with an alarm, and for an exploit-family check of the kept completions).
            row = dict(row_meta({k: v for k, v in columns.items() if k not in TRL_ARGUMENTS}, i))
            tokens = len(ids[i]) if ids is not None else None
            self.tasks.setdefault(task, _TaskStep(self.rng)).add(completion_text(completion), float(reward),
                                                                 row, tokens)

    def drain(self) -> dict[str, dict]:
        """task -> summary of what was recorded since the last drain; starts afresh."""
        out = {task: step.summary() for task, step in self.tasks.items() if step.n}
        self.tasks = {}
        return out

    def discard(self) -> None:
        self.tasks = {}


def step_metrics(summaries: dict[str, dict]) -> dict[str, float]:
    """The flat metric names the monitor reads, from `drain()`'s summaries."""
    out = {}
    for task, s in summaries.items():
        out[f"distinct/{task}"] = s["distinct"]
        out[f"ngram_repeat/{task}"] = s["ngram_repeat"]
        if s["length"] is not None:
            out[f"length/{task}"] = s["length"]
    return out
