"""Hostile SQL in a completion: nothing it does may outlast the sandbox's limits.

A policy under GRPO writes whatever query pays, and one slow query stalls a whole
training step. Each query below is built to run long in a way the old wall-clock check
(looked at only between SQLite instructions) could not see: one function call over a long
string, a string grown past the length limit, an endless recursive CTE, a cross join.
Every one must end by the deterministic budget or the length limit (never by the
wall-clock safety net, which would make the score depend on the machine), the database
file must be unchanged, and the `rewards score` command must answer in one piece.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from rewards import sql_exec
from rewards.probe_db import build_probe_db

HOSTILE = {
    # A naive substring search at its worst: every position matches 4,000 characters first.
    "one instr() over a long string": "SELECT instr(printf('%.60000c', 'a') || 'b', printf('%.4000c', 'a') || 'b')"
                                      " FROM orders",
    "instr() over a 1 MB string": "SELECT instr(printf('%.1000000c', 'a'), 'b') FROM orders",
    "replace() growing past the length limit": "SELECT length(replace(printf('%.60000c', 'a'), 'a', 'aaaa'))",
    "zeroblob past the length limit": "SELECT length(zeroblob(1000000000))",
    "endless recursive CTE": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT max(n) FROM r",
    "cross join of every table": "SELECT count(*) FROM orders a, orders b, orders c, order_items d, customers e",
    "like with a huge pattern": f"SELECT count(*) FROM orders WHERE order_id LIKE '%{'_%' * 2000}'",
    "trim over a long string": "SELECT length(trim(printf('%.60000c', 'a'), printf('%.60000c', 'b')))",
}


@pytest.fixture(scope="module")
def probe_db(tmp_path_factory):
    return build_probe_db(tmp_path_factory.mktemp("sql") / "probe.db")


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_sql_ends_by_budget_or_limit(name, probe_db, ledger):
    before = _digest(probe_db)
    result = sql_exec.run_readonly(probe_db, HOSTILE[name])
    # Whatever stopped it, it was not the wall-clock safety net: the outcome (and so the
    # score) is the same on an idle and on a busy machine.
    assert result.stopped != "deadline", (name, result)
    assert not result.ok or result.rows is not None, (name, result)
    assert result.elapsed_ms < sql_exec.DEFAULT_DEADLINE_MS / 2, (name, result.elapsed_ms)
    again = sql_exec.run_readonly(probe_db, HOSTILE[name])
    assert (again.ok, again.stopped, again.error) == (result.ok, result.stopped, result.error)
    assert _digest(probe_db) == before
    ledger.record(f"hostile SQL: {name}", runs=2)


def test_hostile_sql_through_the_command_gets_a_score_not_a_traceback(probe_db, ledger):
    completion = "```sql\n" + HOSTILE["one instr() over a long string"] + "\n```\nA consulta conta pedidos."
    meta = json.dumps({"reference_answer": "[[30]]", "db_path": str(probe_db), "db_path_b": str(probe_db)})
    proc = subprocess.run([sys.executable, "-m", "audit_app", "rewards", "score", "--task", "sql_qa",
                           "--meta", meta], input=completion, capture_output=True, text=True, timeout=120)
    tracebacks = proc.stderr.count("Traceback")
    assert proc.returncode == 0 and tracebacks == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["components"].get("sql_correct", 0.0) == 0.0
    ledger.record("hostile SQL scored through `rewards score`", tracebacks=tracebacks)
