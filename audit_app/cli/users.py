"""`tucano-audit users ...`: accounts and roles.

    tucano-audit users add ana --role annotator            # asks for the password
    echo "$PW" | tucano-audit users add ana --role annotator   # or reads it from stdin
    tucano-audit users list
    tucano-audit users set-role ana reviewer
    tucano-audit users disable ana

Commands act as the machine's administrator (data.store.roles.SYSTEM): whoever can run them can
already open the store file. `--store PATH` defaults to data.paths.store_path().
"""

from __future__ import annotations

import getpass
import sys

from data import paths
from data.store import Store
from data.store.roles import SYSTEM


def register(subparsers) -> None:
    users = subparsers.add_parser("users", help="add, list, re-role or disable user accounts")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    add = users_sub.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=("annotator", "engineer", "reviewer", "admin"))
    add.add_argument("--password", help="the password (default: asked for, or read from stdin when piped)")
    add.add_argument("--email", help="email for single sign-on (OIDC) logins")
    add.add_argument("--no-password", action="store_true", help="single sign-on only (needs --email)")
    store_arg(add)
    add.set_defaults(func=_users_add)

    listing = users_sub.add_parser("list", help="list accounts")
    store_arg(listing)
    listing.set_defaults(func=_users_list)

    role = users_sub.add_parser("set-role", help="change an account's role")
    role.add_argument("username")
    role.add_argument("role", choices=("annotator", "engineer", "reviewer", "admin"))
    store_arg(role)
    role.set_defaults(func=_users_set_role)

    disable = users_sub.add_parser("disable", help="disable an account (it can no longer log in)")
    disable.add_argument("username")
    store_arg(disable)
    disable.set_defaults(func=_users_disable)

    enable = users_sub.add_parser("enable", help="re-enable a disabled account")
    enable.add_argument("username")
    store_arg(enable)
    enable.set_defaults(func=_users_enable)

    passwd = users_sub.add_parser("set-password", help="set an account's password")
    passwd.add_argument("username")
    passwd.add_argument("--password", help="the password (default: asked for, or read from stdin when piped)")
    store_arg(passwd)
    passwd.set_defaults(func=_users_set_password)


def store_arg(parser) -> None:
    parser.add_argument("--store", help="store file (default: <home>/store.db)")


def open_store(args):
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
    with open_store(args) as store:
        user = store.add_user(args.username, args.role, password, email=args.email)
    print(f"added {user.username} ({user.role})")
    return 0


def _users_list(args) -> int:
    with open_store(args) as store:
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
    with open_store(args) as store:
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
