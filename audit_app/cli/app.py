"""`tucano-audit app`: start the Streamlit app (audit_app/ui/server.py serves
audit_app/ui/streamlit_app.py and the session-cookie routes).

    tucano-audit app                       # http://127.0.0.1:8501, store in the home folder
    tucano-audit app --port 8600 --store /data/audit.db --headless

The store path reaches the app through TUCANO_AUDIT_STORE (the same variable jobs use),
and the home folder through TUCANO_AUDIT_HOME, both made absolute, because Streamlit runs
from the project folder so that `.streamlit/config.toml` (theme, no usage statistics) and
`.streamlit/secrets.toml` (OIDC, see docs) apply wherever the command is typed.

Before Streamlit starts, the store is opened once (migrations applied, so the first page
is fast) and jobs whose process died while no app was watching are reconciled. Then this
process becomes Streamlit (exec), so Ctrl+C and SIGTERM stop the server directly.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from audit_app.jobs import runner as jobs
from data import paths
from data.store import Store

APP_FILE = Path(__file__).resolve().parent.parent / "ui" / "server.py"
PROJECT_DIR = APP_FILE.parent.parent.parent
DEFAULT_PORT = 8501
DEFAULT_ADDRESS = "127.0.0.1"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "app",
        help="start the annotation and audit app (Streamlit)",
        description="Start the Streamlit app. Prints the URL to open; log in with an account made by "
                    "`tucano-audit users add` (or by `tucano-audit demo`).",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    p.add_argument("--address", default=DEFAULT_ADDRESS,
                   help=f"address to listen on (default {DEFAULT_ADDRESS}; 0.0.0.0 for a shared server)")
    p.add_argument("--store", default=None,
                   help="store database (default: $TUCANO_AUDIT_STORE, else <home>/store.db)")
    p.add_argument("--headless", action="store_true",
                   help="never open a browser; also turns off file watching (servers, tests)")
    p.set_defaults(func=run)


def resolve_store(store: str | None) -> Path:
    """The store file the app will use, absolute."""
    chosen = store or str(paths.store_path())
    return Path(chosen).expanduser().resolve()


def build_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str], Path]:
    """(argv, environment, working folder) of the Streamlit server for these arguments."""
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")
    store = resolve_store(args.store)
    env = dict(os.environ)
    env[paths.ENV_STORE] = str(store)
    env[paths.ENV_HOME] = str(paths.home())
    argv = [
        sys.executable, "-m", "streamlit", "run", str(APP_FILE),
        "--server.port", str(args.port),
        "--server.address", args.address,
        # Also in .streamlit/config.toml; repeated so an installed copy without it agrees.
        "--browser.gatherUsageStats", "false",
    ]
    if args.headless:
        argv += ["--server.headless", "true", "--server.fileWatcherType", "none"]
    cwd = PROJECT_DIR if (PROJECT_DIR / ".streamlit").is_dir() else Path.cwd()
    return argv, env, cwd


def app_url(address: str, port: int) -> str:
    host = "127.0.0.1" if address in ("", "0.0.0.0") else address
    return f"http://{host}:{port}"


def prepare_store(store_path: Path) -> None:
    """Open (and migrate) the store; reconcile jobs left running by a dead process."""
    with Store(store_path) as store:
        lost = jobs.reconcile_jobs(store)
        if lost:
            print(f"marked {len(lost)} job(s) whose process had ended: {', '.join(map(str, lost))}")


def run(args: argparse.Namespace) -> int:
    argv, env, cwd = build_command(args)
    store = Path(env["TUCANO_AUDIT_STORE"])
    prepare_store(store)
    print(f"tucano-audit app: open {app_url(args.address, args.port)}  (store: {store})", flush=True)
    sys.stderr.flush()
    os.chdir(cwd)
    os.execve(sys.executable, argv, env)
    return 0  # unreachable: execve replaces this process
