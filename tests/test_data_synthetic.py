"""The synthetic Olist stand-in: schema, determinism, the realism the issue asks for
(states, categories, statuses, late deliveries leaning to low scores, most reviews without
a comment) and the diversity of the review comments."""

from __future__ import annotations

import random
import sqlite3
import time
from collections import Counter

import pytest

from data import review_text
from data.atomic import new_database
from data.catalog import CATEGORIES
from data.schema import TABLES, column_names, create_schema, describe
from data.synthetic import generate


@pytest.fixture(scope="module")
def db(small_data):
    conn = sqlite3.connect(f"file:{small_data['db']}?mode=ro", uri=True)
    yield conn
    conn.close()


def q(conn, sql):
    return conn.execute(sql).fetchall()


def test_olist_table_and_column_names(db):
    tables = {r[0] for r in q(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert set(TABLES) <= tables
    assert column_names("order_reviews") == ("review_id", "order_id", "review_score", "review_comment_title",
                                             "review_comment_message", "review_creation_date",
                                             "review_answer_timestamp")
    assert "product_name_lenght" in column_names("products")  # Olist's own spelling
    assert q(db, "PRAGMA foreign_key_check") == []
    fks = {r[2] for r in q(db, "PRAGMA foreign_key_list(order_items)")}
    assert fks == {"orders", "products", "sellers"}
    assert "customer_state TEXT" in describe(["customers"])


def test_small_database_builds_fast_and_deterministically(tmp_path):
    # CPU seconds of this process: what the build needs of one core, however busy the machine.
    start = time.process_time()
    with new_database(tmp_path / "a.db") as conn:
        create_schema(conn)
        generate(conn, seed=5, size="small")
    assert time.process_time() - start < 2.0
    with new_database(tmp_path / "b.db") as conn:
        create_schema(conn)
        generate(conn, seed=5, size="small")
    assert (tmp_path / "a.db").read_bytes() == (tmp_path / "b.db").read_bytes()
    with pytest.raises(ValueError, match="unknown size 'huge'; valid: default, small"):
        generate(sqlite3.connect(":memory:"), size="huge")


def test_states_categories_and_statuses(db):
    states = Counter(dict(q(db, "SELECT customer_state, COUNT(*) FROM customers GROUP BY 1")))
    assert states.most_common(1)[0][0] == "SP" and len(states) >= 20
    assert 0.35 < states["SP"] / sum(states.values()) < 0.5
    cats = dict(q(db, "SELECT product_category_name, product_category_name_english FROM product_category_name_translation"))
    assert cats["cama_mesa_banho"] == "bed_bath_table" and len(cats) == len(CATEGORIES)
    status = Counter(dict(q(db, "SELECT order_status, COUNT(*) FROM orders GROUP BY 1")))
    assert status["delivered"] / sum(status.values()) > 0.9 and status["canceled"] and status["shipped"]
    # Delivered orders carry their dates; undelivered ones none.
    assert q(db, "SELECT COUNT(*) FROM orders WHERE order_status = 'delivered' AND order_delivered_customer_date IS NULL") == [(0,)]
    assert q(db, "SELECT COUNT(*) FROM orders WHERE order_status != 'delivered' AND order_delivered_customer_date IS NOT NULL") == [(0,)]
    price, freight = q(db, "SELECT AVG(price), AVG(freight_value) FROM order_items")[0]
    assert 60 < price < 200 and 8 < freight < 35


def test_late_deliveries_lean_to_low_scores(db):
    late, on_time = q(db, """
        SELECT AVG(CASE WHEN o.order_delivered_customer_date > o.order_estimated_delivery_date THEN r.review_score END),
               AVG(CASE WHEN o.order_delivered_customer_date <= o.order_estimated_delivery_date THEN r.review_score END)
        FROM orders o JOIN order_reviews r ON r.order_id = o.order_id WHERE o.order_status = 'delivered'""")[0]
    assert on_time - late > 1.0
    share_late = q(db, """SELECT AVG(order_delivered_customer_date > order_estimated_delivery_date)
                          FROM orders WHERE order_status = 'delivered'""")[0][0]
    assert 0.03 < share_late < 0.2


def test_most_reviews_have_no_comment_and_scores_look_real(db):
    total, commented = q(db, "SELECT COUNT(*), SUM(review_comment_message IS NOT NULL) FROM order_reviews")[0]
    assert 0.3 < commented / total < 0.5
    scores = Counter(dict(q(db, "SELECT review_score, COUNT(*) FROM order_reviews GROUP BY 1")))
    assert scores.most_common(1)[0][0] == 5 and scores[1] > scores[2]
    dates = q(db, """SELECT COUNT(*) FROM order_reviews r JOIN orders o ON o.order_id = r.order_id
                     WHERE r.review_answer_timestamp < r.review_creation_date""")
    assert dates == [(0,)]


def test_comments_agree_with_what_happened(db):
    undelivered = [m for (m,) in q(db, """SELECT r.review_comment_message FROM order_reviews r JOIN orders o
        ON o.order_id = r.order_id WHERE o.order_status IN ('shipped', 'invoiced', 'processing')
        AND r.review_comment_message IS NOT NULL""")]
    assert undelivered
    praise = ("excelente", "lind", "adorou", "amei", "recomendo!", "antes do prazo")
    assert not any(w in m.lower() for m in undelivered for w in praise)


def _comments(n, seed=0):
    rng = random.Random(seed)
    nouns = [noun for c in CATEGORIES for noun in c.nouns]
    scores = rng.choices((1, 2, 3, 4, 5), (11.5, 3.2, 8.2, 19.3, 57.8), k=n)
    return [review_text.compose(rng, review_text.OrderFacts(s, "delivered", rng.randint(-12, 6) if s < 4 else
                                                            rng.randint(-12, 0), rng.choice(nouns)))[0]
            for s in scores]


def test_comment_diversity_bound():
    div = review_text.duplicate_share(_comments(20_000))
    # No text covers more than half a percent of comments; few repeat at all.
    assert div["top_share"] < 0.005
    assert div["repeated_share"] < 0.2
    assert div["distinct"] > 0.85 * div["comments"]


def test_comments_have_human_slips():
    texts = _comments(3000, seed=1)
    lowered = " ".join(texts).lower()
    assert " vc " in lowered or " pq " in lowered or " mto " in lowered
    assert "nao " in lowered and "não " in lowered  # with and without accents
    assert any(t == t.lower() for t in texts) and any(not t.endswith((".", "!")) for t in texts)
