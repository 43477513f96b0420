"""Business questions for the sql_qa task: templates with parameters, each turning into
a Portuguese question, the tables it may use and the reference SQL that answers it.

The reference SQL is written with literal values (no bound parameters) because it is
stored in the prompt row and executed again by the SQL reward; ORDER BY clauses break
ties so the reference answer is the same on every run. A question says whether it asks
for an order (`Question.ordered`, and the question's words say it too: "da maior para a
menor"); only then does the reward hold an answer to the row order, and then only to the
order of the sort key (ties may come in any order). `params` keeps the values a template
drew, so a test can check every reference against an independent formulation.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from data.catalog import REGIONS, STATES


@dataclass(frozen=True)
class Question:
    key: str  # template name, kept as the row's topic
    text: str
    tables: tuple[str, ...]
    sql: str
    ordered: bool = False  # the question asks for its rows in an order
    params: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Context:
    """What the templates may pick from: values present in this database."""

    states: tuple[str, ...]
    seller_states: tuple[str, ...]
    categories: tuple[str, ...]
    years: tuple[str, ...]
    months: tuple[str, ...]  # 'YYYY-MM'
    min_reviews: int  # a sensible "at least k reviews" floor for one state in this database


PT_MONTHS = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
             "outubro", "novembro", "dezembro")
REGION_STATES = {r: tuple(s.code for s in STATES if s.region == r) for r in REGIONS}


def _year_range(year: str) -> str:
    return f"o.order_purchase_timestamp >= '{year}-01-01' AND o.order_purchase_timestamp < '{int(year) + 1}-01-01'"


def _month_range(month: str) -> str:
    y, m = int(month[:4]), int(month[5:])
    nxt = f"{y + m // 12}-{m % 12 + 1:02d}"
    return f"o.order_purchase_timestamp >= '{month}-01' AND o.order_purchase_timestamp < '{nxt}-01'"


def _month_label(month: str) -> str:
    return f"{PT_MONTHS[int(month[5:]) - 1]} de {month[:4]}"


def _lit(value) -> str:
    """A SQL string literal. Categories come from the database (a real Olist CSV may hold any
    text), so a quote inside one must not end the literal and change the query."""
    return "'" + str(value).replace("'", "''") + "'"


def _in_list(values) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


DELIVERED = "o.order_status = 'delivered' AND o.order_delivered_customer_date IS NOT NULL"
DELAY = "julianday(o.order_delivered_customer_date) - julianday(o.order_estimated_delivery_date)"


def top_categories_revenue(rng: random.Random, c: Context) -> Question:
    n, uf, year = rng.choice((3, 5, 10)), rng.choice(c.states), rng.choice(c.years)
    return Question(
        "receita_por_categoria",
        f"Quais são as {n} categorias de produto com maior receita (soma de price dos itens) em pedidos "
        f"entregues a clientes de {uf} comprados em {year}? Mostre a categoria e a receita, da maior para a menor.",
        ("order_items", "orders", "customers", "products"),
        "SELECT p.product_category_name, ROUND(SUM(i.price), 2) AS receita\n"
        "FROM order_items i JOIN orders o ON o.order_id = i.order_id\n"
        "JOIN customers c ON c.customer_id = o.customer_id JOIN products p ON p.product_id = i.product_id\n"
        f"WHERE o.order_status = 'delivered' AND c.customer_state = {_lit(uf)} AND {_year_range(year)}\n"
        f"GROUP BY p.product_category_name ORDER BY receita DESC, p.product_category_name LIMIT {n};",
        ordered=True, params={"n": n, "uf": uf, "year": year},
    )


def delay_by_state(rng: random.Random, c: Context) -> Question:
    n, month = rng.choice((3, 5, 10)), rng.choice(c.months)
    return Question(
        "atraso_por_estado",
        f"Quais são os {n} estados (UF do cliente) com maior atraso médio de entrega, em dias, nos pedidos "
        f"entregues comprados em {_month_label(month)}, do maior para o menor atraso? Atraso = data de entrega "
        "ao cliente menos data estimada (negativo quando chegou antes).",
        ("orders", "customers"),
        f"SELECT c.customer_state, ROUND(AVG({DELAY}), 2) AS atraso_medio_dias\n"
        "FROM orders o JOIN customers c ON c.customer_id = o.customer_id\n"
        f"WHERE {DELIVERED} AND {_month_range(month)}\n"
        f"GROUP BY c.customer_state ORDER BY atraso_medio_dias DESC, c.customer_state LIMIT {n};",
        ordered=True, params={"n": n, "month": month},
    )


def late_low_scores(rng: random.Random, c: Context) -> Question:
    uf, year = rng.choice(c.states), rng.choice(c.years)
    low, low_txt = rng.choice(((2, "nota 1 ou 2"), (1, "nota 1")))
    return Question(
        "atrasados_nota_baixa",
        f"Entre os pedidos entregues com atraso (entrega depois da data estimada) a clientes de {uf} "
        f"comprados em {year}, qual a porcentagem de avaliações com {low_txt}?",
        ("orders", "customers", "order_reviews"),
        f"SELECT ROUND(100.0 * SUM(r.review_score <= {low}) / COUNT(*), 2) AS pct_nota_baixa\n"
        "FROM orders o JOIN customers c ON c.customer_id = o.customer_id\n"
        "JOIN order_reviews r ON r.order_id = o.order_id\n"
        f"WHERE {DELIVERED} AND o.order_delivered_customer_date > o.order_estimated_delivery_date\n"
        f"AND c.customer_state = {_lit(uf)} AND {_year_range(year)};",
        params={"uf": uf, "year": year, "low": low},
    )


def orders_by_status(rng: random.Random, c: Context) -> Question:
    month, uf = rng.choice(c.months), rng.choice(c.states)
    return Question(
        "pedidos_por_status",
        f"Quantos pedidos de clientes de {uf} houve em cada status (order_status) entre os comprados em "
        f"{_month_label(month)}?",
        ("orders", "customers"),
        "SELECT o.order_status, COUNT(*) AS pedidos\n"
        "FROM orders o JOIN customers c ON c.customer_id = o.customer_id\n"
        f"WHERE c.customer_state = {_lit(uf)} AND {_month_range(month)}\n"
        "GROUP BY o.order_status ORDER BY pedidos DESC, o.order_status;",
        params={"uf": uf, "month": month},
    )


def payment_by_type(rng: random.Random, c: Context) -> Question:
    uf, year = rng.choice(c.states), rng.choice(c.years)
    return Question(
        "pagamento_por_tipo",
        f"Qual o valor médio de pagamento (payment_value) e o número de pagamentos por tipo de pagamento "
        f"em pedidos de clientes de {uf} comprados em {year}?",
        ("order_payments", "orders", "customers"),
        "SELECT pay.payment_type, COUNT(*) AS pagamentos, ROUND(AVG(pay.payment_value), 2) AS valor_medio\n"
        "FROM order_payments pay JOIN orders o ON o.order_id = pay.order_id\n"
        "JOIN customers c ON c.customer_id = o.customer_id\n"
        f"WHERE c.customer_state = {_lit(uf)} AND {_year_range(year)}\n"
        "GROUP BY pay.payment_type ORDER BY pagamentos DESC, pay.payment_type;",
        params={"uf": uf, "year": year},
    )


def category_scores(rng: random.Random, c: Context) -> Question:
    n, uf = rng.choice((3, 5)), rng.choice(c.states)
    worst = rng.random() < 0.5
    k = rng.choice((c.min_reviews, 2 * c.min_reviews))
    word, order = ("menor", "ASC") if worst else ("maior", "DESC")
    return Question(
        "nota_por_categoria",
        f"Quais são as {n} categorias de produto com {word} nota média de avaliação entre clientes de {uf}, "
        f"considerando só categorias com pelo menos {k} avaliações, em ordem de nota ({'da menor para a maior' if worst else 'da maior para a menor'})? "
        "Use a categoria do primeiro item do pedido.",
        ("order_reviews", "orders", "customers", "order_items", "products"),
        "SELECT p.product_category_name, ROUND(AVG(r.review_score), 2) AS nota_media, COUNT(*) AS avaliacoes\n"
        "FROM order_reviews r JOIN orders o ON o.order_id = r.order_id\n"
        "JOIN customers c ON c.customer_id = o.customer_id\n"
        "JOIN order_items i ON i.order_id = o.order_id AND i.order_item_id = 1\n"
        "JOIN products p ON p.product_id = i.product_id\n"
        f"WHERE c.customer_state = {_lit(uf)}\n"
        f"GROUP BY p.product_category_name HAVING COUNT(*) >= {k}\n"
        f"ORDER BY nota_media {order}, p.product_category_name LIMIT {n};",
        ordered=True, params={"n": n, "uf": uf, "k": k, "worst": worst},
    )


def freight_by_region(rng: random.Random, c: Context) -> Question:
    region, year = rng.choice(REGIONS), rng.choice(c.years)
    # Every state of the region: a state with few customers still has orders to answer for.
    states = list(REGION_STATES[region])
    return Question(
        "frete_por_estado",
        f"Qual o frete médio por item (freight_value) e a relação frete/preço (em %) para clientes de cada "
        f"estado da região {region} em pedidos comprados em {year}?",
        ("order_items", "orders", "customers"),
        "SELECT c.customer_state, ROUND(AVG(i.freight_value), 2) AS frete_medio,\n"
        "       ROUND(100.0 * SUM(i.freight_value) / SUM(i.price), 2) AS frete_sobre_preco_pct\n"
        "FROM order_items i JOIN orders o ON o.order_id = i.order_id\n"
        "JOIN customers c ON c.customer_id = o.customer_id\n"
        f"WHERE c.customer_state IN {_in_list(states)} AND {_year_range(year)}\n"
        "GROUP BY c.customer_state ORDER BY frete_medio DESC, c.customer_state;",
        params={"region": region, "year": year},
    )


def top_sellers(rng: random.Random, c: Context) -> Question:
    n, uf, year = rng.choice((3, 5, 10)), rng.choice(c.seller_states), rng.choice(c.years)
    return Question(
        "vendedores_top",
        f"Quais são os {n} vendedores (seller_id) de {uf} com maior faturamento (soma de price) em pedidos "
        f"entregues comprados em {year}, do maior para o menor, e quantos itens cada um vendeu?",
        ("order_items", "orders", "sellers"),
        "SELECT s.seller_id, ROUND(SUM(i.price), 2) AS faturamento, COUNT(*) AS itens\n"
        "FROM order_items i JOIN orders o ON o.order_id = i.order_id JOIN sellers s ON s.seller_id = i.seller_id\n"
        f"WHERE o.order_status = 'delivered' AND s.seller_state = {_lit(uf)} AND {_year_range(year)}\n"
        f"GROUP BY s.seller_id ORDER BY faturamento DESC, s.seller_id LIMIT {n};",
        ordered=True, params={"n": n, "uf": uf, "year": year},
    )


def installments_by_month(rng: random.Random, c: Context) -> Question:
    year, uf = rng.choice(c.years), rng.choice(c.states)
    return Question(
        "parcelas_por_mes",
        f"Qual foi a média de parcelas (payment_installments) dos pagamentos com cartão de crédito em cada mês "
        f"de {year}, em pedidos de clientes de {uf}?",
        ("order_payments", "orders", "customers"),
        "SELECT strftime('%m', o.order_purchase_timestamp) AS mes, ROUND(AVG(pay.payment_installments), 2) AS parcelas_media\n"
        "FROM order_payments pay JOIN orders o ON o.order_id = pay.order_id\n"
        "JOIN customers c ON c.customer_id = o.customer_id\n"
        f"WHERE pay.payment_type = 'credit_card' AND c.customer_state = {_lit(uf)} AND {_year_range(year)}\n"
        "GROUP BY mes ORDER BY mes;",
        params={"uf": uf, "year": year},
    )


def repeat_customers(rng: random.Random, c: Context) -> Question:
    uf = rng.choice(c.states)
    if rng.random() < 0.5:
        return Question(
            "clientes_recorrentes",
            f"Quantos clientes únicos (customer_unique_id) de {uf} fizeram mais de um pedido, e quantos "
            "clientes únicos o estado tem no total?",
            ("customers", "orders"),
            "SELECT SUM(n > 1) AS recorrentes, COUNT(*) AS clientes\n"
            "FROM (SELECT c.customer_unique_id, COUNT(DISTINCT o.order_id) AS n\n"
            "      FROM customers c JOIN orders o ON o.customer_id = c.customer_id\n"
            f"      WHERE c.customer_state = {_lit(uf)} GROUP BY c.customer_unique_id);",
            params={"uf": uf},
        )
    return Question(
        "taxa_recompra",
        f"Qual a porcentagem de clientes únicos (customer_unique_id) de {uf} que compraram mais de uma vez?",
        ("customers", "orders"),
        "SELECT ROUND(100.0 * SUM(n > 1) / COUNT(*), 2) AS pct_recompra\n"
        "FROM (SELECT c.customer_unique_id, COUNT(DISTINCT o.order_id) AS n\n"
        "      FROM customers c JOIN orders o ON o.customer_id = c.customer_id\n"
        f"      WHERE c.customer_state = {_lit(uf)} GROUP BY c.customer_unique_id);",
        params={"uf": uf},
    )


def delivery_time_category(rng: random.Random, c: Context) -> Question:
    cat = rng.choice(c.categories)
    return Question(
        "tempo_entrega_categoria",
        f"Qual o tempo médio de entrega, em dias (da compra até a entrega ao cliente), dos pedidos entregues "
        f"com algum item da categoria {cat}, ano a ano?",
        ("orders", "order_items", "products"),
        # Any item of the category, each order once (not only the order's first item).
        "SELECT strftime('%Y', o.order_purchase_timestamp) AS ano,\n"
        "       ROUND(AVG(julianday(o.order_delivered_customer_date) - julianday(o.order_purchase_timestamp)), 2) AS dias_medios\n"
        "FROM orders o\n"
        f"WHERE {DELIVERED} AND o.order_id IN (SELECT i.order_id FROM order_items i\n"
        f"  JOIN products p ON p.product_id = i.product_id WHERE p.product_category_name = {_lit(cat)})\n"
        "GROUP BY ano ORDER BY ano;",
        params={"category": cat},
    )


def monthly_revenue(rng: random.Random, c: Context) -> Question:
    uf, year = rng.choice(c.states), rng.choice(c.years)
    return Question(
        "receita_mensal",
        f"Qual foi a receita mensal (soma de price + freight_value dos itens) dos pedidos de clientes de {uf} "
        f"comprados em {year}, mês a mês, sem contar pedidos cancelados ou indisponíveis?",
        ("order_items", "orders", "customers"),
        "SELECT strftime('%m', o.order_purchase_timestamp) AS mes, ROUND(SUM(i.price + i.freight_value), 2) AS receita\n"
        "FROM order_items i JOIN orders o ON o.order_id = i.order_id\n"
        "JOIN customers c ON c.customer_id = o.customer_id\n"
        f"WHERE o.order_status NOT IN ('canceled', 'unavailable') AND c.customer_state = {_lit(uf)} AND {_year_range(year)}\n"
        "GROUP BY mes ORDER BY mes;",
        params={"uf": uf, "year": year},
    )


def top_cities(rng: random.Random, c: Context) -> Question:
    n, uf, year = rng.choice((3, 5, 10)), rng.choice(c.states), rng.choice(c.years)
    return Question(
        "cidades_top",
        f"Quais são as {n} cidades de {uf} com mais pedidos comprados em {year}, da que tem mais para a que tem "
        "menos, e qual o ticket médio (soma de payment_value dividida pelo número de pedidos) em cada uma?",
        ("orders", "customers", "order_payments"),
        "SELECT c.customer_city, COUNT(DISTINCT o.order_id) AS pedidos,\n"
        "       ROUND(SUM(pay.payment_value) / COUNT(DISTINCT o.order_id), 2) AS ticket_medio\n"
        "FROM orders o JOIN customers c ON c.customer_id = o.customer_id\n"
        "JOIN order_payments pay ON pay.order_id = o.order_id\n"
        f"WHERE c.customer_state = {_lit(uf)} AND {_year_range(year)}\n"
        f"GROUP BY c.customer_city ORDER BY pedidos DESC, c.customer_city LIMIT {n};",
        ordered=True, params={"n": n, "uf": uf, "year": year},
    )


def cancellations(rng: random.Random, c: Context) -> Question:
    n, year = rng.choice((3, 5)), rng.choice(c.years)
    return Question(
        "cancelamentos_por_categoria",
        f"Quais são as {n} categorias de produto com mais pedidos cancelados (order_status = 'canceled') "
        f"entre os comprados em {year}, da que tem mais para a que tem menos?",
        ("orders", "order_items", "products"),
        "SELECT p.product_category_name, COUNT(DISTINCT o.order_id) AS cancelados\n"
        "FROM orders o JOIN order_items i ON i.order_id = o.order_id JOIN products p ON p.product_id = i.product_id\n"
        f"WHERE o.order_status = 'canceled' AND {_year_range(year)}\n"
        f"GROUP BY p.product_category_name ORDER BY cancelados DESC, p.product_category_name LIMIT {n};",
        ordered=True, params={"n": n, "year": year},
    )


TEMPLATES: tuple[Callable[[random.Random, Context], Question], ...] = (
    top_categories_revenue, delay_by_state, late_low_scores, orders_by_status, payment_by_type,
    category_scores, freight_by_region, top_sellers, installments_by_month, repeat_customers,
    delivery_time_category, monthly_revenue, top_cities, cancellations,
)
