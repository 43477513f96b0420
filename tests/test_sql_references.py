"""Every sql_qa reference query answers its question: each template's reference SQL is
checked against an independent formulation (written here from the question's words, with
other joins, date functions and subqueries) on both databases of a build.

This is how a reference that drops states of a region (a filter on states with many
customers) or counts only an order's first item is caught: the reference is the answer
key of the reward, and a wrong key teaches the policy the wrong thing.
"""

from __future__ import annotations

import random
import sqlite3

import pytest

from data import prompt_sql, sql_questions
from data.catalog import STATES
from rewards.sql_compare import compare, sort_key


def _region_states(region: str) -> str:
    return ", ".join(f"'{s.code}'" for s in STATES if s.region == region)


def _year(year: str) -> str:
    return f"strftime('%Y', o.order_purchase_timestamp) = '{year}'"


def _month(month: str) -> str:
    return f"strftime('%Y-%m', o.order_purchase_timestamp) = '{month}'"


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


INDEPENDENT = {
    "receita_por_categoria": lambda p: f"""
        WITH d AS (SELECT p.product_category_name AS cat, i.price FROM order_items i, orders o, customers c, products p
                   WHERE i.order_id = o.order_id AND o.customer_id = c.customer_id AND p.product_id = i.product_id
                   AND o.order_status = 'delivered' AND c.customer_state = {_q(p['uf'])} AND {_year(p['year'])})
        SELECT cat, ROUND(SUM(price), 2) AS r FROM d GROUP BY cat ORDER BY r DESC, cat LIMIT {p['n']}""",
    "atraso_por_estado": lambda p: f"""
        SELECT c.customer_state, ROUND(AVG(julianday(o.order_delivered_customer_date)
                                           - julianday(o.order_estimated_delivery_date)), 2) AS a
        FROM customers c, orders o WHERE c.customer_id = o.customer_id AND o.order_status = 'delivered'
        AND o.order_delivered_customer_date IS NOT NULL AND {_month(p['month'])}
        GROUP BY 1 ORDER BY a DESC, 1 LIMIT {p['n']}""",
    "atrasados_nota_baixa": lambda p: f"""
        SELECT ROUND(100.0 * AVG(CASE WHEN r.review_score <= {p['low']} THEN 1 ELSE 0 END), 2)
        FROM order_reviews r JOIN orders o ON o.order_id = r.order_id
        WHERE o.order_status = 'delivered' AND o.order_delivered_customer_date IS NOT NULL
        AND julianday(o.order_delivered_customer_date) > julianday(o.order_estimated_delivery_date)
        AND {_year(p['year'])} AND o.customer_id IN (SELECT customer_id FROM customers WHERE customer_state = {_q(p['uf'])})""",
    "pedidos_por_status": lambda p: f"""
        SELECT order_status, COUNT(order_id) FROM orders o
        WHERE {_month(p['month'])} AND customer_id IN (SELECT customer_id FROM customers WHERE customer_state = {_q(p['uf'])})
        GROUP BY order_status""",
    "pagamento_por_tipo": lambda p: f"""
        SELECT pay.payment_type, COUNT(*), ROUND(SUM(pay.payment_value) / COUNT(*), 2)
        FROM order_payments pay WHERE pay.order_id IN (
          SELECT o.order_id FROM orders o JOIN customers c USING (customer_id)
          WHERE c.customer_state = {_q(p['uf'])} AND {_year(p['year'])})
        GROUP BY pay.payment_type""",
    "nota_por_categoria": lambda p: f"""
        WITH first_item AS (SELECT order_id, MIN(order_item_id) AS k FROM order_items GROUP BY order_id),
        cat AS (SELECT i.order_id, pr.product_category_name AS name FROM order_items i
                JOIN first_item f ON f.order_id = i.order_id AND f.k = i.order_item_id
                JOIN products pr ON pr.product_id = i.product_id)
        SELECT cat.name, ROUND(AVG(r.review_score), 2) AS m, COUNT(*) FROM order_reviews r
        JOIN cat ON cat.order_id = r.order_id JOIN orders o ON o.order_id = r.order_id
        JOIN customers c ON c.customer_id = o.customer_id WHERE c.customer_state = {_q(p['uf'])}
        GROUP BY cat.name HAVING COUNT(*) >= {p['k']}
        ORDER BY m {'ASC' if p['worst'] else 'DESC'}, cat.name LIMIT {p['n']}""",
    "frete_por_estado": lambda p: f"""
        SELECT c.customer_state, ROUND(AVG(i.freight_value), 2) AS f,
               ROUND(100.0 * SUM(i.freight_value) / SUM(i.price), 2)
        FROM customers c JOIN orders o ON o.customer_id = c.customer_id JOIN order_items i ON i.order_id = o.order_id
        WHERE c.customer_state IN ({_region_states(p['region'])}) AND {_year(p['year'])}
        GROUP BY c.customer_state""",
    "vendedores_top": lambda p: f"""
        SELECT i.seller_id, ROUND(SUM(i.price), 2) AS f, COUNT(*) FROM order_items i
        WHERE i.seller_id IN (SELECT seller_id FROM sellers WHERE seller_state = {_q(p['uf'])})
        AND i.order_id IN (SELECT o.order_id FROM orders o WHERE o.order_status = 'delivered' AND {_year(p['year'])})
        GROUP BY i.seller_id ORDER BY f DESC, i.seller_id LIMIT {p['n']}""",
    "parcelas_por_mes": lambda p: f"""
        SELECT substr(o.order_purchase_timestamp, 6, 2), ROUND(AVG(pay.payment_installments), 2)
        FROM orders o JOIN customers c USING (customer_id) JOIN order_payments pay USING (order_id)
        WHERE pay.payment_type = 'credit_card' AND c.customer_state = {_q(p['uf'])} AND {_year(p['year'])}
        GROUP BY 1""",
    "clientes_recorrentes": lambda p: f"""
        WITH people AS (SELECT c.customer_unique_id, COUNT(DISTINCT o.order_id) AS n FROM customers c, orders o
                        WHERE o.customer_id = c.customer_id AND c.customer_state = {_q(p['uf'])}
                        GROUP BY c.customer_unique_id)
        SELECT SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END), COUNT(*) FROM people""",
    "taxa_recompra": lambda p: f"""
        WITH people AS (SELECT c.customer_unique_id, COUNT(DISTINCT o.order_id) AS n FROM customers c, orders o
                        WHERE o.customer_id = c.customer_id AND c.customer_state = {_q(p['uf'])}
                        GROUP BY c.customer_unique_id)
        SELECT ROUND(100.0 * AVG(n >= 2), 2) FROM people""",
    "tempo_entrega_categoria": lambda p: f"""
        SELECT strftime('%Y', o.order_purchase_timestamp),
               ROUND(AVG(julianday(o.order_delivered_customer_date) - julianday(o.order_purchase_timestamp)), 2)
        FROM orders o WHERE o.order_status = 'delivered' AND o.order_delivered_customer_date IS NOT NULL
        AND EXISTS (SELECT 1 FROM order_items i JOIN products pr ON pr.product_id = i.product_id
                    WHERE i.order_id = o.order_id AND pr.product_category_name = {_q(p['category'])})
        GROUP BY 1""",
    "receita_mensal": lambda p: f"""
        SELECT substr(o.order_purchase_timestamp, 6, 2), ROUND(SUM(i.price) + SUM(i.freight_value), 2)
        FROM order_items i JOIN orders o USING (order_id) JOIN customers c USING (customer_id)
        WHERE o.order_status <> 'canceled' AND o.order_status <> 'unavailable'
        AND c.customer_state = {_q(p['uf'])} AND {_year(p['year'])} GROUP BY 1""",
    "cidades_top": lambda p: f"""
        WITH per_order AS (SELECT o.order_id, c.customer_city AS city, SUM(pay.payment_value) AS v
                           FROM orders o JOIN customers c USING (customer_id) JOIN order_payments pay USING (order_id)
                           WHERE c.customer_state = {_q(p['uf'])} AND {_year(p['year'])} GROUP BY o.order_id)
        SELECT city, COUNT(*) AS n, ROUND(SUM(v) / COUNT(*), 2) FROM per_order
        GROUP BY city ORDER BY n DESC, city LIMIT {p['n']}""",
    "cancelamentos_por_categoria": lambda p: f"""
        SELECT cat, COUNT(*) AS n FROM (
          SELECT DISTINCT o.order_id, pr.product_category_name AS cat FROM orders o
          JOIN order_items i ON i.order_id = o.order_id JOIN products pr ON pr.product_id = i.product_id
          WHERE o.order_status = 'canceled' AND {_year(p['year'])})
        GROUP BY cat ORDER BY n DESC, cat LIMIT {p['n']}""",
}


@pytest.fixture(scope="module")
def conns(small_data):
    a = sqlite3.connect(f"file:{small_data['db']}?mode=ro", uri=True)
    b = sqlite3.connect(f"file:{small_data['db_b']}?mode=ro", uri=True)
    yield a, b
    a.close()
    b.close()


def test_every_template_has_an_independent_formulation():
    keys = {sql_questions.TEMPLATES[i](random.Random(s), _ctx()).key for i in range(len(sql_questions.TEMPLATES))
            for s in range(6)}
    assert keys == set(INDEPENDENT)


def _ctx():
    return sql_questions.Context(states=("SP", "MG"), seller_states=("SP",), categories=("beleza_saude",),
                                 years=("2017", "2018"), months=("2017-11", "2018-03"), min_reviews=5)


@pytest.mark.parametrize("template", sql_questions.TEMPLATES, ids=lambda t: t.__name__)
def test_every_reference_matches_an_independent_formulation_on_both_databases(conns, template):
    a, b = conns
    ctx = prompt_sql.context(a)
    rng = random.Random(f"references {template.__name__}")
    checked = 0
    for _ in range(10):
        question = template(rng, ctx)
        independent = INDEPENDENT[question.key](question.params)
        for name, conn in (("main", a), ("second", b)):
            cur = conn.execute(question.sql)
            ref, columns = cur.fetchall(), tuple(d[0] for d in cur.description)
            got = conn.execute(independent).fetchall()
            result = compare(got, ref, ordered=question.ordered, key=sort_key(question.sql, columns))
            assert result.ok and result.extra == 0, (name, question.text, result.reason, got[:3], ref[:3])
            checked += bool(ref)
    assert checked >= 5  # most questions have an answer on both databases


def test_a_region_question_covers_every_state_of_the_region_with_orders(conns):
    a, _ = conns
    ctx = sql_questions.Context(states=("SP",), seller_states=("SP",), categories=("beleza_saude",),
                                years=("2018",), months=("2018-03",), min_reviews=5)
    question = sql_questions.freight_by_region(random.Random(1), ctx)
    with_orders = {s for (s,) in a.execute(
        "SELECT DISTINCT c.customer_state FROM customers c JOIN orders o USING (customer_id) "
        f"WHERE {_year(question.params['year'])}")}
    region = {s.code for s in STATES if s.region == question.params["region"]}
    assert {r[0] for r in a.execute(question.sql)} == region & with_orders
