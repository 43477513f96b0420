"""The commerce schema as data: the DDL in schema.sql, read once, and what the rest of
`data/` needs to know about it (column names and types, load order, a compact text
description for sql_qa prompts).

schema.sql is the only place the tables are defined; everything here is derived from it
by asking SQLite itself (PRAGMA table_info), so the two cannot drift apart.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("schema.sql")

# Parents before children, so foreign keys hold while loading in this order.
TABLES: tuple[str, ...] = (
    "product_category_name_translation",
    "products",
    "customers",
    "sellers",
    "orders",
    "order_items",
    "order_payments",
    "order_reviews",
    "geolocation",
)
OPTIONAL_TABLES: frozenset[str] = frozenset({"geolocation"})


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # "TEXT" | "INTEGER" | "REAL"
    notnull: bool
    pk: bool


def ddl() -> str:
    return SCHEMA_PATH.read_text(encoding="utf-8")


def create_schema(conn: sqlite3.Connection) -> None:
    """Create every table and index on an empty connection."""
    conn.executescript(ddl())


@cache
def columns() -> dict[str, tuple[Column, ...]]:
    """Table -> its columns in declaration order (the Olist CSV order)."""
    conn = sqlite3.connect(":memory:")
    try:
        create_schema(conn)
        out = {}
        for table in TABLES:
            rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
            out[table] = tuple(Column(r[1], r[2].upper(), bool(r[3]), bool(r[5])) for r in rows)
        return out
    finally:
        conn.close()


def column_names(table: str) -> tuple[str, ...]:
    return tuple(c.name for c in columns()[table])


# What each table holds, in the words a business question uses; shown under the DDL
# summary in sql_qa prompts so the model knows which table answers what.
TABLE_NOTES: dict[str, str] = {
    "orders": "um pedido por linha; order_status 'delivered' = entregue; datas em texto 'AAAA-MM-DD HH:MM:SS'",
    "order_items": "itens de cada pedido; price = preço do item em R$, freight_value = frete do item",
    "order_payments": "pagamentos do pedido; payment_type: credit_card, boleto, voucher, debit_card",
    "order_reviews": "avaliações; review_score de 1 a 5; review_comment_message pode ser nulo",
    "products": "produtos; product_category_name em português",
    "product_category_name_translation": "nome da categoria em inglês",
    "customers": "cliente de cada pedido; customer_unique_id identifica a pessoa; customer_state = UF",
    "sellers": "vendedores; seller_state = UF",
    "geolocation": "coordenadas por prefixo de CEP",
}


def describe(tables: tuple[str, ...] | list[str]) -> str:
    """A compact schema description for prompts: one line per table with typed columns."""
    cols = columns()
    lines = []
    for table in tables:
        if table not in cols:
            raise ValueError(f"unknown table {table!r}; valid: {', '.join(TABLES)}")
        spec = ", ".join(f"{c.name} {c.type}" for c in cols[table])
        lines.append(f"- {table}({spec}) -- {TABLE_NOTES[table]}")
    return "\n".join(lines)
