"""The audit gate: may GRPO train on these rewards? Pass or fail per task, with reasons.

    decision = compute_decision(store, actor, tasks=["push"])   # audit, judge, record
    decision.passed(["push"])      # True only if every listed task passed
    decision.reasons(["push"])     # why not, in words: ["push: rho 0.31 < 0.50 on 24 items"]
    current_decision(store)        # latest stored decision still valid for today's rewards

A decision is made for the reward versions it audited (`rewards.versions`); as soon as a
reward's source or parameters change its version changes and `current_decision` no
longer returns decisions made for the old one. Thresholds come from the store (latest
admin revision) or, before any edit, from data/store/gate_thresholds.yaml. The audit
itself is audit_app.audit.report; each task's verdict, audit_app.audit.verdict. A stored
decision keeps, per task, its exploit check (families, medians, the bar, one example each)
beside the figures: `decision.per_task[task].exploits`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from audit_app.audit.bootstrap import DEFAULT_BOOT
from audit_app.audit.report import AuditReport, audit_report, check_tasks
from audit_app.audit.verdict import TaskVerdict
from data.store.audit import COMPUTE_ROLES
from data.store.roles import User
from rewards import versions


# -- decisions --------------------------------------------------------------------------------
@dataclass
class GateDecision:
    id: int | None
    tasks: list[str]
    reward_versions: dict[str, str]
    per_task: dict[str, TaskVerdict]
    computed_at: str | None = None
    computed_by: str | None = None
    computed_via: str | None = None  # what computed it: the page, the command line
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
        per_task = {t: TaskVerdict(bool(v["passed"]), v["reason"], v.get("stats") or {}, v.get("exploits"))
                    for t, v in row["per_task"].items()}
        return cls(id=row["id"], tasks=list(row["tasks"]), reward_versions=dict(row["reward_versions"]),
                   per_task=per_task, computed_at=row["computed_at"], computed_by=row["computed_by"],
                   computed_via=row.get("computed_via"),
                   thresholds=row["thresholds"], thresholds_revision=row["thresholds_revision"],
                   annotations_hash=row["annotations_hash"], annotation_counts=row["annotation_counts"],
                   reward_names=row.get("reward_names") or {})


def compute_decision(store, actor: User, tasks: Sequence[str] | None = None, *, rewards: Mapping | None = None,
                     n_boot: int = DEFAULT_BOOT, seed: int = 0, record: bool = True, via: str | None = None,
                     operator: str | None = None, report: AuditReport | None = None) -> GateDecision:
    """Audit, judge every task, and (with `record`) store the decision: engineer, reviewer or admin.

    `via` says what computed it ("Audit & gate page", "tucano-audit audit (command line)"),
    stored beside who; `operator` is who ran the command line when the actor is its
    identity (SYSTEM). `report`: an audit already computed for exactly these tasks, rewards
    and bootstrap settings at the store's current revision (the page's cached one)."""
    actor = store.acting(actor, *COMPUTE_ROLES, action="computing a gate decision")  # the stored account
    if report is None:
        report = audit_report(store, tasks, rewards=rewards, n_boot=n_boot, seed=seed)
    decision = GateDecision(id=None, tasks=report.tasks, reward_versions=report.reward_versions,
                            per_task=report.verdicts, computed_by=operator or actor.username, computed_via=via,
                            thresholds=report.thresholds, thresholds_revision=report.thresholds_revision,
                            annotations_hash=report.annotations_hash,
                            annotation_counts=report.annotation_counts, reward_names=report.reward_names,
                            report=report)
    if record:
        decision.id = store.record_gate_decision(
            actor, tasks=report.tasks, passed=report.passed, reward_versions=report.reward_versions,
            reward_names=report.reward_names, thresholds=report.thresholds,
            thresholds_revision=report.thresholds_revision,
            per_task={t: {"passed": v.passed, "reason": v.reason, "stats": v.stats, "exploits": v.exploits}
                      for t, v in report.verdicts.items()},
            annotations_hash=report.annotations_hash, annotation_counts=report.annotation_counts,
            n_boot=report.n_boot, seed=report.seed, computed_via=via, operator=operator)
        decision.computed_at = store.get_gate_decision(decision.id)["computed_at"]
    return decision


def current_decision(store, tasks: Sequence[str] | None = None) -> GateDecision | None:
    """The latest stored decision covering `tasks` (default all four) whose reward version
    for each of them equals `rewards.versions.current_versions()`; None if there is none."""
    tasks = check_tasks(tasks)
    now = versions.current_versions()
    for row in store.gate_decisions():
        stored = row["reward_versions"]
        if all(t in row["per_task"] and stored.get(t) == now.get(t) for t in tasks):
            return GateDecision.from_row(row)
    return None
