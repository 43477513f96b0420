"""The `tucano-audit` console script: one argparse tree whose subcommands live beside the
code they drive (rewards/cli.py, data/cli.py, train/cli_*.py, audit_app/cli_*.py).

Each of those modules exposes `register(subparsers)`, adding its parser with
`set_defaults(func=handler)`; a handler takes the parsed args and returns an exit code.
Heavy imports (torch, transformers, streamlit) stay inside handlers so `--help` is instant.
User mistakes (ValueError, LookupError, FileNotFoundError, PermissionError) print one
clear line and exit 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Module paths, in the order their subcommands appear in --help.
COMMAND_MODULES = (
    "data.cli",
    "rewards.cli",
    "train.cli_sample",
    "audit_app.cli_audit",
    "train.cli_train",
    "train.cli_compare",
    "audit_app.cli_users",
    "audit_app.cli_jobs",
    "audit_app.cli_app",
    "audit_app.cli_demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tucano-audit",
        description="Check GRPO reward functions against human scores before training.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A command module not written yet must not break the others.
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, LookupError, FileNotFoundError, PermissionError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `tucano-audit audit --json | head`: the reader left; say nothing more.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
