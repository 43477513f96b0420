"""The probe bench: hand-written completions (rewards.probe_cases) with the score range or
ordering each must get.

A probe is a claim about the rewards that a human can read and agree with ("a perfect
JSON scores above a string-echo JSON, which scores above prose"). `run_probes()` scores
every case and checks every claim; `tucano-audit rewards probe` prints the table and
exits non-zero when one fails. Passing `overrides` (reward name -> Reward) runs the same
bench against a modified copy, which is how a planted bug shows up.

SQL cases run on the tiny probe databases (rewards/probe_db.py, the main one and its
second copy), built in a temporary folder, so the bench needs nothing else on disk.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewards import sql_exec
from rewards.probe_cases import CASES, CHECKS, Case, Check
from rewards.probe_db import build_probe_db
from rewards.registry import get_reward
from rewards.routing import route_task
from rewards.types import Reward


@dataclass(frozen=True)
class CheckResult:
    check: Check
    passed: bool
    detail: str


@dataclass(frozen=True)
class ProbeReport:
    scores: dict[str, float]
    breakdowns: dict[str, dict]
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]


def _with_reference(case: Case, db_path: Path, db_path_b: Path) -> dict[str, Any]:
    meta = dict(case.meta)
    if case.task == "sql_qa":
        meta["db_path"] = str(db_path)
        meta["db_path_b"] = str(db_path_b)
        if "reference_sql" in meta and "reference_answer" not in meta:
            # Reference rows computed with a plain connection: the probe database is ours.
            conn = sqlite3.connect(db_path)
            try:
                rows = conn.execute(meta["reference_sql"]).fetchall()
            finally:
                conn.close()
            meta["reference_answer"] = json.dumps([list(r) for r in rows])
    return meta


def run_probes(
    overrides: Mapping[str, Reward] | None = None,
    *,
    tasks: tuple[str, ...] | None = None,
    insights_before_push: bool = True,
) -> ProbeReport:
    """Score every case (of `tasks`, default all) and check every claim."""
    overrides = dict(overrides or {})
    cases = [c for c in CASES if tasks is None or c.task in tasks]
    checks = [c for c in CHECKS if tasks is None or _check_task(c) in tasks]
    scores: dict[str, float] = {}
    breakdowns: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="tucano-probe-") as tmp:
        db_path = build_probe_db(Path(tmp) / "probe.db")
        db_path_b = build_probe_db(Path(tmp) / "probe-b.db", variant=1)
        for case in cases:
            name = case.reward or case.task
            reward = overrides.get(name) or get_reward(name)
            b = reward.score(case.completion, **_with_reference(case, db_path, db_path_b))
            scores[case.name] = b.total
            breakdowns[case.name] = {"reward": reward.name, "version": reward.version, **b.to_dict()}

        sql_exec.close_all()  # the temporary database is about to be deleted
    results = tuple(_evaluate(c, scores, insights_before_push) for c in checks)
    return ProbeReport(scores, breakdowns, results)


def _check_task(check: Check) -> str:
    if check.kind == "route":
        return check.expected_task
    return next(c.task for c in CASES if c.name == check.names[0])


def _evaluate(check: Check, scores: dict[str, float], insights_before_push: bool) -> CheckResult:
    if check.kind == "route":
        try:
            got = route_task(check.prompt, insights_before_push=insights_before_push)
        except ValueError as exc:
            return CheckResult(check, False, str(exc))
        return CheckResult(check, got == check.expected_task, f"routed to {got}")
    vals = [scores[n] for n in check.names]
    shown = ", ".join(f"{n}={v:.3f}" for n, v in zip(check.names, vals, strict=True))
    if check.kind == "range":
        ok = check.lo - 1e-9 <= vals[0] <= check.hi + 1e-9
    elif check.kind == "order":
        ok = all(a > b + 1e-9 for a, b in zip(vals, vals[1:], strict=False))
    else:
        ok = abs(vals[0] - vals[1]) <= check.tol
    return CheckResult(check, ok, shown)


def format_report(report: ProbeReport) -> str:
    """The probe table as text: every case's score, then every check."""
    lines = ["case                              reward             total  components"]
    for name, b in report.breakdowns.items():
        comps = " ".join(f"{k}={v:+.2f}" for k, v in b["components"].items())
        lines.append(f"{name:<33} {b['reward']:<18} {b['total']:.3f}  {comps}")
    lines.append("")
    for r in report.results:
        lines.append(f"{'PASS' if r.passed else 'FAIL'}  {r.check.describe():<60} {r.detail}")
    n_fail = len(report.failures)
    lines.append("")
    lines.append(f"{len(report.results) - n_fail}/{len(report.results)} checks passed")
    return "\n".join(lines)
