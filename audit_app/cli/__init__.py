"""The `tucano-audit` console script: one argparse tree, one module per command in this
package (data, rewards, sample, audit, train, compare, users, rollouts, jobs, app, demo).

Each command module exposes `register(subparsers)`, adding its parser with
`set_defaults(func=handler)`; a handler takes the parsed args and returns an exit code.
Command modules import only what their parsers need at the top; torch, transformers and
streamlit stay inside handlers (optional heavy dependencies) so `--help` is instant.
User mistakes (ValueError, LookupError, FileNotFoundError, PermissionError) print one
clear line and exit 2; faults of the machine (a full disk, a read-only folder: OSError,
SQLite's disk and permission errors, see data.io_errors) print one line naming the file
and the cause and exit 1; anything else is a bug and keeps its traceback.

Every handler also receives `args.dispatch`, this module's `main`, so a command that runs
another command (the job wrapper `jobs run`) does so without importing this package.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys

from audit_app.cli import app, audit, compare, data, demo, jobs, rewards, rollouts, sample, train, users
from audit_app.jobs import runner
from data.io_errors import StorageError, describe, storage_error
from data.store.errors import InvalidInput
from data.store.roles import User

# In the order their subcommands appear in --help.
COMMANDS = (data, rewards, sample, audit, train, compare, users, rollouts, jobs, app, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tucano-audit",
        description="Check GRPO reward functions against human scores before training.",
    )
    parser.set_defaults(dispatch=main)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def check_argv(argv: list[str]) -> None:
    """Parse `argv` as tucano-audit would, so a bad job command fails before it starts."""
    runner.check_shape(argv)
    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit:
        raise InvalidInput(f"not a valid tucano-audit command: {' '.join(argv)}") from None
    if not getattr(args, "func", None):
        raise InvalidInput(f"not a runnable tucano-audit command: {' '.join(argv)}")


def start_job(store, actor: User, kind: str, argv: list[str], *, meta: dict | None = None) -> int:
    """Start `tucano-audit <argv...>` as a job after parsing it here: a command with a
    wrong flag is refused before a job row exists (see audit_app.jobs.runner.start_job)."""
    check_argv(argv)
    return runner.start_job(store, actor, kind, argv, meta=meta)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, LookupError, FileNotFoundError, PermissionError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {describe(exc)}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:
        if storage_error(exc, "") is None:
            raise  # a malformed statement or a broken constraint is a bug: keep its traceback
        print(f"error: {describe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `tucano-audit audit --json | head`: the reader left; say nothing more.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
