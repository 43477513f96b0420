"""`tucano-audit rollouts ...`: rollouts made elsewhere into the store, rollouts and
annotations out of it (JSONL or Parquet, both readable by `datasets`).

    tucano-audit rollouts import samples.jsonl
    tucano-audit rollouts export out.parquet --what annotations

A line may name its prompt by `prompt_id` alone when that prompt is in the store or in
the home folder's prompt sets (`prompts/train.jsonl`, `prompts/eval.jsonl`).

Like `users`, these act as the machine's administrator; `--store PATH` defaults to
data.paths.store_path().
"""

from __future__ import annotations

from audit_app.cli.users import open_store, store_arg
from data.prompts import home_prompt_sets


def register(subparsers) -> None:
    rollouts = subparsers.add_parser("rollouts", help="import rollouts from JSONL; export rollouts or annotations")
    rollouts_sub = rollouts.add_subparsers(dest="rollouts_command", metavar="ACTION", required=True)

    imp = rollouts_sub.add_parser("import", help="import rollouts (JSONL, one per line); scores each")
    imp.add_argument("path")
    imp.add_argument("--batch-id", help="label for this import (default: import:<file name>)")
    store_arg(imp)
    imp.set_defaults(func=_rollouts_import)

    exp = rollouts_sub.add_parser("export", help="export as JSONL or Parquet (datasets.load_dataset reads both)")
    exp.add_argument("path", help="output file: .jsonl or .parquet")
    exp.add_argument("--what", choices=("rollouts", "annotations"), default="rollouts")
    exp.add_argument("--format", choices=("jsonl", "parquet"), help="default: from the file name")
    exp.add_argument("--task", help="only this task")
    store_arg(exp)
    exp.set_defaults(func=_rollouts_export)


def _rollouts_import(args) -> int:
    with open_store(args) as store:
        report = store.import_rollouts(args.path, batch_id=args.batch_id, prompt_sets=home_prompt_sets())
    print(report.summary())
    # Some lines refused: the good ones are in, but the caller should look.
    return 0 if report.ok else 1


def _rollouts_export(args) -> int:
    with open_store(args) as store:
        count = store.export(args.path, what=args.what, fmt=args.format, task=args.task)
    print(f"wrote {count} {args.what} to {args.path}")
    return 0
