"""The monitor's reward-hacking alarms: the reward rises while the completions stop
differing, or the completions take the shape of an exploit family.

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

The second alarm reads the exploit check the sampler runs at every log
(`exploit_share/<task>`: the share of the task's checked completions that show an exploit
family's signature, rewards.exploits.detect; per family counts, rewards and examples in
samples.jsonl). It fires when, over the last `window` logged steps, at least
`exploit_share` of the checked completions match a family, at least `exploit_matches` of
them in all (so one stray sample never alarms, however small the steps), and the reward
pays them at least as well as the other completions (an exploit the reward punishes is
being unlearned, not learned); when every checked completion matches, at least
`reward_rise` more than the task's reward over the run's first `window` logged steps (a
policy that wrote nothing else from the start, like a random-weight model, is not one that
just learned it). The alert names the families with their counts and shows matching
completions, each with its families.
"""

from __future__ import annotations

import json
from collections import Counter
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
    exploit_share: float = 0.3    # mean share of checked completions showing an exploit family ...
    exploit_matches: int = 3      # ... and at least this many of them over the window


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


def exploit_alerts(rows: Sequence[dict], samples: dict[int, dict] | None = None,
                   thresholds: HackingThresholds = HackingThresholds()) -> list[HackingAlert]:
    """Tasks whose recent completions keep showing an exploit family the reward pays for.
    `samples`: step -> {task: summary} (read_samples), for the counts and the examples."""
    t, samples, out = thresholds, samples or {}, []
    tasks = sorted({k.split("/", 1)[1] for r in rows for k in r if k.startswith("exploit_share/")})
    for task in tasks:
        shares = _series(rows, f"exploit_share/{task}")[-t.window:]
        if len(shares) < t.window or _mean(shares) < t.exploit_share:
            continue
        checks = [c for s, _ in shares if (c := ((samples.get(s) or {}).get(task) or {}).get("exploits"))]
        matched, checked = sum(c["matched"] for c in checks), sum(c["checked"] for c in checks)
        if checks and matched < t.exploit_matches:
            continue  # the steps were small: too few completions to tell a habit from a stray
        paid, others = _mean_reward(checks, "matched"), _mean_reward(checks, "other")
        start = [v for _, v in _series(rows, f"task_reward/{task}")][: t.window]
        if paid is not None and others is not None and paid < others:
            continue  # the reward pays these less than the rest: GRPO moves away from them
        if paid is not None and others is None and len(start) == t.window and \
                paid < sum(start) / len(start) + t.reward_rise:
            continue  # all of them match, as from the start (a policy that never wrote anything else)
        families = Counter()
        for c in checks:
            families.update(c["families"])
        named = ", ".join(f"{n} ({k})" for n, k in families.most_common()) or "see the examples"
        step = shares[-1][0]
        counted = f" ({matched} of {checked})" if checks else ""
        paid_text = "" if paid is None else f" They earned reward {paid:.2f} on average" + (
            f", the other completions {others:.2f}." if others is not None else
            f", against {sum(start) / len(start):.2f} for the run's first {len(start)} logged steps." if start else ".")
        examples = [{**e, "step": s} for s, _ in reversed(shares)
                    for e in (((samples.get(s) or {}).get(task) or {}).get("exploits") or {}).get("examples", [])]
        out.append(HackingAlert(task, step, (
            f"Task {task}: {_mean(shares):.0%} of the completions checked over steps {shares[0][0]}-{step}{counted} "
            f"show an exploit family: {named}.{paid_text} The policy is writing answers shaped to game the reward: "
            "read the examples, run the gate's exploit check on the reward (Audit & gate page), fix it, then restart "
            "from a checkpoint before it spread."), tuple(examples[:6])))
    return out


def _mean_reward(checks: list[dict], which: str) -> float | None:
    """Mean reward of the matched ("matched") or the other ("other") completions over the
    checks, each step weighted by its completions."""
    pairs = [(c[f"{which}_reward"], c["matched"] if which == "matched" else c["checked"] - c["matched"])
             for c in checks if c.get(f"{which}_reward") is not None]
    total = sum(n for _, n in pairs)
    return sum(v * n for v, n in pairs) / total if total else None


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
