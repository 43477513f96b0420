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
  (prompt_id, task, rating, topic, reference answer, the reward meta), so a check that
  needs the prompt can read them;
- the exploit check: up to CHECKED completions (all of a step's, or a uniform draw when
  more arrive between two logs) with their prompt rows, which `drain()` runs through
  `rewards.exploits.detect(completion, row)`: the share that shows an exploit family's
  signature (`exploit_share/<task>`), the count per family, the mean reward of those and
  of the others, and a few of them as examples; every example carries its family names.

The cost is a dict update and a word split per completion (about 0.3 ms for a 512-token
completion), and at each log 0.1-0.5 ms of detection per checked completion: 10-25 ms for
a step of 32, beside a generation step of seconds. `RunRecorder` (train.grpo.callbacks)
calls `drain()` at every training log, adds `distinct/<task>`, `ngram_repeat/<task>`,
`length/<task>` and `exploit_share/<task>` to the step's metrics and writes the examples
to `samples.jsonl` in the run folder; it calls `discard()` after an evaluation, whose
completions are not training's. The monitor's alarms read both
(audit_app.jobs.hacking).
"""

from __future__ import annotations

import functools
import logging
import math
import random
from collections import Counter
from collections.abc import Callable

from rewards.exploits import detect
from rewards.parsing import completion_text
from rewards.trl_adapter import row_meta

logger = logging.getLogger("tucano.train")

SAMPLES_FILE = "samples.jsonl"  # in the run folder: one line per logging step
# What TRL passes a reward function beside the dataset columns (not part of the prompt row).
TRL_ARGUMENTS = frozenset({"completion_ids", "trainer_state", "log_extra", "log_metric"})
NGRAM = 3
MAX_TEXT = 1000   # characters of a completion kept as an example
PER_TASK = 6      # random examples kept per task and logging step
TOP_REPEATED = 3  # most repeated completions kept per task and logging step
CHECKED = 64      # completions per task and logging step run through the exploit check
EXPLOIT_EXAMPLES = 3  # completions showing an exploit family kept per task and logging step


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
        self.texts: dict[str, dict] = {}  # completion -> {count, prompts, reward_sum, row}
        self.sample: list[dict] = []
        self.checked: list[tuple[str, float, dict]] = []  # (completion, reward, row) for the exploit check

    def add(self, text: str, reward: float, row: dict, tokens: int | None) -> None:
        self.n += 1
        if tokens is not None:
            self.tokens, self.token_rows = self.tokens + tokens, self.token_rows + 1
        rep, grams = repeated_ngrams(text)
        self.repeated, self.grams = self.repeated + rep, self.grams + grams
        seen = self.texts.setdefault(text, {"count": 0, "prompts": set(), "reward_sum": 0.0, "row": row})
        seen["count"] += 1
        seen["prompts"].add(row.get("prompt_id"))
        seen["reward_sum"] += reward
        example = {"prompt_id": row.get("prompt_id"), "completion": text[:MAX_TEXT], "reward": reward, "row": row}
        if len(self.sample) < PER_TASK:
            self.sample.append(example)
        elif (j := self.rng.randrange(self.n)) < PER_TASK:  # reservoir: every completion equally likely
            self.sample[j] = example
        if len(self.checked) < CHECKED:
            self.checked.append((text, reward, row))
        elif (j := self.rng.randrange(self.n)) < CHECKED:
            self.checked[j] = (text, reward, row)

    def summary(self) -> dict:
        families = _Detector()
        top = sorted(self.texts.items(), key=lambda kv: -kv[1]["count"])[:TOP_REPEATED]
        return {
            "completions": self.n,
            "distinct": len(self.texts) / self.n,
            "ngram_repeat": self.repeated / self.grams if self.grams else 0.0,
            "length": self.tokens / self.token_rows if self.token_rows else None,
            "repeated": [{"completion": text[:MAX_TEXT], "count": s["count"], "prompts": len(s["prompts"]),
                          "reward": s["reward_sum"] / s["count"], "families": families(text, s["row"])}
                         for text, s in top if s["count"] > 1],
            "sample": [{**e, "families": families(e["completion"], e["row"])} for e in self.sample],
            "exploits": families.check(self.checked),
        }


class _Detector:
    """rewards.exploits.detect, once per (completion, prompt) within one drain. A completion
    the detector fails on is counted apart, never allowed to stop a training run."""

    def __init__(self):
        self.memo: dict[tuple, list[str] | None] = {}

    def __call__(self, text: str, row: dict) -> list[str] | None:
        key = (text, row.get("prompt_id"))
        if key not in self.memo:
            try:
                self.memo[key] = detect(text, row)
            except Exception:  # noqa: BLE001 - a monitor's bug must not end a training run
                logger.warning("exploit check failed on a completion of %s", row.get("prompt_id"), exc_info=True)
                self.memo[key] = None
        return self.memo[key]

    def check(self, checked: list[tuple[str, float, dict]]) -> dict:
        """The exploit check of the kept completions: share matched, per family, rewards, examples."""
        counts, matched, others, examples, failed = Counter(), [], [], [], 0
        for text, reward, row in checked:
            names = self(text, row)
            if names is None:
                failed += 1
                continue
            (matched if names else others).append(reward)
            counts.update(names)
            if names and len(examples) < EXPLOIT_EXAMPLES:
                examples.append({"prompt_id": row.get("prompt_id"), "completion": text[:MAX_TEXT], "reward": reward,
                                 "families": names})
        n = len(matched) + len(others)
        return {"checked": n, "matched": len(matched), "share": len(matched) / n if n else None,
                "families": dict(counts.most_common()), "matched_reward": _mean(matched),
                "other_reward": _mean(others), "examples": examples, "failed": failed}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


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
        if (s.get("exploits") or {}).get("share") is not None:
            out[f"exploit_share/{task}"] = s["exploits"]["share"]
    return out
