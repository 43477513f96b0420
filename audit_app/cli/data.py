"""`tucano-audit data build`: write the commerce database and the prompt sets.

    tucano-audit data build                          # synthetic, ~100k orders, into the home folder
    tucano-audit data build --size small --out /tmp/d
    tucano-audit data build --olist-dir ~/olist      # the nine real Olist CSV files
"""

from __future__ import annotations

import argparse
import json

from data.build import build_with_report


def _mix(text: str) -> dict[str, float]:
    """'extraction=0.4,push=0.1,...' -> {"extraction": 0.4, ...}"""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise argparse.ArgumentTypeError(f"expected task=weight pairs separated by commas, got {part!r}")
    return out


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="build the commerce database and the prompt sets")
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    p = sub.add_parser("build", help="write commerce.db, prompts/train.jsonl, prompts/eval.jsonl and the card")
    p.add_argument("--out", metavar="DIR", help="output folder (default: the home folder, $TUCANO_AUDIT_HOME or ./.tucano)")
    p.add_argument("--seed", type=int, default=42, help="random seed; the same seed gives the same bytes (default 42)")
    p.add_argument("--size", choices=("default", "small"), default="default",
                   help="synthetic database size: default ~100k orders, small 3k orders (tests)")
    p.add_argument("--olist-dir", metavar="DIR", help="import the real Olist CSV files from DIR instead of generating")
    p.add_argument("--train", type=int, metavar="N", help="number of training prompts (default 1480)")
    p.add_argument("--eval", type=int, metavar="N", help="number of evaluation prompts (default 65)")
    p.add_argument("--mix", type=_mix, metavar="TASK=W,...",
                   help="training mix by task (default extraction=0.4,sql_qa=0.25,insights=0.25,push=0.1)")
    p.add_argument("--eval-mix", type=_mix, metavar="TASK=W,...",
                   help="evaluation mix by task (default extraction=20,sql_qa=15,insights=15,push=15)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_build)
    data.set_defaults(func=lambda args: (data.print_help(), 2)[1])


def _build(args) -> int:
    import time

    start = time.perf_counter()
    paths, report = build_with_report(args.out, seed=args.seed, size=args.size, olist_dir=args.olist_dir,
                                      train=args.train, eval=args.eval, mix=args.mix, eval_mix=args.eval_mix)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({"paths": {k: str(v) for k, v in paths.items()}, "seconds": round(seconds, 2),
                          **report}, ensure_ascii=False, indent=2))
        return 0
    for key in ("db", "train", "eval", "card"):
        print(f"{key:>5}: {paths[key]}")
    print("train: " + ", ".join(f"{t} {n}" for t, n in report["train"].items()))
    print(" eval: " + ", ".join(f"{t} {n}" for t, n in report["eval"].items()))
    print(f"orders: {report['db']['orders']}, reviews: {report['db']['order_reviews']}")
    div = report.get("comment_diversity")
    if div:
        print(f"comments: {div['comments']}, repeated verbatim: {100 * div['repeated_share']:.1f}%, "
              f"most common text: {100 * div['top_share']:.2f}%")
    imp = report.get("import")
    if imp and imp.get("notes"):
        for note in imp["notes"]:
            print(f"note: {note}")
    print(f"built in {seconds:.1f} s")
    return 0
