"""`tucano-audit users ...` (accounts and roles) and `tucano-audit rollouts ...` (import and
export of rollouts and annotations).

    tucano-audit users add ana --role annotator            # asks for the password
    echo "$PW" | tucano-audit users add ana --role annotator   # or reads it from stdin
    tucano-audit users list
    tucano-audit users set-role ana reviewer
    tucano-audit users disable ana
    tucano-audit rollouts import samples.jsonl
    tucano-audit rollouts export out.parquet --what annotations

Commands act as the machine's administrator (auth.SYSTEM): whoever can run them can
already open the store file. `--store PATH` defaults to data.paths.store_path().
"""

from __future__ import annotations

import getpass
import sys


def register(subparsers) -> None:
    users = subparsers.add_parser("users", help="add, list, re-role or disable user accounts")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    add = users_sub.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=("annotator", "engineer", "reviewer", "admin"))
    add.add_argument("--password", help="the password (default: asked for, or read from stdin when piped)")
    add.add_argument("--email", help="email for single sign-on (OIDC) logins")
    add.add_argument("--no-password", action="store_true", help="single sign-on only (needs --email)")
    _store_arg(add)
    add.set_defaults(func=_users_add)

    listing = users_sub.add_parser("list", help="list accounts")
    _store_arg(listing)
    listing.set_defaults(func=_users_list)

    role = users_sub.add_parser("set-role", help="change an account's role")
    role.add_argument("username")
    role.add_argument("role", choices=("annotator", "engineer", "reviewer", "admin"))
    _store_arg(role)
    role.set_defaults(func=_users_set_role)

    disable = users_sub.add_parser("disable", help="disable an account (it can no longer log in)")
    disable.add_argument("username")
    _store_arg(disable)
    disable.set_defaults(func=_users_disable)

    enable = users_sub.add_parser("enable", help="re-enable a disabled account")
    enable.add_argument("username")
    _store_arg(enable)
    enable.set_defaults(func=_users_enable)

    passwd = users_sub.add_parser("set-password", help="set an account's password")
    passwd.add_argument("username")
    passwd.add_argument("--password", help="the password (default: asked for, or read from stdin when piped)")
    _store_arg(passwd)
    passwd.set_defaults(func=_users_set_password)

    rollouts = subparsers.add_parser("rollouts", help="import rollouts from JSONL; export rollouts or annotations")
    rollouts_sub = rollouts.add_subparsers(dest="rollouts_command", metavar="ACTION", required=True)

    imp = rollouts_sub.add_parser("import", help="import rollouts (JSONL, one per line); scores each")
    imp.add_argument("path")
    imp.add_argument("--batch-id", help="label for this import (default: import:<file name>)")
    _store_arg(imp)
    imp.set_defaults(func=_rollouts_import)

    exp = rollouts_sub.add_parser("export", help="export as JSONL or Parquet (datasets.load_dataset reads both)")
    exp.add_argument("path", help="output file: .jsonl or .parquet")
    exp.add_argument("--what", choices=("rollouts", "annotations"), default="rollouts")
    exp.add_argument("--format", choices=("jsonl", "parquet"), help="default: from the file name")
    exp.add_argument("--task", help="only this task")
    _store_arg(exp)
    exp.set_defaults(func=_rollouts_export)


def _store_arg(parser) -> None:
    parser.add_argument("--store", help="store file (default: <home>/store.db)")


def _open(args):
    from audit_app.store import Store
    from data import paths

    return Store(args.store or paths.store_path())


def _read_password(given: str | None) -> str:
    if given is not None:
        return given
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line.strip():
            raise ValueError("no password given: pass --password, pipe it on stdin, or run in a terminal")
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _users_add(args) -> int:
    if args.no_password and not args.email:
        raise ValueError("--no-password needs --email (the account logs in through single sign-on)")
    password = None if args.no_password else _read_password(args.password)
    with _open(args) as store:
        user = store.add_user(args.username, args.role, password, email=args.email)
    print(f"added {user.username} ({user.role})")
    return 0


def _users_list(args) -> int:
    with _open(args) as store:
        rows = store.list_users()
    if not rows:
        print("no users yet; add one with: tucano-audit users add NAME --role admin")
        return 0
    width = max(len(r["username"]) for r in rows)
    for r in rows:
        state = "active" if r["active"] else "disabled"
        print(f"{r['username']:<{width}}  {r['role']:<9}  {state:<8}  {r['email'] or ''}".rstrip())
    return 0


def _as_admin(args, change, done: str) -> int:
    """Run `change(store, actor)` as the machine's administrator and print `done`."""
    from audit_app.auth import SYSTEM

    with _open(args) as store:
        change(store, SYSTEM)
    print(done)
    return 0


def _users_set_role(args) -> int:
    return _as_admin(args, lambda store, actor: store.set_role(args.username, args.role, actor=actor),
                     f"{args.username} is now {args.role}")


def _users_disable(args) -> int:
    return _as_admin(args, lambda store, actor: store.disable_user(args.username, actor=actor),
                     f"disabled {args.username}")


def _users_enable(args) -> int:
    return _as_admin(args, lambda store, actor: store.enable_user(args.username, actor=actor),
                     f"enabled {args.username}")


def _users_set_password(args) -> int:
    password = _read_password(args.password)
    return _as_admin(args, lambda store, actor: store.set_password(args.username, password, actor=actor),
                     f"password of {args.username} changed")


def _rollouts_import(args) -> int:
    with _open(args) as store:
        report = store.import_rollouts(args.path, batch_id=args.batch_id)
    print(report.summary())
    # Some lines refused: the good ones are in, but the caller should look.
    return 0 if report.ok else 1


def _rollouts_export(args) -> int:
    with _open(args) as store:
        count = store.export(args.path, what=args.what, fmt=args.format, task=args.task)
    print(f"wrote {count} {args.what} to {args.path}")
    return 0
