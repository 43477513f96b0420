"""`tucano-audit audit`: the audit table and the gate decision, without the browser.

    tucano-audit audit                      # all four tasks, records a decision
    tucano-audit audit --tasks push --json  # machine-readable
    tucano-audit audit --no-record          # look without recording

Exit status 0 only when every audited task passes the gate (1 otherwise, 2 for bad input),
so a training script can run `tucano-audit audit --tasks push && ...`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from audit_app.audit import gate
from audit_app.audit.stats import json_safe
from data import paths
from data.store import Store
from data.store.roles import SYSTEM


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "audit", help="reward vs human agreement per task and the training gate decision",
        description="Compute the audit (Spearman rho with a prompt-bootstrap CI, Kendall tau-b, "
                    "agreement ceiling, within-prompt ranking) and the gate decision for the current "
                    "reward versions. Exit 0 only when every task passes.")
    p.add_argument("--tasks", nargs="+", metavar="TASK", help="tasks to audit (default: all four)")
    p.add_argument("--store", metavar="PATH", help="store database (default: $TUCANO_AUDIT_STORE or the home's store.db)")
    p.add_argument("--json", action="store_true", help="print the decision and figures as JSON")
    p.add_argument("--boot", type=int, default=2000, metavar="N", help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--queue", type=_not_negative, default=5, metavar="N",
                   help="disagreement-queue items to print per task (default 5; 0 for none)")
    p.add_argument("--no-record", action="store_true", help="compute and print without storing a decision")
    p.set_defaults(func=run)


def _not_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, 0 or more; got {text!r}")
    return value


def _store_path(args) -> str:
    path = args.store or str(paths.store_path())
    if not os.path.exists(path):
        # Opening would create an empty store, and an empty audit says nothing useful.
        raise FileNotFoundError(f"no store at {path}; sample or import rollouts first (or pass --store)")
    return path


def _num(value, fmt="{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def format_report(decision, queue_n: int = 5) -> str:
    """The audit table, the decision and its reasons, as plain text."""
    report = decision.report
    header = ("task", "verdict", "items", "prompts", "people", "rho", "95% CI", "tau-b", "ties",
              "alpha (95% CI)", "in-prompt tau")
    rows = [header]
    for r in report.rows():
        ci = f"{_num(r['ci_low'])}..{_num(r['ci_high'])}" if r["ci_low"] is not None else "-"
        alpha = (f"{_num(r['alpha'])} ({_num(r['alpha_ci_low'])}..{_num(r['alpha_ci_high'])})"
                 if r["alpha"] is not None else "-")
        tau_in = (f"{_num(r['within_prompt_tau'])} ({r['prompt_groups']})"
                  if r["within_prompt_tau"] is not None else "-")
        rows.append((r["task"], r["verdict"], str(r["items"]), str(r["prompts"]), str(r["annotators"]),
                     _num(r["rho"]), ci, _num(r["tau_b"]), _num(r["reward_ties"], "{:.0%}"), alpha, tau_in))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    which = f"#{decision.id}" if decision.id else "(not recorded)"
    lines += ["", f"Gate decision {which}: {'PASS' if decision.passed() else 'FAIL'} "
                  f"(thresholds revision {decision.thresholds_revision})"]
    lines += [f"  {line}" for line in decision.lines()]
    notes = [f"  {t}: {'warning: ' if level == 'warning' else ''}{text}"
             for t in report.tasks for level, text in report.notes(t)]
    if notes:
        lines += ["", "Notes:"] + notes
    if queue_n:
        for t in report.tasks:
            q = report.queue(t, limit=queue_n)
            if not q:
                continue
            lines += ["", f"Largest disagreements, {t} (flagged first):"]
            for r in q:
                flag = " FLAGGED" if r["flags"] else ""
                lines.append(f"  rollout {r['rollout_id']}: reward {r['reward_total']:.2f} vs human "
                             f"{r['human_score']:.1f} (rank gap {r['rank_diff']:+.2f}){flag}")
                for c in r["comments"]:
                    lines.append(f"      {c['annotator']}: {c['comment'][:120]}")
    return "\n".join(lines)


def to_json(decision, queue_n: int = 5) -> dict:
    report = decision.report
    return json_safe({
        "decision_id": decision.id, "passed": decision.passed(), "computed_by": decision.computed_by,
        "computed_at": decision.computed_at, "reward_versions": decision.reward_versions,
        "reward_names": decision.reward_names, "thresholds": decision.thresholds,
        "thresholds_revision": decision.thresholds_revision, "annotations_hash": decision.annotations_hash,
        "annotation_counts": decision.annotation_counts, "n_boot": report.n_boot, "seed": report.seed,
        "tasks": {t: {"passed": v.passed, "reason": v.reason, "stats": v.stats, "rescored": report.rescored[t],
                      "queue": [{k: r[k] for k in r if k != "completion"} for r in report.queue(t, queue_n)]}
                  for t, v in decision.per_task.items()},
    })


def run(args: argparse.Namespace) -> int:
    with Store(_store_path(args)) as store:
        decision = gate.compute_decision(store, SYSTEM, args.tasks, n_boot=args.boot, seed=args.seed,
                                         record=not args.no_record)
    if args.json:
        json.dump(to_json(decision, args.queue), sys.stdout, ensure_ascii=False, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(format_report(decision, args.queue))
    return 0 if decision.passed() else 1
