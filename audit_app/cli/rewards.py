"""`tucano-audit rewards ...`: score one completion, run the probe bench or the exploit bench,
list versions.

    tucano-audit rewards score --task push < completion.txt
    tucano-audit rewards score --task sql_qa --meta '{"reference_sql": "SELECT ..."}' < answer.txt
    tucano-audit rewards score --reward sql_qa_heuristic < answer.txt
    tucano-audit rewards probe [--task T ...]
    tucano-audit rewards probe --exploits [--task T ...] [--reward NAME] [--json]
    tucano-audit rewards versions
"""

from __future__ import annotations

import argparse
import json
import sys

from data import paths
from data.gold import gold_answer
from data.prompts import load_prompts, reward_meta
from rewards import sql_exec
from rewards.exploits import THRESHOLD, ExploitReport, bench
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

    probe = sub.add_parser("probe", help="run the probe bench (or, with --exploits, the exploit bench); "
                                         "exit 1 if any check fails")
    probe.add_argument("--task", action="append", choices=TASKS, help="only this task (repeatable)")
    probe.add_argument("--json", action="store_true", help="print the report as JSON")
    probe.add_argument("--exploits", action="store_true",
                       help="score the exploit families on the built prompts; fail when a family's median reaches "
                            f"{THRESHOLD} or the good answers' median")
    probe.add_argument("--reward", action="append", help="with --exploits: bench this registered reward instead "
                                                         "of the task's default (repeatable; e.g. push_recipe)")
    probe.add_argument("--prompts-per-family", type=int, default=40, help="with --exploits: prompts sampled per task")
    probe.add_argument("--seed", type=int, default=0, help="with --exploits: the sample's seed")
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
    if args.exploits:
        return _cmd_exploits(args)
    if args.reward:
        raise ValueError("--reward goes with --exploits")
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


def _cmd_exploits(args: argparse.Namespace) -> int:
    if args.prompts_per_family < 1:
        raise ValueError(f"--prompts-per-family must be at least 1, got {args.prompts_per_family}")
    rewards = [get_reward(name) for name in args.reward] if args.reward else \
        [get_reward(default_reward_name(t)) for t in (args.task or TASKS)]
    if args.reward and args.task:
        rewards = [r for r in rewards if r.task in args.task]
    tasks = sorted({r.task for r in rewards}, key=TASKS.index)
    rows = load_prompts(paths.train_prompts(), tasks) + load_prompts(paths.eval_prompts(), tasks)
    if "sql_qa" in tasks:
        # Before any scoring: a missing database would make every answer look wrong.
        sql_exec.check_database(paths.commerce_db())
        sql_exec.check_database(paths.commerce_db_b())
    rows = [{**r, **reward_meta(r)} for r in rows]
    good = {r["prompt_id"]: gold_answer(r) for r in rows}
    reports = [bench(r, rows, good=good, prompts_per_family=args.prompts_per_family, seed=args.seed)
               for r in rewards]
    failed = any(rep.failures() for rep in reports)
    if args.json:
        print(json.dumps({"passed": not failed, "reports": [rep.to_dict() for rep in reports]},
                         ensure_ascii=False, indent=2))
    else:
        print(format_exploits(reports))
    return 1 if failed else 0


def format_exploits(reports: list[ExploitReport]) -> str:
    """The exploit bench as a table: each family's median beside its task's good answers."""
    lines = ["task        reward              family                 median   good  prompts"]
    for rep in reports:
        failing = {r.name for r in rep.failures()}
        good = f"{rep.good_median:.2f}" if rep.good_median is not None else "  n/a"
        for name, result in rep.families.items():
            mark = "FAIL" if name in failing else "ok"
            lines.append(f"{rep.task:<11} {rep.reward:<19} {name:<22} {result.median:6.2f}  {good:>5}  "
                         f"{len(result.scores):>7}  {mark}")
    lines.append("")
    for rep in reports:
        for r in rep.failures():
            lines.append(f"FAIL  {rep.reward}: {r.name} median {r.median:.2f} (threshold {THRESHOLD}, good answers "
                         f"{rep.good_median:.2f}); e.g. {r.example['prompt_id']}: {r.example['completion'][:80]!r}")
    n_fail = sum(len(rep.failures()) for rep in reports)
    n_all = sum(len(rep.families) for rep in reports)
    lines.append(f"{n_all - n_fail}/{n_all} exploit families below {THRESHOLD} and below the good answers")
    return "\n".join(lines)
