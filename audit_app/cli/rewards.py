"""`tucano-audit rewards ...`: score one completion, run the probe bench, list versions.

    tucano-audit rewards score --task push < completion.txt
    tucano-audit rewards score --task sql_qa --meta '{"reference_sql": "SELECT ..."}' < answer.txt
    tucano-audit rewards score --reward sql_qa_heuristic < answer.txt
    tucano-audit rewards probe [--task T ...]
    tucano-audit rewards versions
"""

from __future__ import annotations

import argparse
import json
import sys

from data import paths
from rewards.probes import format_report, run_probes
from rewards.registry import REWARDS, default_reward_name, get_reward
from rewards.types import TASKS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rewards", help="score completions, run the probe bench, show versions")
    sub = parser.add_subparsers(dest="rewards_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    score = sub.add_parser("score", help="score a completion read from stdin; print the breakdown as JSON")
    target = score.add_mutually_exclusive_group(required=True)
    target.add_argument("--task", choices=TASKS, help="score with this task's default reward")
    target.add_argument("--reward", help="score with this registered reward (e.g. sql_qa_heuristic)")
    score.add_argument("--meta", default="{}", help="prompt metadata as a JSON object, e.g. '{\"rating\": 2}'")
    score.set_defaults(func=_cmd_score)

    probe = sub.add_parser("probe", help="run the probe bench; exit 1 if any check fails")
    probe.add_argument("--task", action="append", choices=TASKS, help="only this task (repeatable)")
    probe.add_argument("--json", action="store_true", help="print the report as JSON")
    probe.set_defaults(func=_cmd_probe)

    versions = sub.add_parser("versions", help="print every registered reward's version")
    versions.set_defaults(func=_cmd_versions)


def _parse_meta(text: str) -> dict:
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--meta is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise ValueError("--meta must be a JSON object, e.g. '{\"rating\": 2}'")
    return meta


def _cmd_score(args: argparse.Namespace) -> int:
    meta = _parse_meta(args.meta)
    reward = get_reward(args.reward or default_reward_name(args.task))
    if "db_path" in reward.meta_keys:
        # Rewards know no home folder: the command gives the home's databases unless --meta names them.
        meta.setdefault("db_path", str(paths.commerce_db()))
        if "db_path_b" in reward.meta_keys:
            meta.setdefault("db_path_b", str(paths.second_db(meta["db_path"])))
    # Bytes decoded leniently: a completion with invalid UTF-8 is still a completion to score.
    completion = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    breakdown = reward.score(completion, **meta)
    out = {"task": reward.task, "reward": reward.name, **breakdown.to_dict(), "version": reward.version}
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    report = run_probes(tasks=tuple(args.task) if args.task else None)
    if args.json:
        print(json.dumps({
            "passed": report.passed,
            "cases": report.breakdowns,
            "checks": [{"check": r.check.describe(), "passed": r.passed, "detail": r.detail} for r in report.results],
        }, ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
    return 0 if report.passed else 1


def _cmd_versions(args: argparse.Namespace) -> int:
    for name, reward in REWARDS.items():
        print(f"{name:<18} {reward.task:<11} {reward.version}")
    return 0
