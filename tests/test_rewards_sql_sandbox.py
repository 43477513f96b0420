"""The SQL sandbox: hostile queries leave the database byte-identical and stop in time; the
operation budget stops a query at the same point on every run; no single function call at
the length limit runs long; the tables a query reads are known."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from rewards import sql_exec
from rewards.probe_db import build_probe_db
from rewards.registry import get_reward

HOSTILE = [
    "DROP TABLE orders",
    "DELETE FROM orders",
    "INSERT INTO orders VALUES ('x', 'c01', 'delivered', '2018-01-01', NULL, '2018-01-02')",
    "UPDATE orders SET order_status = 'canceled'",
    "CREATE TABLE pwned (a)",
    "CREATE INDEX i ON orders(order_status)",
    "ALTER TABLE orders ADD COLUMN x",
    "ATTACH DATABASE '{tmp}/evil.db' AS evil",
    "PRAGMA journal_mode = WAL",
    "PRAGMA user_version = 7",
    "PRAGMA writable_schema = ON",
    "VACUUM",
    "VACUUM INTO '{tmp}/copy.db'",
    "BEGIN IMMEDIATE",
    "REINDEX",
    "ANALYZE",
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT 1; DROP TABLE orders",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r",
    "SELECT count(*) FROM order_items a, order_items b, order_items c, order_items d, order_items e",
    "SELECT zeroblob(1000000000)",
    "SELECT randomblob(500000000)",
    "SELECT group_concat(a.order_id || b.order_id) FROM orders a, orders b, orders c, orders d",
    "SELECT * FROM orders WHERE order_id = '\x00'",
    "SELECT '\ud800'",
]


# About 40 ms of the simplest VM loop on this machine: far more than any probe query needs.
BUDGET = 2_000_000


@pytest.fixture
def db(tmp_path):
    path = build_probe_db(tmp_path / "commerce.db")
    yield path
    sql_exec.close_all()


def _assert_in_time(sql: str, elapsed: float, cpu: float, limit: float) -> None:
    # Wall time is the promise. On an overloaded machine (the test suite runs in parallel)
    # the process may wait for a CPU past the deadline; then the CPU time it used must
    # still be within the limit, and the wait bounded.
    assert elapsed < limit or (cpu < limit and elapsed < 4 * limit), (
        f"{sql!r} took {elapsed * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU")


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("sql", HOSTILE)
def test_hostile_sql_leaves_database_identical_and_returns_in_time(db, tmp_path, sql):
    sql = sql.replace("{tmp}", str(tmp_path))
    before = _digest(db)
    files_before = sorted(os.listdir(tmp_path))
    start, cpu_start = time.perf_counter(), time.thread_time()
    result = sql_exec.run_readonly(db, sql, budget_ops=BUDGET)
    elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
    _assert_in_time(sql, elapsed, cpu, 0.25)
    assert _digest(db) == before
    assert sorted(os.listdir(tmp_path)) == files_before  # no journal, WAL, attached or vacuumed file
    # Everything is refused, stopped, or (an endless stream of rows) cut at max_rows.
    assert not result.ok or (result.truncated and len(result.rows) == sql_exec.DEFAULT_MAX_ROWS)
    assert result.ok or result.error


def test_endless_recursion_stops_at_the_operation_budget_the_same_way_every_time(db):
    sql = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    cpu_start = time.thread_time()
    result = sql_exec.run_readonly(db, sql, budget_ops=BUDGET)
    assert not result.ok and result.stopped == "budget" and "operation budget" in result.error
    _assert_in_time(sql, result.elapsed_ms / 1000, time.thread_time() - cpu_start, 0.25)
    # Counted in SQLite operations, not milliseconds: a second run stops at the same step,
    # however busy the machine is.
    again = sql_exec.run_readonly(db, sql, budget_ops=BUDGET)
    assert again.ops == result.ops and again.stopped == "budget"
    # The cached connection is usable afterwards.
    after = sql_exec.run_readonly(db, "SELECT count(*) FROM orders")
    assert after.ok and after.rows == [(30,)] and after.tables == frozenset({"orders"})


def test_the_wall_clock_deadline_is_only_a_safety_net(db):
    sql = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    result = sql_exec.run_readonly(db, sql, budget_ops=10**12, deadline_ms=50)
    assert not result.ok and result.stopped == "deadline" and "deadline" in result.error
    # A deadline stop depends on the machine: it is never cached; a budget stop is.
    assert sql_exec.run_readonly(db, sql, budget_ops=10**12, deadline_ms=50, cache=True) is not \
        sql_exec.run_readonly(db, sql, budget_ops=10**12, deadline_ms=50, cache=True)
    first = sql_exec.run_readonly(db, sql, budget_ops=BUDGET, cache=True)
    assert sql_exec.run_readonly(db, sql, budget_ops=BUDGET, cache=True) is first


# Queries whose every step works hard: each step carries or searches a string near the
# 64 KB limit, so their operation budget alone would let them run for seconds.
HARD_STEPS = [
    "WITH RECURSIVE r(n, s) AS (SELECT 1, printf('%.60000c', 'a') UNION ALL SELECT n + 1, s FROM r) "
    "SELECT count(*) FROM r WHERE instr(s || 'b', 'ab') > 0",
    "WITH RECURSIVE r(n, s) AS (SELECT 1, printf('%.60000c', 'a') UNION ALL SELECT n + 1, s FROM r) "
    "SELECT count(*) FROM r WHERE s LIKE '%a%a%a%a%a%b'",
    "WITH RECURSIVE r(n, s) AS (SELECT 1, printf('%.60000c', 'a') UNION ALL SELECT n + 1, upper(s) FROM r) "
    "SELECT count(*) FROM r WHERE s GLOB '*a*a*a*b'",
    "SELECT count(*) FROM orders a, orders b, order_items c WHERE instr(printf('%.60000c', a.order_id), b.order_id)",
]


@pytest.mark.parametrize("sql", HARD_STEPS)
def test_a_query_whose_every_step_works_hard_stops_at_its_cpu_limit(db, sql):
    limit_ms = sql_exec.cpu_limit_for(BUDGET)
    assert limit_ms == BUDGET * sql_exec.CPU_NS_PER_OP / 1e6 == 600
    cpu_start = time.thread_time()
    result = sql_exec.run_readonly(db, sql, budget_ops=BUDGET, cache=True)
    cpu = time.thread_time() - cpu_start
    # Stopped by its CPU time long before the operation budget or the 10 s safety net.
    assert not result.ok and result.stopped == "cpu" and "CPU-time limit of 600 ms" in result.error
    assert result.ops < BUDGET and cpu < 2 * limit_ms / 1000
    # A CPU stop depends on the machine: never cached.
    assert sql_exec.run_readonly(db, sql, budget_ops=BUDGET, cache=True) is not result


def test_queries_that_work_like_queries_reach_their_budget_not_the_cpu_limit(db):
    """The CPU limit only stops steps that cost far more than queries' steps: ordinary
    work runs to its operation budget, so its stop point (and score) is the same under load."""
    for sql in ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
                "SELECT count(*) FROM order_items a, order_items b, order_items c, order_items d"):
        result = sql_exec.run_readonly(db, sql, budget_ops=BUDGET)
        assert result.stopped == "budget" and result.ops == BUDGET + sql_exec.OPS_PER_TICK


def test_the_budget_floor_follows_the_database_size():
    from rewards.sql_qa import BUDGET_CEILING, BUDGET_FLOOR, MIN_FLOOR, OPS_PER_ROW, budget_for

    assert budget_for(1_000, 3_363) == OPS_PER_ROW * 3_363 < BUDGET_FLOOR   # the small build
    assert budget_for(1_000, 113_409) == BUDGET_FLOOR                       # the full-size build
    assert budget_for(1_000, 30) == MIN_FLOOR                               # a handful of rows
    assert budget_for(500_000, 3_363) == 5_000_000 and budget_for(10**9, 30) == BUDGET_CEILING
    # On the small build a hostile query of a prompt with a light reference gets about 50 ms of CPU.
    assert sql_exec.CPU_FLOOR_MS <= sql_exec.cpu_limit_for(budget_for(1_000, 3_363)) < 55


# The built-ins whose time grows fastest with their arguments, at the 64 KB length limit:
# each single call must stay short, because nothing can interrupt SQLite inside one call.
SLOW_CALLS = [
    "SELECT instr(printf('%.*c', 64000, 'a'), printf('%.*c', 32000, 'a') || 'b')",
    "SELECT length(replace(printf('%.*c', 64000, 'a'), printf('%.*c', 32000, 'a') || 'b', 'x'))",
    "SELECT length(trim(printf('%.*c', 64000, 'a'), printf('%.*c', 5400, 'b') || 'a'))",
    "SELECT length(ltrim(printf('%.*c', 64000, 'a'), printf('%.*c', 5400, 'b') || 'a'))",
    "SELECT length(rtrim(printf('%.*c', 64000, 'a'), printf('%.*c', 5400, 'b') || 'a'))",
    "SELECT printf('%.*c', 64000, 'a') LIKE '%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b'",
    "SELECT printf('%.*c', 64000, 'a') GLOB '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b'",
    "SELECT printf('%.*c', 64000, 'a') LIKE printf('%%%.*c%%b', 900, 'a')",
    "SELECT length(printf('%.*c', 1000000, 'a'))",
    "SELECT instr(printf('%.*c', 1000000, 'a'), 'b')",
    "SELECT zeroblob(1000000000)",
]


@pytest.mark.parametrize("sql", SLOW_CALLS)
def test_no_single_function_call_at_the_length_limit_runs_long(db, sql):
    cpu_start = time.thread_time()
    start = time.perf_counter()
    result = sql_exec.run_readonly(db, sql)
    _assert_in_time(sql, time.perf_counter() - start, time.thread_time() - cpu_start, 0.1)
    assert result.ok or "too big" in result.error or "pattern" in result.error


def test_trim_with_a_character_set_is_the_builtin_made_linear(db):
    result = sql_exec.run_readonly(db, "SELECT trim('xxabcxx', 'x'), ltrim('aab', 'a'), rtrim('baa', 'a'), "
                                       "trim('  oi  '), trim(NULL, 'a'), trim('abc', NULL)")
    assert result.rows == [("abc", "b", "b", "oi", None, None)]


def test_the_tables_a_query_reads_are_known(db):
    assert sql_exec.run_readonly(db, "SELECT 50.0").tables == frozenset()
    join = sql_exec.run_readonly(db, "SELECT count(*) FROM orders o JOIN customers c ON c.customer_id = o.customer_id")
    assert join.tables == {"orders", "customers"}
    typed = sql_exec.run_readonly(db, "SELECT * FROM (VALUES (1), (2)) WHERE EXISTS (SELECT 1 FROM orders)")
    assert typed.ok and typed.tables == {"orders"}


def test_run_pair_runs_on_both_databases(db, tmp_path):
    import sqlite3

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE orders (order_id TEXT)")
    conn.executemany("INSERT INTO orders VALUES (?)", [("a",), ("b",)])
    conn.commit()
    conn.close()
    a, b = sql_exec.run_pair(db, other, "SELECT count(*) FROM orders")
    assert a.rows == [(30,)] and b.rows == [(2,)]
    a, none = sql_exec.run_pair(db, None, "SELECT count(*) FROM orders")
    assert a.rows == [(30,)] and none is None


def test_result_size_is_bounded(db):
    result = sql_exec.run_readonly(db, "SELECT a.order_id FROM orders a, orders b", max_rows=100)
    assert result.ok and result.truncated and len(result.rows) == 100


def test_reads_work_and_writes_are_denied_by_the_authorizer(db):
    ok = sql_exec.run_readonly(db, "SELECT order_status, count(*) FROM orders GROUP BY 1 ORDER BY 1")
    assert ok.ok and ok.columns == ("order_status", "count(*)") and ok.rows[0] == ("canceled", 3)
    denied = sql_exec.run_readonly(db, "DELETE FROM orders")
    assert not denied.ok and "not authorized" in denied.error
    # Schema introspection through table-valued pragma functions is a harmless read.
    assert sql_exec.run_readonly(db, "SELECT count(*) FROM sqlite_master").ok


def test_missing_database_is_an_error_result(tmp_path):
    result = sql_exec.run_readonly(tmp_path / "nada.db", "SELECT 1")
    assert not result.ok and "cannot open database" in result.error


def test_rebuilt_database_is_reopened(tmp_path):
    path = build_probe_db(tmp_path / "commerce.db")
    assert sql_exec.run_readonly(path, "SELECT count(*) FROM orders").rows == [(30,)]
    import sqlite3

    conn = sqlite3.connect(tmp_path / "other.db")
    conn.execute("CREATE TABLE orders (order_id TEXT)")
    conn.execute("INSERT INTO orders VALUES ('a')")
    conn.commit()
    conn.close()
    os.replace(tmp_path / "other.db", path)
    assert sql_exec.run_readonly(path, "SELECT count(*) FROM orders").rows == [(1,)]
    sql_exec.close_all()


def test_hostile_completions_through_the_reward(db):
    reward = get_reward("sql_qa")
    before = _digest(db)
    for sql in HOSTILE[:8]:
        b = reward.score(f"```sql\n{sql};\n```\nPronto: removi 3 pedidos dos clientes.",
                         reference_answer="[[23]]", db_path=str(db), db_path_b=str(db))
        assert b.components["sql_runs"] == 0.0 and b.components["sql_correct"] == 0.0
    assert _digest(db) == before
