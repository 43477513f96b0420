"""The monitor's reward-hacking alarm: the reward rises while the completions stop differing.

A policy that found a degenerate answer the reward pays for (one constant string, a
keyword loop) gets more reward every step while writing the same thing for every
prompt. Per task, from the metrics the run records every logging step
(train.grpo.samples: `distinct/<task>` = share of distinct completions across prompts,
`ngram_repeat/<task>`, `length/<task>`, beside `task_reward/<task>`), the alarm compares
the run's first `window` logged steps with its last `window`: it fires when the task's
reward rose by at least `reward_rise` while the distinct share fell by at least
`distinct_drop` to `distinct_level` or below. The alert carries the offending examples
(the most repeated completions of the latest step, with how many prompts they answered
and the reward they got) from the run folder's `samples.jsonl`.

Where exploit-family signatures plug in (next step, once rewards.exploits exists): the
sampler will add `exploit_share/<task>` (the share of a step's sampled completions whose
text matches an exploit family, with the family names on its examples); `hacking_alerts`
is where a second alarm reads that series beside distinctness and shows the matching
examples, through the same Alert shape.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from train.grpo.samples import SAMPLES_FILE


@dataclass(frozen=True)
class HackingThresholds:
    window: int = 3               # logged steps averaged at the start and at the end
    reward_rise: float = 0.1      # the task's reward must have risen by this much ...
    distinct_drop: float = 0.3    # ... while the share of distinct completions fell by this much
    distinct_level: float = 0.5   # ... to this level or below


@dataclass(frozen=True)
class HackingAlert:
    task: str
    step: int
    message: str
    examples: tuple[dict, ...] = field(default=())


def _series(rows: Sequence[dict], key: str) -> list[tuple[int, float]]:
    return [(int(r["step"]), float(r[key])) for r in rows
            if r.get("kind") == "train" and isinstance(r.get(key), int | float) and not isinstance(r.get(key), bool)]


def _mean(points) -> float:
    return sum(v for _, v in points) / len(points)


def hacking_alerts(rows: Sequence[dict], samples: dict[int, dict] | None = None,
                   thresholds: HackingThresholds = HackingThresholds()) -> list[HackingAlert]:
    """Tasks whose reward rose while their completions stopped differing. `samples`: step ->
    {task: summary} (read_samples), for the examples."""
    t = thresholds
    out = []
    tasks = sorted({k.split("/", 1)[1] for r in rows for k in r if k.startswith("distinct/")})
    for task in tasks:
        distinct = _series(rows, f"distinct/{task}")
        steps = {s for s, _ in distinct}
        reward = [(s, v) for s, v in _series(rows, f"task_reward/{task}") if s in steps]
        if len(distinct) < 2 * t.window or len(reward) < 2 * t.window:
            continue
        d0, d1 = _mean(distinct[: t.window]), _mean(distinct[-t.window:])
        r0, r1 = _mean(reward[: t.window]), _mean(reward[-t.window:])
        if not (r1 - r0 >= t.reward_rise and d0 - d1 >= t.distinct_drop and d1 <= t.distinct_level):
            continue
        step = distinct[-1][0]
        examples = _examples(samples or {}, task)
        shown = ""
        if examples:
            top = examples[0]
            shown = (f" The most repeated completion was written {top['count']} times for {top['prompts']} "
                     f"prompt(s) and got reward {top['reward']:.2f}: {top['completion'][:80]!r}.")
        out.append(HackingAlert(task, step, (
            f"Task {task}: the reward rose from {r0:.2f} to {r1:.2f} while the share of distinct completions fell "
            f"from {d0:.0%} to {d1:.0%} (steps {distinct[0][0]}-{step}). The policy may have found an answer the "
            f"reward pays for whatever the prompt: read the examples, fix the reward (and audit it again), then "
            f"restart from a checkpoint before the fall.{shown}"), tuple(examples)))
    return out


def _examples(samples: dict[int, dict], task: str) -> list[dict]:
    """The latest step's most repeated completions of `task` (else its random sample)."""
    for step in sorted(samples, reverse=True):
        summary = samples[step].get(task)
        if summary:
            return [{**e, "step": step} for e in (summary.get("repeated") or [])] or \
                [{**e, "step": step, "count": 1, "prompts": 1} for e in summary.get("sample", [])[:3]]
    return []


def read_samples(run_dir: str | Path | None, *, last: int = 20) -> dict[int, dict]:
    """step -> {task: summary} for the last `last` logged steps in the run's samples.jsonl
    (read from the end of the file; {} when there is none yet)."""
    if not run_dir:
        return {}
    path = Path(run_dir) / SAMPLES_FILE
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 2_000_000))
        lines = f.read().decode("utf-8", errors="replace").splitlines()[-last:]
    out = {}
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the first line of the window may be cut, or the last one half-written
        if isinstance(record, dict) and "step" in record:
            out[int(record["step"])] = record.get("tasks") or {}
    return out
