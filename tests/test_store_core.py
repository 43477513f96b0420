"""The store's plumbing: migrations, transactions across threads, refusing non-store files."""

from __future__ import annotations

import threading

import pytest

from data.store.core import Store, migrations
from data.store.errors import InvalidInput


def test_migrations_are_numbered_uniquely_and_all_applied(file_store):
    names = [name for _n, name, _sql in migrations()]
    assert file_store.applied_migrations() == names
    assert names[0] == "001_core"


def test_reopening_applies_nothing_twice(tmp_path):
    with Store(tmp_path / "s.db") as s:
        first = s.applied_migrations()
    with Store(tmp_path / "s.db") as s:
        assert s.applied_migrations() == first
        assert s.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_a_failed_transaction_in_one_thread_is_not_saved_by_another(tmp_path, kind):
    store = Store(tmp_path / "s.db" if kind == "file" else ":memory:")
    store.conn.execute("CREATE TABLE t (x INTEGER)")
    a_inside = threading.Event()
    b_done = threading.Event()
    errors = []

    def thread_a():
        with store.transaction(immediate=kind == "memory") as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            a_inside.set()
            # Hold the transaction open while B tries its failing write.
            b_done.wait(timeout=2)

    def thread_b():
        a_inside.wait(timeout=5)
        try:
            with store.transaction() as conn:
                conn.execute("INSERT INTO t VALUES (2)")
                raise RuntimeError("B fails after a partial write")
        except RuntimeError as exc:
            errors.append(exc)
        finally:
            b_done.set()

    ta, tb = threading.Thread(target=thread_a), threading.Thread(target=thread_b)
    ta.start()
    tb.start()
    ta.join(10)
    tb.join(10)
    assert len(errors) == 1
    assert [r["x"] for r in store.query("SELECT x FROM t ORDER BY x")] == [1]
    store.close()


def test_a_file_that_is_not_a_store_is_refused_clearly(tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("this is not a database\n" * 100)
    with pytest.raises(InvalidInput, match="not a tucano-audit store"):
        Store(bogus)
    with pytest.raises(InvalidInput, match="is a folder"):
        Store(tmp_path)
