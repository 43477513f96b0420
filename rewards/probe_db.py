"""A tiny commerce database for the probe bench and the reward tests.

Same table and column names as the Olist schema the real database uses (a subset of
the columns), 30 orders of deterministic content, so SQL probes have fixed answers and
run without `tucano-audit data build`. `variant=1` builds the second, differently
"seeded" copy the sql_qa reward checks answers on (other statuses, prices and payment
types in the same shape). Written to a temporary file and moved into place, so a reader
never sees a half-built database.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

DDL = """
CREATE TABLE product_category_name_translation (product_category_name TEXT PRIMARY KEY,
  product_category_name_english TEXT NOT NULL);
CREATE TABLE products (product_id TEXT PRIMARY KEY, product_category_name TEXT,
  product_weight_g INTEGER);
CREATE TABLE customers (customer_id TEXT PRIMARY KEY, customer_unique_id TEXT NOT NULL,
  customer_zip_code_prefix TEXT NOT NULL, customer_city TEXT NOT NULL, customer_state TEXT NOT NULL);
CREATE TABLE sellers (seller_id TEXT PRIMARY KEY, seller_zip_code_prefix TEXT NOT NULL,
  seller_city TEXT NOT NULL, seller_state TEXT NOT NULL);
CREATE TABLE orders (order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, order_status TEXT NOT NULL,
  order_purchase_timestamp TEXT NOT NULL, order_delivered_customer_date TEXT,
  order_estimated_delivery_date TEXT NOT NULL);
CREATE TABLE order_items (order_id TEXT NOT NULL, order_item_id INTEGER NOT NULL, product_id TEXT NOT NULL,
  seller_id TEXT NOT NULL, price REAL NOT NULL, freight_value REAL NOT NULL,
  PRIMARY KEY (order_id, order_item_id));
CREATE TABLE order_payments (order_id TEXT NOT NULL, payment_sequential INTEGER NOT NULL,
  payment_type TEXT NOT NULL, payment_installments INTEGER NOT NULL, payment_value REAL NOT NULL,
  PRIMARY KEY (order_id, payment_sequential));
CREATE TABLE order_reviews (review_id TEXT NOT NULL, order_id TEXT NOT NULL, review_score INTEGER NOT NULL,
  review_comment_message TEXT, review_creation_date TEXT NOT NULL, PRIMARY KEY (review_id, order_id));
"""

CATEGORIES = (
    ("beleza_saude", "health_beauty"),
    ("informatica_acessorios", "computers_accessories"),
    ("moveis_decoracao", "furniture_decor"),
    ("esporte_lazer", "sports_leisure"),
)
STATES = (("SP", "sao paulo"), ("RJ", "rio de janeiro"), ("MG", "belo horizonte"), ("SP", "campinas"))
PAYMENTS = ("credit_card", "boleto", "credit_card", "voucher", "debit_card")
N_ORDERS = 30


def _rows(variant: int = 0):
    products = [(f"p{i:02d}", CATEGORIES[i % 4][0], 200 + 150 * i) for i in range(1, 9)]
    customers = [
        (f"c{i:02d}", f"u{(i % 8) + 1:02d}", f"{10000 + i:05d}", STATES[i % 4][1], STATES[i % 4][0])
        for i in range(1, 11)
    ]
    sellers = [(f"s{i}", f"{20000 + i:05d}", STATES[i % 4][1], STATES[i % 4][0]) for i in range(1, 5)]
    orders, items, payments, reviews = [], [], [], []
    for i in range(1, N_ORDERS + 7 * variant + 1):
        oid = f"o{i:02d}"
        j = i * (1 + 2 * variant) + variant  # the second copy: more orders, other outcomes
        status = "canceled" if j % 10 == 0 else "shipped" if j % 7 == 0 else "delivered"
        month = (i % 6) + 1
        bought = f"2018-{month:02d}-{(i % 27) + 1:02d} 10:00:00"
        estimated = f"2018-{month + 1:02d}-{(i % 27) + 1:02d} 00:00:00"
        late = j % 4 == 0
        delivered = (f"2018-{month + 1:02d}-{(i % 27) + 2:02d} 12:00:00" if late
                     else f"2018-{month:02d}-{(i % 27) + 1:02d} 18:00:00") if status == "delivered" else None
        orders.append((oid, f"c{(i % 10) + 1:02d}", status, bought, delivered, estimated))
        total = 0.0
        for k in range(1, 2 + (i % 3 == 0)):
            price = round(19.9 + 10 * ((j * k) % 9) + 0.5 * k, 2)
            freight = round(5.0 + (i % 5) * 1.25, 2)
            items.append((oid, k, f"p{((i + k) % 8) + 1:02d}", f"s{(i % 4) + 1}", price, freight))
            total += price + freight
        payments.append((oid, 1, PAYMENTS[j % 5], 1 + (j % 6), round(total, 2)))
        if status == "delivered":
            score = 1 if late and i % 8 == 0 else 2 if late else 5 - (i % 3)
            reviews.append((f"r{i:02d}", oid, score, "chegou atrasado" if late else "tudo certo",
                            f"2018-{month + 1:02d}-01 00:00:00"))
    return {
        "product_category_name_translation": CATEGORIES,
        "products": products,
        "customers": customers,
        "sellers": sellers,
        "orders": orders,
        "order_items": items,
        "order_payments": payments,
        "order_reviews": reviews,
    }


def build_probe_db(path: str | os.PathLike, *, variant: int = 0) -> Path:
    """Write the probe database to `path` (atomically: built beside it, then renamed);
    `variant=1` is its second copy."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        conn = sqlite3.connect(name)
        try:
            with conn:
                conn.executescript(DDL)
                for table, rows in _rows(variant).items():
                    marks = ",".join("?" * len(rows[0]))
                    conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        finally:
            conn.close()
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return path
