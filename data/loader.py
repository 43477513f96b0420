"""Bulk inserts into the commerce schema, shared by the synthetic generator and the
Olist importer: one executemany per table with the columns in schema order."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable

from data.schema import column_names


def insert_rows(conn: sqlite3.Connection, table: str, rows: Iterable[tuple]) -> None:
    """Insert tuples ordered like the table's columns, inside one transaction."""
    cols = column_names(table)
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.execute("BEGIN")
    try:
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    except BaseException:
        # SQLite may have rolled back by itself (disk full, I/O error): a second ROLLBACK
        # would fail with "no transaction is active" and hide the real cause.
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
