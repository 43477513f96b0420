"""Running a model's SQL against the commerce database, in a sandbox.

The sandbox, layer by layer:
- the connection is opened read-only through a `file:...?mode=ro` URI and
  `PRAGMA query_only` is set before anything else runs;
- an authorizer allows only reading (SELECT, column reads, functions, recursive CTEs):
  ATTACH/DETACH, every write, every PRAGMA, transactions, schema changes and
  `load_extension` are denied when the statement is prepared, before it runs;
- a progress handler aborts the statement once `time_limit_ms` has passed (a recursive
  CTE that never ends stops within the limit);
- SQLite limits cap a string or blob at 1 MB (no `zeroblob(1e9)`) and the SQL text at
  100,000 characters; at most `max_rows` rows are fetched;
- only one statement runs (sqlite3 refuses a second).

The connection also memory-maps the file (faster reads) and, on request, results are
cached per (file, SQL) so the same query in several completions of a group runs once.

Connections are cached per process and thread, keyed by the file's path, inode, size and
modification time, so a rebuilt database is reopened and scoring costs no connect.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

DEFAULT_TIME_LIMIT_MS = 200
DEFAULT_MAX_ROWS = 1000
_MAX_LENGTH = 1_000_000
_MAX_SQL_LENGTH = 100_000
_PROGRESS_EVERY = 1000  # VM instructions between two clock checks
_MMAP_BYTES = 256 * 1024 * 1024
_RESULT_CACHE_SIZE = 2048

_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                              getattr(sqlite3, "SQLITE_RECURSIVE", 33)})
_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})


@dataclass(frozen=True)
class QueryResult:
    """Outcome of one sandboxed query. `rows` is None when it did not run to the end."""

    ok: bool
    rows: list[tuple] | None
    columns: tuple[str, ...]
    error: str | None
    timed_out: bool
    truncated: bool
    elapsed_ms: float


class DatabaseMissing(FileNotFoundError):
    """The commerce database file does not exist."""


def check_database(path: str | os.PathLike) -> Path:
    """The database path, or DatabaseMissing saying how to build it. Call this before a
    long run: the reward itself only notes a missing database, it never raises."""
    p = Path(path)
    if not p.is_file():
        raise DatabaseMissing(
            f"commerce database not found at {p}; build it with `tucano-audit data build`"
        )
    return p


def _authorizer(action: int, arg1, arg2, dbname, source) -> int:
    if action in _ALLOWED_ACTIONS:
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


class _Sandbox:
    """One read-only connection with its deadline cell (read by the progress handler)."""

    def __init__(self, path: Path):
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        self.conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=True)
        self.conn.execute("PRAGMA query_only = ON")
        # Memory-mapped reads cut a scan's CPU time by about a third on the full database;
        # set here, before the authorizer that denies every PRAGMA to the model's SQL.
        self.conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, _MAX_LENGTH)
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, _MAX_SQL_LENGTH)
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        self.conn.set_authorizer(_authorizer)
        self.key: tuple = ()
        self.deadline = 0.0
        clock = time.perf_counter
        self.conn.set_progress_handler(lambda: 1 if clock() > self.deadline else 0, _PROGRESS_EVERY)

    def run(self, sql: str, time_limit_ms: float, max_rows: int) -> QueryResult:
        start = time.perf_counter()
        self.deadline = start + time_limit_ms / 1000.0
        cur = None
        try:
            cur = self.conn.cursor()
            cur.execute(sql)
            rows = cur.fetchmany(max_rows + 1)
            columns = tuple(d[0] for d in (cur.description or ()))
        except sqlite3.OperationalError as exc:
            elapsed = (time.perf_counter() - start) * 1000
            timed_out = "interrupted" in str(exc)
            msg = f"time limit of {time_limit_ms:g} ms reached" if timed_out else _short(exc)
            return QueryResult(False, None, (), msg, timed_out, False, elapsed)
        except (sqlite3.Error, sqlite3.Warning, ValueError, OverflowError, MemoryError) as exc:
            # ValueError covers NUL characters and lone surrogates in the SQL text.
            return QueryResult(False, None, (), _short(exc), False, False, (time.perf_counter() - start) * 1000)
        finally:
            if cur is not None:
                cur.close()
            self.deadline = 0.0
        truncated = len(rows) > max_rows
        return QueryResult(True, rows[:max_rows], columns, None, False, truncated,
                           (time.perf_counter() - start) * 1000)


def _short(exc: BaseException) -> str:
    text = str(exc).encode("utf-8", "replace").decode("utf-8")
    return f"{type(exc).__name__}: {text[:160]}"


_local = threading.local()


def _sandbox_for(path: Path) -> _Sandbox:
    st = path.stat()
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, os.getpid())
    cache: dict = getattr(_local, "sandboxes", None)
    if cache is None:
        cache = _local.sandboxes = {}
        _local.results = OrderedDict()
    box = cache.get(key)
    if box is None:
        # A changed or replaced file: drop the old connection for this path.
        for old in [k for k in cache if k[0] == key[0]]:
            cache.pop(old).conn.close()
        box = cache[key] = _Sandbox(path)
        box.key = key
    return box


def run_readonly(
    db_path: str | os.PathLike,
    sql: str,
    *,
    time_limit_ms: float = DEFAULT_TIME_LIMIT_MS,
    max_rows: int = DEFAULT_MAX_ROWS,
    cache: bool = False,
) -> QueryResult:
    """Run one SELECT in the sandbox. Never raises for a bad query or a missing file: the
    failure is in `QueryResult.error`.

    `cache=True` reuses the result of the same SQL on the same (unchanged) file: GRPO
    samples several completions per prompt and they often share the query. Time-outs are
    never cached (they depend on the machine's load)."""
    path = Path(db_path)
    try:
        box = _sandbox_for(path)
    except (OSError, sqlite3.Error) as exc:
        return QueryResult(False, None, (), f"cannot open database {path}: {_short(exc)}", False, False, 0.0)
    if not cache:
        return box.run(sql, time_limit_ms, max_rows)
    key = (box.key, sql, time_limit_ms, max_rows)
    results: OrderedDict = _local.results
    hit = results.get(key)
    if hit is not None:
        results.move_to_end(key)
        return hit
    result = box.run(sql, time_limit_ms, max_rows)
    if not result.timed_out:
        results[key] = result
        if len(results) > _RESULT_CACHE_SIZE:
            results.popitem(last=False)
    return result


def close_all() -> None:
    """Close this thread's cached connections (tests that delete database files use it)."""
    cache: dict = getattr(_local, "sandboxes", None) or {}
    for box in cache.values():
        box.conn.close()
    cache.clear()
    results = getattr(_local, "results", None)
    if results is not None:
        results.clear()
