"""`tucano-audit audit`: the audit table and the gate decision, without the browser.

    tucano-audit audit                      # all four tasks; reads only, records nothing
    tucano-audit audit --tasks push --json  # machine-readable
    tucano-audit audit --record             # also store the decision (it then counts for training)

Exit status 0 only when every audited task passes the gate (1 otherwise, 2 for bad input),
so a training script can run `tucano-audit audit --tasks push && ...`.

A recorded decision names who computed it: on the command line that is the machine's
operator (the OS login and host, e.g. "ana@gpu-box"; whoever can run this command on the
machine holding the store may act as an administrator), and what computed it, "tucano-audit
audit (command line)".
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys

from audit_app.audit import gate
from audit_app.audit.format import fmt_ci, fmt_exploits, fmt_needed, fmt_num, fmt_p
from audit_app.audit.stats import json_safe
from data import paths
from data.store import Store
from data.store.roles import SYSTEM

VIA = "tucano-audit audit (command line)"


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
    p.add_argument("--record", action="store_true",
                   help="store the decision under the machine's operator (default: read only, store nothing)")
    p.set_defaults(func=run)


def operator() -> str:
    """Who runs this command: the OS login at this host. The command acts as the command
    line's identity (SYSTEM: whoever runs commands on the machine holding the store controls
    it anyway); a recorded decision names this person instead of "system"."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        login = f"uid{os.getuid()}"
    return f"{login}@{socket.gethostname()}"


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


def format_report(decision, queue_n: int = 5) -> str:
    """The audit table, the decision and its reasons, as plain text."""
    report = decision.report
    header = ("task", "verdict", "items", "prompts", "people", "rho", "95% CI", "p", "in-prompt tau (95% CI)",
              "agreement alpha", "ceiling", "ties", "exploits", "still needed")
    rows = [header]
    for r in report.rows():
        tau_in = (f"{fmt_num(r['within_prompt_tau'])} {fmt_ci(r['within_ci_low'], r['within_ci_high'])} "
                  f"({r['prompt_groups']})" if r["within_prompt_tau"] is not None else "-")
        rows.append((r["task"], r["verdict"], str(r["items"]), str(r["prompts"]), str(r["annotators"]),
                     fmt_num(r["rho"]), fmt_ci(r["ci_low"], r["ci_high"]), fmt_p(r["p_value"]), tau_in,
                     f"{fmt_num(r['alpha'])} ({r['overlap']} twice)", fmt_num(r["ceiling"]),
                     fmt_num(r["reward_ties"], percent=True), fmt_exploits(r), fmt_needed(r)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    which = f"#{decision.id} recorded by {decision.computed_by}" if decision.id else "not recorded (read only; --record stores it)"
    lines += ["", f"Gate decision {which}: {'PASS' if decision.passed() else 'FAIL'} "
                  f"(thresholds revision {decision.thresholds_revision})"]
    lines += [f"  {line}" for line in decision.lines()]
    notes = [f"  {t}: {'warning: ' if level == 'warning' else ''}{text}"
             for t in report.tasks for level, text in report.notes(t)]
    if notes:
        lines += ["", "Notes (agreement alpha: between annotators; ceiling: the highest rho a reward can reach "
                      "against the mean human score at that agreement):"] + notes
    lines += format_exploits(report)
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


def format_exploits(report) -> list[str]:
    """The exploit check per task: every family's median reward, the bar, and an example of
    each family that reaches it."""
    checks = {t: report.exploits.get(t) for t in report.tasks if report.exploits.get(t) is not None}
    if not checks:
        return []
    lines = ["", "Exploit check (median reward of each exploit family, built from a seeded sample of the "
                 "task's prompts; a family at or above the bar fails the task):"]
    for t, c in checks.items():
        good = f"; good answers {c.good_median:.2f}" if c.good_median is not None else ""
        lines.append(f"  {t} ({c.reward}, {c.prompts} prompts): bar {c.bar:.2f}, {c.bar_source}{good}")
        if c.error:
            lines.append(f"    could not run: {c.error}")
            continue
        ranked = sorted(c.families.items(), key=lambda kv: -kv[1]["median"])
        lines.append("    " + ", ".join(f"{n} {f['median']:.2f}{' FAIL' if f['failed'] else ''}" for n, f in ranked))
        for n in c.failing:
            ex = c.families[n]["example"]
            lines.append(f"    {n} e.g. {ex['prompt_id']} (reward {ex['breakdown']['total']:.2f}): "
                         f"{ex['completion'][:100]!r}")
    return lines


def to_json(decision, queue_n: int = 5) -> dict:
    report = decision.report
    return json_safe({
        "decision_id": decision.id, "recorded": decision.id is not None, "passed": decision.passed(),
        "computed_by": decision.computed_by, "computed_via": decision.computed_via,
        "computed_at": decision.computed_at, "reward_versions": decision.reward_versions,
        "reward_names": decision.reward_names, "thresholds": decision.thresholds,
        "thresholds_revision": decision.thresholds_revision, "annotations_hash": decision.annotations_hash,
        "annotation_counts": decision.annotation_counts, "n_boot": report.n_boot, "seed": report.seed,
        "tasks": {t: {"passed": v.passed, "reason": v.reason, "stats": v.stats, "rescored": report.rescored[t],
                      "needs": report.needs[t].to_dict(), "exploits": v.exploits,
                      "queue": [{k: r[k] for k in r if k != "completion"} for r in report.queue(t, queue_n)]}
                  for t, v in decision.per_task.items()},
    })


def run(args: argparse.Namespace) -> int:
    with Store(_store_path(args)) as store:
        decision = gate.compute_decision(store, SYSTEM, args.tasks, n_boot=args.boot, seed=args.seed,
                                         record=args.record, via=VIA, operator=operator())
        if args.record:  # the annotate and sample pages read what each task still needs
            store.save_audit_targets({t: n.to_dict() for t, n in decision.report.needs.items()},
                                     revision=store.audit_revision())
    if args.json:
        json.dump(to_json(decision, args.queue), sys.stdout, ensure_ascii=False, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(format_report(decision, args.queue))
    return 0 if decision.passed() else 1
