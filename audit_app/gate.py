"""The audit gate: may GRPO train on these rewards? Pass or fail per task, with reasons.

    decision = compute_decision(store, actor, tasks=["push"])   # audit, judge, record
    decision.passed(["push"])      # True only if every listed task passed
    decision.reasons(["push"])     # why not, in words: ["push: rho 0.31 < 0.50 on 24 items"]
    current_decision(store)        # latest stored decision still valid for today's rewards

A decision is made for the reward versions it audited (`rewards.versions`); as soon as a
reward's source or parameters change its version changes and `current_decision` no
longer returns decisions made for the old one. The audit always measures the reward
being decided on: rollouts scored by another reward name or version are re-scored in
memory first. Thresholds come from the store (latest admin revision) or, before any
edit, from gate_thresholds.yaml. Missing data fails closed: no rollouts, no scores, one
annotator, equal scores, NaN rewards each fail the task with the reason said plainly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from audit_app import audit_stats
from audit_app.auth import User, require_role
from audit_app.errors import InvalidInput

THRESHOLDS_FILE = Path(__file__).with_name("gate_thresholds.yaml")
# key -> (type, low, high): the range a threshold may take.
THRESHOLD_KEYS: dict[str, tuple[type, float, float]] = {
    "min_items": (int, 3, 1_000_000),
    "min_annotators": (int, 1, 1000),
    "min_rho": (float, -1.0, 1.0),
    "min_ci_low": (float, -1.0, 1.0),
}
COMPUTE_ROLES = ("engineer", "reviewer")
# A component whose rho against people is this low or lower is named as working against them.
NEGATIVE_COMPONENT_RHO = -0.2


def _tasks() -> tuple[str, ...]:
    from rewards.types import TASKS

    return TASKS


# -- thresholds ---------------------------------------------------------------------------
def load_default_thresholds(path: str | Path = THRESHOLDS_FILE) -> dict:
    """The shipped thresholds file, validated."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"gate thresholds file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path.name} is not valid YAML: {exc}") from exc
    return validate_thresholds(data)


def _check_limits(values, where: str) -> dict:
    if not isinstance(values, Mapping):
        raise InvalidInput(f"gate thresholds: {where} must be a mapping of threshold -> value")
    out = {}
    for key, value in values.items():
        if key not in THRESHOLD_KEYS:
            raise InvalidInput(f"gate thresholds: unknown key {key!r} in {where}; "
                               f"valid keys: {', '.join(THRESHOLD_KEYS)}")
        kind, low, high = THRESHOLD_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidInput(f"gate thresholds: {where}.{key} must be a number, got {value!r}")
        if kind is int and value != int(value):
            raise InvalidInput(f"gate thresholds: {where}.{key} must be a whole number, got {value!r}")
        if not low <= value <= high:
            raise InvalidInput(f"gate thresholds: {where}.{key} = {value} is outside {low}..{high}")
        out[key] = kind(value)
    return out


def validate_thresholds(config) -> dict:
    """Normalised copy of a thresholds config; InvalidInput names what is wrong."""
    if not isinstance(config, Mapping):
        raise InvalidInput("gate thresholds must be a mapping with 'defaults' and 'tasks'")
    unknown = set(config) - {"version", "defaults", "tasks"}
    if unknown:
        raise InvalidInput(f"gate thresholds: unknown section(s) {', '.join(sorted(map(str, unknown)))}; "
                           "valid: version, defaults, tasks")
    defaults = _check_limits(config.get("defaults") or {}, "defaults")
    missing = [k for k in THRESHOLD_KEYS if k not in defaults]
    if missing:
        raise InvalidInput(f"gate thresholds: defaults must set {', '.join(missing)}")
    tasks = config.get("tasks") or {}
    if not isinstance(tasks, Mapping):
        raise InvalidInput("gate thresholds: tasks must be a mapping of task -> overrides")
    valid = _tasks()
    per_task = {}
    for task, overrides in tasks.items():
        if task not in valid:
            raise InvalidInput(f"gate thresholds: unknown task {task!r}; valid tasks: {', '.join(valid)}")
        per_task[task] = _check_limits(overrides or {}, f"tasks.{task}")
    version = config.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidInput(f"gate thresholds: version must be an integer, got {version!r}")
    return {"version": version, "defaults": defaults, "tasks": per_task}


def thresholds_for(config: dict, task: str) -> dict:
    """The effective thresholds of one task (defaults with its overrides)."""
    return {**config["defaults"], **config.get("tasks", {}).get(task, {})}


# -- verdicts -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskVerdict:
    passed: bool
    reason: str
    stats: dict = field(default_factory=dict, compare=False, repr=False)


def evaluate(st: audit_stats.TaskStats, limits: dict) -> TaskVerdict:
    """Judge one task's figures against its thresholds; fail closed on missing data."""
    task, n = st.task, st.n_items
    stats = st.to_dict()

    def fail(*why: str) -> TaskVerdict:
        return TaskVerdict(False, f"{task}: " + "; ".join(why), stats)

    if st.n_rollouts == 0:
        return fail("no rollouts for this task; sample some first")
    if n == 0 and st.n_nan_rewards == 0:
        of = f" (0 of {st.n_rollouts} rollouts scored)" if st.n_rollouts else ""
        return fail(f"no human scores yet{of}")
    why: list[str] = []
    if st.n_nan_rewards:
        why.append(f"{st.n_nan_rewards} of {st.n_nan_rewards + n} scored items have no reward total (NaN); "
                   "the reward must score every completion")
    need = limits["min_annotators"]
    if st.n_annotators < need:
        who = f" ({', '.join(st.annotators)})" if st.annotators else ""
        why.append(f"only {st.n_annotators} annotator{'' if st.n_annotators == 1 else 's'}{who}, "
                   f"{need} needed")
    if n and st.human_distinct == 1:
        why.append(f"all {n} human scores are equal ({st.human_mean:g}), so there is no human order to match")
    if n and st.reward_distinct == 1:
        why.append(f"the reward gives all {n} items the same total ({st.reward_mean:.2f}), so it ranks nothing")
    if n < limits["min_items"]:
        why.append(f"{n} scored items < {limits['min_items']} needed")
    if st.rho is None:
        if n and st.human_distinct > 1 and st.reward_distinct > 1:
            why.append(f"rho could not be computed on {n} items")
    elif st.rho < limits["min_rho"]:
        why.append(f"rho {st.rho:.2f} < {limits['min_rho']:.2f} on {n} items")
    if st.rho is not None:
        if st.ci_low is None:
            why.append(f"no bootstrap interval ({st.n_prompts} prompts are too few to resample)")
        elif st.ci_low <= limits["min_ci_low"]:
            why.append(f"95% CI lower bound {st.ci_low:.2f} <= {limits['min_ci_low']:.2f} "
                       f"(rho {st.rho:.2f}, CI {st.ci_low:.2f} to {st.ci_high:.2f}, {st.n_prompts} prompts)")
    if why:
        return fail(*why)
    return TaskVerdict(True, f"{task}: rho {st.rho:.2f} >= {limits['min_rho']:.2f} on {n} items, "
                             f"95% CI {st.ci_low:.2f} to {st.ci_high:.2f} (lower bound > "
                             f"{limits['min_ci_low']:.2f}), {st.n_annotators} annotators", stats)


# -- what is audited: the rewards and their versions -----------------------------------------
@dataclass(frozen=True)
class TaskScorer:
    """The reward a task is audited against: `score_item(item)` -> RewardBreakdown.

    Built from a `rewards.registry.Reward` by `as_scorer`; tests build their own to
    audit deliberately broken copies of the rewards."""

    name: str
    version: str
    score_item: Callable[[dict], object]


def reward_meta(item: dict) -> dict:
    """The keyword arguments a reward takes for this item's prompt (as when it was stored)."""
    meta = item.get("meta") or {}
    try:
        from data.prompts import reward_meta as meta_of
    except ImportError:
        # Rewards ignore keys they do not read; absent values are left out.
        return {k: v for k, v in meta.items() if v is not None}
    return meta_of({"prompt_id": item.get("prompt_id"), "task": item.get("task"),
                    "prompt": item.get("prompt") or [], "split": None, **meta})


def as_scorer(reward) -> TaskScorer:
    """Wrap a Reward (`.name`, `.version`, `.score(completion, **meta)`) as a TaskScorer."""
    if isinstance(reward, TaskScorer):
        return reward
    return TaskScorer(reward.name, reward.version,
                      lambda item: reward.score(item.get("completion") or "", **reward_meta(item)))


def default_scorers(tasks: Sequence[str]) -> dict[str, TaskScorer]:
    """Each task's default reward from the registry."""
    from rewards import registry

    return {t: as_scorer(registry.get_reward(registry.default_reward_name(t))) for t in tasks}


def rescore(items: list[dict], scorer: TaskScorer) -> tuple[list[dict], int]:
    """Items as `scorer` scores them: stored breakdowns of the same reward name and version
    are kept, the others are recomputed (copies; the store is not changed)."""
    out, n = [], 0
    for item in items:
        if item.get("reward_name") == scorer.name and item.get("reward_version") == scorer.version:
            out.append(item)
            continue
        b = scorer.score_item(item)
        out.append({**item, "reward_name": scorer.name, "reward_version": scorer.version,
                    "reward_total": b.total, "reward_components": dict(b.components),
                    "reward_notes": list(b.notes), "rescored": True})
        n += 1
    return out, n


# -- the audit of a store ---------------------------------------------------------------------
@dataclass
class AuditReport:
    """Everything the page and the CLI show: figures, verdicts and the items behind them."""

    tasks: list[str]
    stats: dict[str, audit_stats.TaskStats]
    verdicts: dict[str, TaskVerdict]
    items: dict[str, list[dict]]
    reward_versions: dict[str, str]
    reward_names: dict[str, str]
    rescored: dict[str, int]
    thresholds: dict
    thresholds_revision: int
    annotations_hash: str
    annotation_counts: dict[str, dict]
    n_boot: int
    seed: int

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts.values())

    def queue(self, task: str, limit: int | None = 50) -> list[dict]:
        return audit_stats.disagreement_queue(self.items.get(task, []), limit=limit)

    def notes(self, task: str) -> list[tuple[str, str]]:
        """What a reader should know beside `task`'s figures, as (level, text) with level
        "info" or "warning": why a figure is missing, ties, re-scoring, components that run
        against people. The CLI prints them and the page shows them, worded alike."""
        st = self.stats[task]
        out = [("info", p) for p in st.problems]
        if st.ties_warning:
            out.append(("warning", st.ties_warning))
        if self.rescored.get(task):
            out.append(("info", f"{self.rescored[task]} rollouts re-scored with {self.reward_names[task]} "
                                f"{self.reward_versions[task][:10]} (stored scores came from another version)"))
        for name, rho in st.components.items():
            if rho is not None and rho <= NEGATIVE_COMPONENT_RHO:
                out.append(("warning", f"component {name} runs against people (rho {rho:.2f})"))
        return out

    def rows(self) -> list[dict]:
        """One flat row per task (the table the CLI prints and the page shows)."""
        out = []
        for t in self.tasks:
            st, v = self.stats[t], self.verdicts[t]
            out.append({
                "task": t, "verdict": "PASS" if v.passed else "FAIL", "items": st.n_items,
                "prompts": st.n_prompts, "annotators": st.n_annotators, "rho": st.rho,
                "ci_low": st.ci_low, "ci_high": st.ci_high, "p_value": st.p_value, "tau_b": st.tau_b,
                "reward_ties": st.reward_ties, "alpha": st.alpha, "alpha_ci_low": st.alpha_ci_low,
                "alpha_ci_high": st.alpha_ci_high, "within_prompt_tau": st.within_prompt_tau,
                "prompt_groups": st.n_prompt_groups, "rescored": self.rescored.get(t, 0),
                "reward": f"{self.reward_names[t]}@{self.reward_versions[t][:10]}",
            })
        return out


def _check_tasks(tasks) -> list[str]:
    valid = _tasks()
    tasks = list(valid if tasks is None else tasks)
    bad = [t for t in tasks if t not in valid]
    if bad or not tasks:
        raise InvalidInput(f"unknown task(s) {', '.join(bad) or '(none given)'}; valid tasks: {', '.join(valid)}")
    return list(dict.fromkeys(tasks))


def audit_report(store, tasks: Sequence[str] | None = None, *, rewards: Mapping | None = None,
                 n_boot: int = audit_stats.DEFAULT_BOOT, seed: int = 0) -> AuditReport:
    """Audit `tasks` (default all four) against `rewards` (task -> Reward or TaskScorer;
    default each task's registry reward) with the thresholds in force. Reads only."""
    tasks = _check_tasks(tasks)
    if n_boot < 100:
        raise InvalidInput(f"n_boot must be at least 100 for a 95% interval, got {n_boot}")
    missing = [t for t in tasks if not rewards or t not in rewards]
    scorers = default_scorers(missing) if missing else {}
    for task, reward in (rewards or {}).items():
        if task in tasks:
            scorers[task] = as_scorer(reward)
    th = store.gate_thresholds()
    digest, counts = store.annotation_snapshot(tasks)
    items, rescored = {}, {}
    for task in tasks:
        items[task], rescored[task] = rescore(store.audit_items(task), scorers[task])
    stats = audit_stats.audit(items, rollout_counts={t: counts[t]["rollouts"] for t in tasks},
                              n_boot=n_boot, seed=seed)
    verdicts = {t: evaluate(stats[t], thresholds_for(th["config"], t)) for t in tasks}
    return AuditReport(tasks=tasks, stats=stats, verdicts=verdicts, items=items,
                       reward_versions={t: scorers[t].version for t in tasks},
                       reward_names={t: scorers[t].name for t in tasks}, rescored=rescored,
                       thresholds=th["config"], thresholds_revision=th["revision"],
                       annotations_hash=digest, annotation_counts=counts, n_boot=n_boot, seed=seed)


# -- decisions --------------------------------------------------------------------------------
@dataclass
class GateDecision:
    id: int | None
    tasks: list[str]
    reward_versions: dict[str, str]
    per_task: dict[str, TaskVerdict]
    computed_at: str | None = None
    computed_by: str | None = None
    thresholds: dict = field(default_factory=dict)
    thresholds_revision: int = 0
    annotations_hash: str = ""
    annotation_counts: dict = field(default_factory=dict)
    reward_names: dict[str, str] = field(default_factory=dict)
    report: AuditReport | None = field(default=None, repr=False)  # only on a fresh computation

    def passed(self, tasks: Sequence[str] | None = None) -> bool:
        """True only when every task in `tasks` (default: the decided ones) was decided and passed."""
        tasks = self.tasks if tasks is None else list(tasks)
        return bool(tasks) and all(t in self.per_task and self.per_task[t].passed for t in tasks)

    def reasons(self, tasks: Sequence[str] | None = None) -> list[str]:
        """Why the gate blocks `tasks`: one line per failed or undecided task; [] when passed."""
        tasks = self.tasks if tasks is None else list(tasks)
        out = []
        for t in tasks:
            if t not in self.per_task:
                out.append(f"{t}: not covered by gate decision #{self.id}")
            elif not self.per_task[t].passed:
                out.append(self.per_task[t].reason)
        return out

    def lines(self, tasks: Sequence[str] | None = None) -> list[str]:
        """One line per task, passed or not, prefixed PASS / FAIL."""
        tasks = self.tasks if tasks is None else list(tasks)
        return [("PASS " if self.per_task[t].passed else "FAIL ") + self.per_task[t].reason
                for t in tasks if t in self.per_task]

    @classmethod
    def from_row(cls, row: dict) -> GateDecision:
        per_task = {t: TaskVerdict(bool(v["passed"]), v["reason"], v.get("stats") or {})
                    for t, v in row["per_task"].items()}
        return cls(id=row["id"], tasks=list(row["tasks"]), reward_versions=dict(row["reward_versions"]),
                   per_task=per_task, computed_at=row["computed_at"], computed_by=row["computed_by"],
                   thresholds=row["thresholds"], thresholds_revision=row["thresholds_revision"],
                   annotations_hash=row["annotations_hash"], annotation_counts=row["annotation_counts"],
                   reward_names=row.get("reward_names") or {})


def compute_decision(store, actor: User, tasks: Sequence[str] | None = None, *, rewards: Mapping | None = None,
                     n_boot: int = audit_stats.DEFAULT_BOOT, seed: int = 0, record: bool = True) -> GateDecision:
    """Audit, judge every task, and (with `record`) store the decision: engineer, reviewer or admin."""
    require_role(actor, *COMPUTE_ROLES, action="computing a gate decision")
    report = audit_report(store, tasks, rewards=rewards, n_boot=n_boot, seed=seed)
    decision = GateDecision(id=None, tasks=report.tasks, reward_versions=report.reward_versions,
                            per_task=report.verdicts, computed_by=actor.username,
                            thresholds=report.thresholds, thresholds_revision=report.thresholds_revision,
                            annotations_hash=report.annotations_hash,
                            annotation_counts=report.annotation_counts, reward_names=report.reward_names,
                            report=report)
    if record:
        decision.id = store.record_gate_decision(
            actor, tasks=report.tasks, passed=report.passed, reward_versions=report.reward_versions,
            reward_names=report.reward_names, thresholds=report.thresholds,
            thresholds_revision=report.thresholds_revision,
            per_task={t: {"passed": v.passed, "reason": v.reason, "stats": v.stats}
                      for t, v in report.verdicts.items()},
            annotations_hash=report.annotations_hash, annotation_counts=report.annotation_counts,
            n_boot=n_boot, seed=seed)
        decision.computed_at = store.get_gate_decision(decision.id)["computed_at"]
    return decision


def current_decision(store, tasks: Sequence[str] | None = None) -> GateDecision | None:
    """The latest stored decision covering `tasks` (default all four) whose reward version
    for each of them equals `rewards.versions.current_versions()`; None if there is none."""
    from rewards.versions import current_versions

    tasks = _check_tasks(tasks)
    now = current_versions()
    for row in store.gate_decisions():
        versions = row["reward_versions"]
        if all(t in row["per_task"] and versions.get(t) == now.get(t) for t in tasks):
            return GateDecision.from_row(row)
    return None
