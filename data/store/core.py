"""The store: one object over one SQLite file (through sqlite-utils) holding users,
prompts, rollouts, annotations, assignments, audits and gate decisions, jobs, training
runs and comparisons.

Opening applies the migrations in `data/store/schema/NNN_name.sql` in numeric order
(each recorded once in `_migrations`), turns on WAL, foreign keys and a busy timeout.
Typed methods live in mixins, one file per concern (store_users.py, store_rollouts.py,
...), so each concern's SQL stays beside its docstrings. All SQL is parameterised.

    store = Store(":memory:")          # tests
    store = Store(data.paths.store_path())
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path

import sqlite_utils

from data.io_errors import NamedConnection, StorageError, naming
from data.store.annotations import AnnotationsMixin
from data.store.audit import AuditMixin
from data.store.browse import BrowseMixin
from data.store.compare import CompareMixin
from data.store.errors import InvalidInput, NotFound
from data.store.import_export import ImportExportMixin
from data.store.jobs import JobsMixin
from data.store.rollouts import RolloutsMixin
from data.store.runs import RunsMixin
from data.store.sessions import SessionsMixin
from data.store.settings import SettingsMixin
from data.store.users import UsersMixin
from data.store.values import utcnow

SCHEMA_DIR = Path(__file__).with_name("schema")
BUSY_TIMEOUT_MS = 30_000
# The store holds password hashes: only its owner may read it (SQLite gives the -wal and
# -shm files beside it the database file's permissions).
FILE_MODE = 0o600


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) for every schema file, in order; numbers must be unique."""
    found: dict[int, tuple[int, str, str]] = {}
    for path in sorted(SCHEMA_DIR.glob("*.sql")):
        number = int(path.name.split("_", 1)[0])
        if number in found:
            raise RuntimeError(f"two migrations numbered {number}: {found[number][1]} and {path.name}")
        found[number] = (number, path.stem, path.read_text(encoding="utf-8"))
    return [found[n] for n in sorted(found)]


class Store(UsersMixin, RolloutsMixin, ImportExportMixin, SettingsMixin, AnnotationsMixin, AuditMixin, JobsMixin,
            RunsMixin, CompareMixin, SessionsMixin, BrowseMixin):
    """The single entry object. `db` is the sqlite_utils.Database; `conn` its connection."""

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        self.memory = self.path == ":memory:"
        if not self.memory:
            if Path(self.path).is_dir():
                raise InvalidInput(f"store path {self.path} is a folder, not a database file")
            with naming(Path(self.path).parent, "create the store folder"):
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            _create_private(Path(self.path))
        # One connection per thread for a file store: Streamlit runs each browser session in
        # its own thread, and a shared connection would let one session's transaction
        # swallow another's writes. An in-memory store is one database only through one
        # connection, so threads share it and `transaction` serialises them with a lock.
        self._local = threading.local()
        self._lock = threading.RLock()
        self._all: list[sqlite3.Connection] = []
        try:
            self._shared = self._connect() if self.memory else None
            self._migrate()
        except StorageError:
            self.close()
            raise
        except sqlite3.DatabaseError as exc:
            self.close()
            raise InvalidInput(f"{self.path} is not a tucano-audit store (SQLite said: {exc})") from None

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves (see `transaction`), so a
        # multi-row write is all-or-nothing and no implicit transaction is left open.
        with naming(self.path, "open", what=f"the store {self.path}"):
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False, factory=NamedConnection)
        # Disk-full, read-only and permission failures then name this file (data.io_errors).
        conn.path, conn.what = self.path, f"the store {self.path}"
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not self.memory:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        with self._lock:
            self._all.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        if self._shared is not None:
            return self._shared
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is None or db.conn is not self.conn:
            db = self._local.db = sqlite_utils.Database(self.conn)
        return db

    # -- plumbing -------------------------------------------------------------------------
    def _migrate(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in self.conn.execute("SELECT number FROM _migrations")}
        for number, name, sql in migrations():
            if number in done:
                continue
            with self.transaction(immediate=True) as conn:
                # Another process may have applied it while we waited for the write lock.
                if conn.execute("SELECT 1 FROM _migrations WHERE number = ?", [number]).fetchone():
                    continue
                for statement in _split_sql(sql):
                    conn.execute(statement)
                conn.execute("INSERT INTO _migrations (number, name, applied_at) VALUES (?, ?, ?)",
                             [number, name, utcnow()])

    def transaction(self, immediate: bool = False):
        """Context manager: BEGIN (IMMEDIATE takes the write lock up front) ... COMMIT/ROLLBACK."""
        return _Transaction(self.conn, immediate, self._lock)

    def write(self, fn):
        """Run fn(conn) in BEGIN IMMEDIATE; retry a few times if the file is still locked
        after the busy timeout (a checkpoint or a burst of writers), never surfacing it."""
        delay = 0.05
        for attempt in range(8):
            try:
                with self.transaction(immediate=True) as conn:
                    return fn(conn)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or attempt == 7:
                    raise
                if self.conn.in_transaction:  # a failed COMMIT leaves the transaction open
                    self.conn.execute("ROLLBACK")
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def get_row(self, table: str, pk, missing: str) -> dict:
        """The row of `table` whose primary key is `pk`; NotFound(`missing`) if there is none."""
        try:
            return self.db[table].get(pk)
        except sqlite_utils.db.NotFoundError:
            raise NotFound(missing) from None

    def query(self, sql: str, params=()) -> list[dict]:
        """Run a read query with parameters and return rows as dicts."""
        return list(self.db.query(sql, params))

    def applied_migrations(self) -> list[str]:
        return [r["name"] for r in self.query("SELECT name FROM _migrations ORDER BY number")]

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Transaction:
    def __init__(self, conn: sqlite3.Connection, immediate: bool, lock: threading.RLock):
        self.conn = conn
        self.immediate = immediate
        self.lock = lock
        self.nested = False

    def __enter__(self) -> sqlite3.Connection:
        # The (re-entrant) lock makes a thread sharing the in-memory connection wait for
        # another thread's transaction instead of joining it; per-thread file connections
        # rarely contend for it, and SQLite serialises writers anyway.
        self.lock.acquire()
        try:
            return self._begin()
        except BaseException:
            self.lock.release()
            raise

    def _begin(self) -> sqlite3.Connection:
        if self.conn.in_transaction:
            # Nested use joins the outer transaction.
            self.nested = True
            return self.conn
        self.conn.execute("BEGIN IMMEDIATE" if self.immediate else "BEGIN")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._end(exc_type)
        finally:
            self.lock.release()

    def _end(self, exc_type) -> None:
        if self.nested:
            return
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error:
                # A failed COMMIT (e.g. busy) leaves the transaction open; every later
                # transaction() would silently join it. Roll back so the caller can retry.
                self._rollback()
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        # Only while an error is already on its way out: SQLite may have rolled back by itself
        # (disk full, I/O error), and a failing ROLLBACK must not replace the real cause.
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error, OSError):
                self.conn.execute("ROLLBACK")


def _create_private(path: Path) -> None:
    """Create an empty store file readable by its owner only (an existing file is left as it is)."""
    if path.exists():
        return
    with naming(path, "create", what=f"the store {path}"):
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
        except FileExistsError:  # another process created it first
            pass


def _split_sql(sql: str) -> list[str]:
    """Split a schema file into statements (sqlite3.complete_statement handles triggers)."""
    statements, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip() and not buf.strip().startswith("--"):
        statements.append(buf.strip())
    return statements
