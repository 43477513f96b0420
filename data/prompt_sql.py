"""sql_qa prompts: a business question, the tables it may use, and the reference SQL with
its answer computed from this database (JSON text: a list of rows, each a list). The row
also carries the question's text and whether it asks for an order (`order_matters`),
which the reward reads; its answer on the second database the reward computes itself.

Templates are taken round-robin (data.sql_questions); a question whose answer is empty
or all NULL in this database (a state with no late orders in a small build) is skipped,
since it could not tell a right query from a wrong one.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator

from data import schema, sql_questions
from data.prompts import make_row, normalise

SYSTEM = (
    "Você é analista de dados de um e-commerce brasileiro e escreve SQL para SQLite. Responda com a "
    "consulta SQL em um bloco ```sql``` seguida de uma explicação curta, em português, do que a "
    "consulta calcula e de como ler o resultado."
)
# After this many consecutive rejected candidates a template is considered exhausted.
MAX_MISSES = 60


def context(conn: sqlite3.Connection) -> sql_questions.Context:
    """The states, categories and periods this database actually has."""
    q = lambda sql: tuple(r[0] for r in conn.execute(sql))  # noqa: E731
    orders = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    months = q("SELECT substr(order_purchase_timestamp, 1, 7) AS m FROM orders GROUP BY m HAVING COUNT(*) >= 20 ORDER BY m")
    return sql_questions.Context(
        states=q("SELECT customer_state FROM customers GROUP BY 1 HAVING COUNT(*) >= 10 ORDER BY 1"),
        seller_states=q("SELECT seller_state FROM sellers GROUP BY 1 HAVING COUNT(*) >= 3 ORDER BY 1"),
        categories=q("SELECT product_category_name FROM products WHERE product_category_name IS NOT NULL "
                     "GROUP BY 1 HAVING COUNT(*) >= 5 ORDER BY 1"),
        years=tuple(sorted({m[:4] for m in months})),
        months=months,
        min_reviews=max(5, round(orders / 5000)),
    )


def user_message(question: sql_questions.Question) -> str:
    return (f"Pergunta de negócio: {question.text}\n\n"
            f"Tabelas que você pode usar (SQLite):\n{schema.describe(question.tables)}\n\n"
            "Escreva a consulta SQL que responde à pergunta e explique o resultado.")


def answer(conn: sqlite3.Connection, sql: str) -> str | None:
    rows = conn.execute(sql).fetchall()
    if not rows or all(v is None for r in rows for v in r):
        return None
    return json.dumps([list(r) for r in rows], ensure_ascii=False)


def stream(conn: sqlite3.Connection, rng: random.Random, seen: set[str]) -> Iterator[dict]:
    ctx = context(conn)
    if not (ctx.states and ctx.years and ctx.months and ctx.categories):
        raise ValueError("the commerce database has too few orders to build sql_qa questions")
    live = list(sql_questions.TEMPLATES)
    misses = dict.fromkeys(live, 0)
    empty: set[str] = set()  # questions already seen or answered by nothing: never run twice
    while live:
        for template in list(live):
            while True:
                question = template(rng, ctx)
                user = user_message(question)
                key = normalise(user)
                ref = None if key in seen or key in empty else answer(conn, question.sql)
                if ref is None:
                    empty.add(key)
                else:
                    misses[template] = 0
                    seen.add(key)
                    yield make_row("sql_qa", SYSTEM, user, reference_sql=question.sql,
                                   reference_answer=ref, topic=question.key, key=key,
                                   question=question.text, order_matters=question.ordered)
                    break
                misses[template] += 1
                if misses[template] >= MAX_MISSES:
                    live.remove(template)
                    break
