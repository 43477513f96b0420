"""The training monitor: alerts in words from a run's metrics, its charts, checkpoints and log tail.

Pure functions over the metric rows a run records every logging step
(`store.run_metrics(run_id)`: dicts with `kind` "train"/"eval", `step`, and the flat
names written by train.grpo.callbacks: reward, reward_std, frac_reward_zero_std, entropy,
kl, clip_ratio, completion_length, truncated_share, learning_rate, step_time,
task_reward, task_reward/<task>, component/<task>/<name>, task_weight/<task>).

Alerts look for the ways a GRPO run goes wrong that the recipe we follow ran into:
- identical rollouts: every completion of a prompt gets the same reward for several steps
  (frac_reward_zero_std near 1), so the group carries no signal: often a temperature problem;
- the length limit: most completions are cut off at max_completion_length;
- entropy collapse: entropy well below its early level while the eval reward falls;
- a stuck task: one task's reward does not move at all;
- reward hacking: a task's reward rises while its completions stop differing, or its
  completions keep showing an exploit family the reward pays for (audit_app.jobs.hacking,
  with the offending examples, family named, from the run's samples.jsonl).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from audit_app.jobs.hacking import exploit_alerts, hacking_alerts, read_samples
from audit_app.jobs.runner import log_tail as job_log_tail


@dataclass(frozen=True)
class Thresholds:
    zero_std_level: float = 0.9  # share of prompt groups with one reward for all completions
    zero_std_steps: int = 5
    truncated_level: float = 0.5  # share of completions stopped by the length limit
    truncated_steps: int = 5
    entropy_window: int = 5  # steps averaged for "early" and "recent" entropy
    entropy_ratio: float = 0.5  # recent below this fraction of early = collapse
    eval_drop: float = 0.02  # eval reward this far below its best counts as falling
    stuck_steps: int = 30  # train values of a task looked at
    stuck_evals: int = 3
    stuck_range: float = 0.01  # a reward moving less than this has not moved


@dataclass(frozen=True)
class Alert:
    kind: str  # identical_rollouts | length_limit | entropy_collapse | stuck_task | reward_hacking | exploit_family
    message: str
    step: int
    task: str | None = None
    examples: tuple[dict, ...] = ()  # reward_hacking / exploit_family: the completions behind it


def _series(rows: Sequence[dict], key: str) -> list[tuple[int, float]]:
    out = []
    for row in rows:
        value = row.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            out.append((int(row["step"]), float(value)))
    return out


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def split_rows(rows: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """(train rows, eval rows) from store.run_metrics output."""
    return [r for r in rows if r.get("kind") == "train"], [r for r in rows if r.get("kind") == "eval"]


def tasks_in(rows: Sequence[dict]) -> list[str]:
    names = {k.split("/", 1)[1] for r in rows for k in r if k.startswith("task_reward/")}
    return sorted(names)


def alerts(rows: Sequence[dict], *, temperature: float | None = None, max_completion_length: int | None = None,
           thresholds: Thresholds = Thresholds(), samples: dict[int, dict] | None = None) -> list[Alert]:
    """Every alert that the run's metrics raise now, in words, newest evidence first.
    `samples` (hacking.read_samples) supplies the examples of a reward-hacking alert."""
    train, evals = split_rows(rows)
    t = thresholds
    found: list[Alert] = []

    zero = _series(train, "frac_reward_zero_std")
    if len(zero) >= t.zero_std_steps and all(v >= t.zero_std_level for _, v in zero[-t.zero_std_steps:]):
        share = _mean(v for _, v in zero[-t.zero_std_steps:])
        temp = f" (this run samples at temperature {temperature:g})" if temperature is not None else ""
        found.append(Alert(
            "identical_rollouts",
            f"For the last {t.zero_std_steps} steps, {share:.0%} of prompts gave the same reward to all of their "
            f"completions (frac_reward_zero_std {share:.2f}), so those groups teach nothing. If the completions are "
            f"identical, check the sampling temperature{temp}; otherwise the reward is flat on these prompts.",
            zero[-1][0],
        ))

    cut = _series(train, "truncated_share")
    if len(cut) >= t.truncated_steps and all(v >= t.truncated_level for _, v in cut[-t.truncated_steps:]):
        share = _mean(v for _, v in cut[-t.truncated_steps:])
        limit = f"the {max_completion_length}-token" if max_completion_length else "the"
        found.append(Alert(
            "length_limit",
            f"Most completions hit {limit} length limit: {share:.0%} were cut off over the last "
            f"{t.truncated_steps} steps. Cut-off answers are scored half-written; raise max_completion_length or "
            "look for rambling and repetition.",
            cut[-1][0],
        ))

    found += _entropy_collapse(train, evals, t)
    found += _stuck_tasks(train, evals, t)
    found += [Alert("reward_hacking", h.message, h.step, h.task, h.examples) for h in hacking_alerts(rows, samples)]
    found += [Alert("exploit_family", h.message, h.step, h.task, h.examples) for h in exploit_alerts(rows, samples)]
    return found


def _entropy_collapse(train, evals, t: Thresholds) -> list[Alert]:
    entropy = _series(train, "entropy")
    if len(entropy) < 2 * t.entropy_window:
        return []
    early = _mean(v for _, v in entropy[: t.entropy_window])
    recent = _mean(v for _, v in entropy[-t.entropy_window:])
    if early <= 0 or recent >= t.entropy_ratio * early:
        return []
    scores = _series(evals, "task_reward")
    if len(scores) < 2:
        return []
    best_step, best = max(scores, key=lambda sv: (sv[1], -sv[0]))
    last_step, last = scores[-1]
    if last_step == best_step or best - last <= t.eval_drop:
        return []
    return [Alert(
        "entropy_collapse",
        f"Entropy collapsed: it fell from {early:.2f} early in the run to {recent:.2f} ({recent / early:.0%} of "
        f"its early level) while the eval reward dropped from {best:.3f} at step {best_step} to {last:.3f} at "
        f"step {last_step}. The policy is narrowing onto worse answers; the best checkpoint (step {best_step}) is "
        "kept, and stopping now loses nothing.",
        entropy[-1][0],
    )]


def _stuck_tasks(train, evals, t: Thresholds) -> list[Alert]:
    out = []
    for task in tasks_in([*train, *evals]):
        key = f"task_reward/{task}"
        values = _series(train, key)[-t.stuck_steps:]
        scores = _series(evals, key)[-t.stuck_evals:]
        flat_train = len(values) >= t.stuck_steps and max(v for _, v in values) - min(v for _, v in values) < t.stuck_range
        flat_eval = len(scores) >= t.stuck_evals and max(v for _, v in scores) - min(v for _, v in scores) < t.stuck_range
        if not (flat_train or flat_eval):
            continue
        if flat_train:
            level, span = _mean(v for _, v in values), f"its last {len(values)} training values"
            step = values[-1][0]
        else:
            level, span = _mean(v for _, v in scores), f"the last {len(scores)} evaluations"
            step = scores[-1][0]
        out.append(Alert(
            "stuck_task",
            f"Task {task}: the reward has not moved over {span} (stays at {level:.3f}). Its prompts give the "
            "policy no signal: check this task's reward in the audit, or exclude it from the mix.",
            step,
            task,
        ))
    return out


def example_rows(alert: Alert) -> list[dict]:
    """The table of an alert's examples on the Train page: the exploit families each one
    shows, how often it was written and for how many prompts, its reward, the text."""
    return [{"exploit families": ", ".join(e.get("families") or []) or "-", "step": e.get("step"),
             "times written": e.get("count", 1), "prompts": e.get("prompts", 1), "reward": round(e["reward"], 3),
             "completion": e["completion"]} for e in alert.examples]


# -- checkpoints and log ------------------------------------------------------------------------
def checkpoint_rows(checkpoints: Sequence[dict], best_step: int | None) -> list[dict]:
    """Checkpoint table for the page: step, eval score, folder, and which one is best."""
    rows = []
    for c in checkpoints:
        best = bool(c.get("is_best"))
        rows.append({
            "step": c["step"],
            "eval score": None if c.get("eval_score") is None else round(float(c["eval_score"]), 4),
            "best": "★ best" if best else ("= best step" if best_step is not None and c["step"] == best_step else ""),
            "folder": c["path"],
        })
    return rows


def log_tail(path: str | Path | None, lines: int = 40) -> str:
    """The last `lines` lines of a log file ('' when it does not exist yet)."""
    if not path:
        return ""
    p = Path(path)
    if not p.is_file():
        return ""
    with p.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 64_000))
        text = f.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


# -- charts -------------------------------------------------------------------------------------
CHARTS: list[tuple[str, list[str]]] = [
    ("Reward (train) and eval reward", ["reward", "eval:task_reward"]),
    ("Reward per task (train)", ["task_reward/*"]),
    ("Eval reward per task", ["eval:task_reward/*"]),
    ("Task weights (IWU)", ["task_weight/*"]),
    ("Reward std and zero-std share", ["reward_std", "frac_reward_zero_std"]),
    ("Entropy", ["entropy"]),
    ("Completion length and truncated share", ["completion_length", "truncated_share"]),
    ("Distinct completions per task (share)", ["distinct/*"]),
    ("Repeated word 3-grams per task (share)", ["ngram_repeat/*"]),
    ("Completions showing an exploit family, per task (share)", ["exploit_share/*"]),
    ("Completion length per task (tokens)", ["length/*"]),
    ("KL and clip ratio", ["kl", "clip_ratio"]),
    ("Learning rate", ["learning_rate"]),
    ("Step time (s)", ["step_time"]),
]


def chart_series(rows: Sequence[dict], spec: list[str]) -> dict[str, list[tuple[int, float]]]:
    """name -> [(step, value)] for a chart spec ("eval:" selects eval rows, "*" expands a prefix)."""
    train, evals = split_rows(rows)
    out: dict[str, list[tuple[int, float]]] = {}
    for item in spec:
        source, key, label = (evals, item[5:], "eval ") if item.startswith("eval:") else (train, item, "")
        keys = sorted({k for r in source for k in r if k.startswith(key[:-1])}) if key.endswith("*") else [key]
        for k in keys:
            series = _series(source, k)
            if series:
                out[label + k] = series
    return out


def figures(rows: Sequence[dict]):
    """(title, plotly Figure) for every chart that has data."""
    import plotly.graph_objects as go

    figs = []
    for title, spec in CHARTS:
        series = chart_series(rows, spec)
        if not series:
            continue
        fig = go.Figure()
        for name, points in series.items():
            fig.add_trace(go.Scatter(x=[s for s, _ in points], y=[v for _, v in points], name=name,
                                     mode="lines+markers" if name.startswith("eval") or len(points) < 30 else "lines"))
        fig.update_layout(title=title, height=300, margin={"l": 40, "r": 10, "t": 40, "b": 30},
                          xaxis_title="step", legend={"orientation": "h"})
        figs.append((title, fig))
    return figs


# -- one run, as the Train page shows it -----------------------------------------------------------
@dataclass
class RunView:
    run: dict
    headline: str
    alerts: list[Alert]
    checkpoints: list[dict]
    figures: list
    log: str
    events: list[dict]


def headline(run: dict) -> str:
    """One sentence: where the run stands."""
    verb = {"finished": "finished", "failed": "failed", "cancelled": "was cancelled"}.get(
        run["status"], f"is {run['status']}")
    text = f"Run {run['id']} ({run['name']}) {verb}: step {run['step']} of {run['max_steps']}"
    if run.get("best_step") is not None and run.get("best_score") is not None:
        text += f"; best eval reward {run['best_score']:.3f} at step {run['best_step']}"
    if run["status"] in ("failed", "cancelled", "finished") and run.get("stop_reason"):
        text += f" ({run['stop_reason']})"
    if run["status"] == "queued":
        text = f"Run {run['id']} ({run['name']}) is queued: it starts when the run before it ends"
    return text + "."


def run_view(store, run_id: int, *, log_lines: int = 40) -> RunView:
    """Everything the monitor shows for one run, read from the store and its run folder."""
    run = store.get_run(run_id)
    rows = store.run_metrics(run_id)
    grpo = run["recipe"].get("grpo", {})
    log = log_tail(Path(run["run_dir"]) / "train.log", log_lines) if run.get("run_dir") else ""
    if run.get("job_id") and run["status"] == "failed":
        # A crash's traceback is in the job's log, not in train.log.

        job_log = job_log_tail(store.get_job(run["job_id"]), 8000)
        log = (log + "\n--- job log ---\n" + "\n".join(job_log.splitlines()[-log_lines:])).strip()
    return RunView(
        run=run,
        headline=headline(run),
        alerts=alerts(rows, temperature=grpo.get("temperature"), max_completion_length=grpo.get("max_completion_length"),
                      samples=read_samples(run.get("run_dir"))),
        checkpoints=checkpoint_rows(store.list_checkpoints(run_id), run.get("best_step")),
        figures=figures(rows),
        log=log,
        events=store.run_events(run_id),
    )
