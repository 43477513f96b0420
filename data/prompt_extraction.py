"""extraction prompts: a customer review -> the 10-field JSON defined in rewards.schema.

The star rating is kept as metadata (the `rating` column), not shown in the prompt: the
reward uses it to catch a stated sentiment that contradicts the stars. The review's text
(`review`) and, for synthetic data, the labels it was composed from (`gold`: issue flags,
topic, recommendation) go into the row too: the reward scores the answer against them.
Reviews are taken
round-robin over the five ratings, so every split is balanced by rating as far as the
database has commented reviews of each rating.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator

from data.catalog import CATEGORY_BY_NAME
from data.prompts import make_row, normalise
from rewards.schema import FIELD_NAMES, describe_schema

SYSTEM = (
    "Você é um assistente que extrai informações estruturadas de avaliações de clientes de um "
    "e-commerce brasileiro. Responda somente com um objeto JSON válido, sem texto antes ou depois."
)

REVIEWS_SQL = """
SELECT r.review_id, r.order_id, r.review_score, r.review_comment_title, r.review_comment_message,
       (SELECT p.product_category_name FROM order_items i JOIN products p ON p.product_id = i.product_id
        WHERE i.order_id = r.order_id ORDER BY i.order_item_id LIMIT 1) AS category
FROM order_reviews r
WHERE r.review_comment_message IS NOT NULL AND trim(r.review_comment_message) != ''
ORDER BY r.review_id, r.order_id
"""


def category_label(name: str | None) -> str:
    if not name:
        return "não informada"
    cat = CATEGORY_BY_NAME.get(name)
    return cat.label if cat else name.replace("_", " ")


def user_message(message: str, title: str | None, category: str | None) -> str:
    head = (f"Extraia as informações da avaliação abaixo em um objeto JSON com exatamente estes "
            f"{len(FIELD_NAMES)} campos:\n{describe_schema()}")
    review = f"Categoria do produto: {category_label(category)}\n"
    if title and title.strip():
        review += f"Título: {title.strip()}\n"
    review += f"Comentário: \"{message.strip()}\""
    return f"{head}\n\nAvaliação do cliente:\n{review}\n\nResponda somente com o JSON."


def stream(conn: sqlite3.Connection, rng: random.Random, seen: set[str],
           labels: dict[tuple[str, str], dict] | None = None) -> Iterator[dict]:
    """Rows in rating order 1, 2, 3, 4, 5, 1, ...; a rating that runs out is skipped.
    `labels` ((review_id, order_id) -> gold labels) come from the synthetic generator; a
    review without them (the real Olist data) gets `gold` null."""
    labels = labels or {}
    by_rating: dict[int, list[tuple]] = {r: [] for r in range(1, 6)}
    for review_id, order_id, score, title, message, category in conn.execute(REVIEWS_SQL):
        if score in by_rating:
            by_rating[score].append((title, message, category, labels.get((review_id, order_id))))
    if not any(by_rating.values()):
        raise ValueError("order_reviews has no comment text (review_comment_message is empty everywhere): "
                         "extraction prompts need commented reviews")
    for pool in by_rating.values():
        rng.shuffle(pool)
    while any(by_rating.values()):
        for rating, pool in by_rating.items():
            while pool:
                title, message, category, gold = pool.pop()
                user = user_message(message, title, category)
                key = normalise(user)
                if key in seen:
                    continue
                seen.add(key)
                review = f"{title.strip()}. {message.strip()}" if title and title.strip() else message.strip()
                yield make_row("extraction", SYSTEM, user, stratum=f"extraction:rating={rating}", rating=rating,
                               key=key, gold=gold, review=review)
                break
