"""Running a model's SQL against the commerce database, in a sandbox.

The sandbox, layer by layer:
- the connection is opened read-only through a `file:...?mode=ro` URI and
  `PRAGMA query_only` is set before anything else runs;
- an authorizer allows only reading (SELECT, column reads, functions, recursive CTEs):
  ATTACH/DETACH, every write, every PRAGMA, transactions, schema changes and
  `load_extension` are denied when the statement is prepared, before it runs. It also
  records which tables the query reads (`QueryResult.tables`): a query that reads no
  table of the schema only types its answer in;
- a budget of SQLite VM operations, counted by a progress handler, stops a statement
  that works too hard (an endless recursive CTE, a cross join of big tables). Operations,
  not milliseconds: the same query on the same file stops at the same point on an idle
  and on a busy machine, so its score does not move with the load. A wall-clock deadline
  (`deadline_ms`, generous) stays as a safety net only;
- a CPU-time limit, checked by the same handler, stops a query whose steps each cost far
  more than steps usually do (a recursive CTE that carries a 60 KB string and searches it
  on every row runs about 15 us a step, against 25-310 ns for real queries): the
  limit is the budget times `CPU_NS_PER_OP` (300 ns, about the slowest average of any
  reference query, so only a query that also used most of its budget could meet it the
  ordinary way), at least `CPU_FLOOR_MS`. Thread CPU time, not wall time, so waiting
  for a busy core does not count; a query that uses its steps as queries do reaches its
  operation budget first, so the score still does not move with the load;
- no single step can run long between two checks of that handler: strings and blobs are
  capped at 64 KB (`SQLITE_LIMIT_LENGTH`; no `zeroblob(1e9)`), LIKE/GLOB patterns at 1,000
  characters, and the one built-in whose time grows with the product of its arguments'
  lengths, `trim(X, Y)` (and ltrim/rtrim: 0.8 s for 64 KB of X and 5,000 characters of Y),
  is replaced by a linear version. `instr` and `replace`, the next worst, take about 20 ms
  at the cap (tests/test_rewards_sql_sandbox.py times each);
- the SQL text is capped at 100,000 characters; at most `max_rows` rows are fetched;
  only one statement runs (sqlite3 refuses a second).

`run_pair` runs a query on two databases at once (the second in a worker thread: SQLite
releases the GIL while it steps), which is how the sql_qa reward checks an answer on a
second, differently seeded copy of the data without doubling its time.

The connection also memory-maps the file (faster reads) and, on request, results are
cached per (file, SQL, budget) so the same query in several completions of a group runs
once. Connections are cached per process and thread, keyed by the file's path, inode,
size and modification time, so a rebuilt database is reopened and scoring costs no connect.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

# VM operations a query may use when nothing says how much it needs; the sql_qa reward
# sets it per prompt from the reference query (see rewards.sql_qa.budget_for).
DEFAULT_BUDGET_OPS = 5_000_000
# Only a safety net: far above what any budget costs on an idle machine, so load alone
# never decides a score.
DEFAULT_DEADLINE_MS = 10_000
# CPU time a query may take per operation of its budget, and at least: a query stopped here
# before its budget works each step harder than any reference query does (their whole-query
# averages: median 90-150 ns, at most 313 ns on the full-size build at load 3).
CPU_NS_PER_OP = 300
CPU_FLOOR_MS = 50.0
DEFAULT_MAX_ROWS = 1000
MAX_LENGTH = 65_536
_MAX_LIKE_PATTERN = 1_000
_MAX_SQL_LENGTH = 100_000
OPS_PER_TICK = 1000  # VM operations between two calls of the progress handler
_MMAP_BYTES = 256 * 1024 * 1024
_RESULT_CACHE_SIZE = 2048

_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                              getattr(sqlite3, "SQLITE_RECURSIVE", 33)})
_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})


@dataclass(frozen=True)
class QueryResult:
    """Outcome of one sandboxed query. `rows` is None when it did not run to the end.

    `stopped` says why it did not: "budget" (deterministic: the same on every run), "cpu"
    (the steps cost far more than queries' steps do; never cached) or "deadline" (the
    wall-clock safety net: depends on the machine, never cached)."""

    ok: bool
    rows: list[tuple] | None
    columns: tuple[str, ...]
    error: str | None
    stopped: str | None
    truncated: bool
    elapsed_ms: float
    ops: int = 0
    tables: frozenset[str] = frozenset()

    @property
    def timed_out(self) -> bool:
        return self.stopped is not None


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


def _trim_set(x, y):
    if x is None or y is None:
        return None, None
    x = x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)
    y = y.decode("utf-8", "replace") if isinstance(y, bytes) else str(y)
    return x, set(y)


def _ltrim(x, y):
    x, chars = _trim_set(x, y)
    if x is None:
        return None
    i = 0
    while i < len(x) and x[i] in chars:
        i += 1
    return x[i:]


def _rtrim(x, y):
    x, chars = _trim_set(x, y)
    if x is None:
        return None
    j = len(x)
    while j > 0 and x[j - 1] in chars:
        j -= 1
    return x[:j]


def _trim(x, y):
    return _rtrim(_ltrim(x, y), y)


class _Sandbox:
    """One read-only connection with its budget and deadline (read by the progress handler)
    and the tables the statement being prepared reads (written by the authorizer)."""

    def __init__(self, path: Path):
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        # No statement cache: the authorizer, which records the tables a query reads, runs
        # only when a statement is prepared, and a cached statement is not prepared again.
        self.conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=True,
                                    cached_statements=0)
        self.conn.execute("PRAGMA query_only = ON")
        # Memory-mapped reads cut a scan's CPU time by about a third on the full database;
        # set here, before the authorizer that denies every PRAGMA to the model's SQL.
        self.conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_LENGTH)
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, _MAX_SQL_LENGTH)
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, _MAX_LIKE_PATTERN)
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        for name, fn in (("trim", _trim), ("ltrim", _ltrim), ("rtrim", _rtrim)):
            self.conn.create_function(name, 2, fn, deterministic=True)
        self.tables: set[str] = set()
        self.conn.set_authorizer(self._authorize)
        self.key: tuple = ()
        self.ticks = 0
        self.max_ticks = 0
        self.deadline = 0.0
        self.cpu_deadline = 0.0
        self.stopped: str | None = None
        self.conn.set_progress_handler(self._tick, OPS_PER_TICK)

    def _authorize(self, action: int, arg1, arg2, dbname, source) -> int:
        if action in _ALLOWED_ACTIONS:
            if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
                return sqlite3.SQLITE_DENY
            if action == sqlite3.SQLITE_READ and arg1:
                self.tables.add(arg1)
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    def _tick(self) -> int:
        self.ticks += 1
        if self.ticks > self.max_ticks:
            self.stopped = "budget"
            return 1
        if time.thread_time() > self.cpu_deadline:
            self.stopped = "cpu"
            return 1
        if time.perf_counter() > self.deadline:
            self.stopped = "deadline"
            return 1
        return 0

    def run(self, sql: str, budget_ops: int, deadline_ms: float, max_rows: int) -> QueryResult:
        start = time.perf_counter()
        self.deadline = start + deadline_ms / 1000.0
        cpu_limit_ms = cpu_limit_for(budget_ops)
        self.cpu_deadline = time.thread_time() + cpu_limit_ms / 1000.0
        self.ticks, self.max_ticks, self.stopped = 0, max(1, budget_ops // OPS_PER_TICK), None
        self.tables = set()
        cur = None
        try:
            cur = self.conn.cursor()
            cur.execute(sql)
            rows = cur.fetchmany(max_rows + 1)
            columns = tuple(d[0] for d in (cur.description or ()))
        except sqlite3.OperationalError as exc:
            elapsed = (time.perf_counter() - start) * 1000
            if self.stopped == "budget":
                msg = f"operation budget of {budget_ops:,} SQLite steps used up"
            elif self.stopped == "cpu":
                msg = (f"CPU-time limit of {cpu_limit_ms:.0f} ms reached after {self._ops():,} SQLite steps "
                       "(each step works far harder than a query's steps do)")
            elif self.stopped == "deadline":
                msg = f"wall-clock deadline of {deadline_ms:g} ms reached"
            else:
                msg = _short(exc)
            return QueryResult(False, None, (), msg, self.stopped, False, elapsed, self._ops(),
                               frozenset(self.tables))
        except (sqlite3.Error, sqlite3.Warning, ValueError, OverflowError, MemoryError) as exc:
            # ValueError covers NUL characters and lone surrogates in the SQL text.
            return QueryResult(False, None, (), _short(exc), None, False, (time.perf_counter() - start) * 1000,
                               self._ops(), frozenset(self.tables))
        finally:
            if cur is not None:
                cur.close()
            self.deadline = 0.0
        truncated = len(rows) > max_rows
        return QueryResult(True, rows[:max_rows], columns, None, None, truncated,
                           (time.perf_counter() - start) * 1000, self._ops(), frozenset(self.tables))

    def _ops(self) -> int:
        return self.ticks * OPS_PER_TICK


def cpu_limit_for(budget_ops: int) -> float:
    """Milliseconds of CPU time a query with an operation budget of `budget_ops` may take."""
    return max(CPU_FLOOR_MS, budget_ops * CPU_NS_PER_OP / 1e6)


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
    budget_ops: int = DEFAULT_BUDGET_OPS,
    deadline_ms: float = DEFAULT_DEADLINE_MS,
    max_rows: int = DEFAULT_MAX_ROWS,
    cache: bool = False,
) -> QueryResult:
    """Run one SELECT in the sandbox. Never raises for a bad query or a missing file: the
    failure is in `QueryResult.error`.

    `cache=True` reuses the result of the same SQL on the same (unchanged) file: GRPO
    samples several completions per prompt and they often share the query. A stop at the
    wall-clock deadline or at the CPU-time limit is never cached (they depend on the
    machine); a stop at the operation budget is (it does not)."""
    path = Path(db_path)
    try:
        box = _sandbox_for(path)
    except (OSError, sqlite3.Error) as exc:
        return QueryResult(False, None, (), f"cannot open database {path}: {_short(exc)}", None, False, 0.0)
    if not cache:
        return box.run(sql, budget_ops, deadline_ms, max_rows)
    key = (box.key, sql, budget_ops, max_rows)
    results: OrderedDict = _local.results
    hit = results.get(key)
    if hit is not None:
        results.move_to_end(key)
        return hit
    result = box.run(sql, budget_ops, deadline_ms, max_rows)
    if result.stopped not in ("deadline", "cpu"):
        results[key] = result
        if len(results) > _RESULT_CACHE_SIZE:
            results.popitem(last=False)
    return result


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _worker() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tucano-sql-b")
        return _pool


def run_pair(db_a: str | os.PathLike, db_b: str | os.PathLike | None, sql: str,
             **kwargs) -> tuple[QueryResult, QueryResult | None]:
    """The query on `db_a` (this thread) and on `db_b` (a worker thread, at the same time);
    the second result is None when there is no second database."""
    if db_b is None:
        return run_readonly(db_a, sql, **kwargs), None
    future = _worker().submit(run_readonly, db_b, sql, **kwargs)
    first = run_readonly(db_a, sql, **kwargs)
    return first, future.result()


def close_all() -> None:
    """Close this thread's cached connections, and the worker's (tests that delete
    database files use it)."""
    _close_local()
    if _pool is not None:
        _pool.submit(_close_local).result()


def _close_local() -> None:
    cache: dict = getattr(_local, "sandboxes", None) or {}
    for box in cache.values():
        box.conn.close()
    cache.clear()
    results = getattr(_local, "results", None)
    if results is not None:
        results.clear()
