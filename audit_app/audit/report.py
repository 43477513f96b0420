"""The audit of a store: each task's rollouts, scored by the reward being decided on,
with the human scores beside them, the figures, and each task's verdict.

The audit always measures the reward being decided on: rollouts scored by another reward
name or version are re-scored in memory first (the store is not changed). Reads only.

Beside each verdict, `needs` says how many more scores (items, prompts, second scores)
the task needs at today's agreement (audit_app.audit.needs).

Each task is also tried with the exploit families (audit_app.audit.exploits): the exact
reward object under audit scores them on a sample of the task's prompts in the store, and
a family whose median reward reaches the bar (the median reward of the items people
scored 5) fails the task. The check is part of the report (`exploits`) and of the verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from audit_app.audit import stats as audit_stats
from audit_app.audit.bootstrap import DEFAULT_BOOT
from audit_app.audit.exploits import ExploitCheck
from audit_app.audit.exploits import check as exploit_check
from audit_app.audit.needs import Needs, needs
from audit_app.audit.verdict import TaskVerdict, evaluate
from data.prompts import reward_meta as prompt_reward_meta
from data.store.errors import InvalidInput
from data.store.thresholds import thresholds_for
from rewards import registry
from rewards.types import TASKS

# A component whose rho against people is this low or lower is named as working against them.
NEGATIVE_COMPONENT_RHO = -0.2


@dataclass(frozen=True)
class TaskScorer:
    """The reward a task is audited against: `score_item(item)` -> RewardBreakdown.

    Built from a `rewards.registry.Reward` by `as_scorer`; tests build their own to
    audit deliberately broken copies of the rewards."""

    name: str
    version: str
    score_item: Callable[[dict], object]
    # The Reward itself (`.task`, `.score(completion, **meta)`), for the exploit check; a
    # scorer of stored rollouts only (tests) has none, and its task's check is not run.
    reward: object | None = None


def reward_meta(item: dict) -> dict:
    """The keyword arguments a reward takes for this item's prompt (as when it was stored)."""
    meta = item.get("meta") or {}
    return prompt_reward_meta({"prompt_id": item.get("prompt_id"), "task": item.get("task"),
                    "prompt": item.get("prompt") or [], "split": None, **meta})


def as_scorer(reward) -> TaskScorer:
    """Wrap a Reward (`.name`, `.version`, `.score(completion, **meta)`) as a TaskScorer."""
    if isinstance(reward, TaskScorer):
        return reward
    return TaskScorer(reward.name, reward.version,
                      lambda item: reward.score(item.get("completion") or "", **reward_meta(item)), reward)


def default_scorers(tasks: Sequence[str]) -> dict[str, TaskScorer]:
    """Each task's default reward from the registry."""
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
    needs: dict[str, Needs]
    exploits: dict[str, ExploitCheck | None] = field(default_factory=dict)
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def memo(self, key, build: Callable[[], object]):
        """`build()` once per key for this report (the page's figures: a cached report is drawn
        again on every rerun, and a 10,000-point scatter takes longer to build than to show)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

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
        if st.rho is not None and st.ceiling is not None and st.rho > st.ceiling + 0.05:
            out.append(("info", f"rho {st.rho:.2f} is above the ceiling {st.ceiling:.2f} that the people's "
                                "agreement suggests: with few items scored twice the agreement is uncertain"))
        check = self.exploits.get(task)
        if check is not None:
            out.append(("info" if check.passed else "warning", check.summary()))
        elif self.stats[task].n_rollouts:
            out.append(("info", "exploit check not run: the audited scorer re-reads stored rollouts only and has "
                                "no reward function to try exploits on"))
        out.append(("info", f"still needed: {self.needs[task].reason}"))
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
                "alpha_ci_high": st.alpha_ci_high, "overlap": st.n_alpha_items, "ceiling": st.ceiling,
                "within_prompt_tau": st.within_prompt_tau, "within_ci_low": st.within_ci_low,
                "within_ci_high": st.within_ci_high, "prompt_groups": st.n_prompt_groups,
                "more_items": self.needs[t].items, "more_prompts": self.needs[t].prompts,
                "more_second_scores": self.needs[t].second_scores, "reachable": self.needs[t].reachable,
                "rescored": self.rescored.get(t, 0), "reward": f"{self.reward_names[t]}@{self.reward_versions[t][:10]}",
                **_exploit_row(self.exploits.get(t)),
            })
        return out


def _exploit_row(check: ExploitCheck | None) -> dict:
    top = check.highest() if check else None
    return {"exploit_families": len(check.families) if check else None,
            "exploits_failing": list(check.failing) if check else None,
            "exploit_top": top[0] if top else None, "exploit_top_median": top[1] if top else None,
            "exploit_bar": check.bar if check else None, "exploit_error": check.error if check else None}


def check_tasks(tasks) -> list[str]:
    """The tasks asked for, validated, without repeats (None: all four)."""
    valid = TASKS
    tasks = list(valid if tasks is None else tasks)
    bad = [t for t in tasks if t not in valid]
    if bad or not tasks:
        raise InvalidInput(f"unknown task(s) {', '.join(bad) or '(none given)'}; valid tasks: {', '.join(valid)}")
    return list(dict.fromkeys(tasks))


def audit_report(store, tasks: Sequence[str] | None = None, *, rewards: Mapping | None = None,
                 n_boot: int = DEFAULT_BOOT, seed: int = 0) -> AuditReport:
    """Audit `tasks` (default all four) against `rewards` (task -> Reward or TaskScorer;
    default each task's registry reward) with the thresholds in force. Reads only."""
    tasks = check_tasks(tasks)
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
        # Read without the prompts (their decoding is most of a large read); re-scoring needs
        # them, so a task with stale rollouts is read again in full.
        light = store.audit_items(task, with_prompt=False)
        stale = any(it.get("reward_name") != scorers[task].name or it.get("reward_version") != scorers[task].version
                    for it in light)
        items[task], rescored[task] = rescore(store.audit_items(task) if stale else light, scorers[task])
    stats = audit_stats.audit(items, rollout_counts={t: counts[t]["rollouts"] for t in tasks},
                              n_boot=n_boot, seed=seed)
    limits = {t: thresholds_for(th["config"], t) for t in tasks}
    checks = {t: exploit_check(store, t, scorers[t].reward, items[t]) if scorers[t].reward is not None else None
              for t in tasks}
    verdicts = {t: evaluate(stats[t], limits[t], checks[t]) for t in tasks}
    return AuditReport(tasks=tasks, stats=stats, verdicts=verdicts, items=items, exploits=checks,
                       needs={t: needs(stats[t], limits[t], checks[t]) for t in tasks},
                       reward_versions={t: scorers[t].version for t in tasks},
                       reward_names={t: scorers[t].name for t in tasks}, rescored=rescored,
                       thresholds=th["config"], thresholds_revision=th["revision"],
                       annotations_hash=digest, annotation_counts=counts, n_boot=n_boot, seed=seed)
