"""Figures about the business, by scope (Brazil, a region, a state, a category), computed
in one pass over the orders: what insights prompts summarise and push briefs quote.

One SQL query flattens each order (state, person, status, dates, first item's category,
item totals, review score, first payment); Python then accumulates every scope at once.
Reading 100k orders this way takes about a second, where one query per scope and figure
would take tens.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from data.catalog import CATEGORY_BY_NAME, STATE_BY_CODE

ORDERS_SQL = """
SELECT c.customer_state, c.customer_unique_id, o.order_status, substr(o.order_purchase_timestamp, 1, 10),
       julianday(o.order_delivered_customer_date) - julianday(o.order_estimated_delivery_date),
       julianday(o.order_delivered_customer_date) - julianday(o.order_purchase_timestamp),
       p.product_category_name, it.price, it.freight, r.score, pay.payment_type, pay.payment_installments
FROM orders o
JOIN customers c ON c.customer_id = o.customer_id
LEFT JOIN order_items i1 ON i1.order_id = o.order_id AND i1.order_item_id = 1
LEFT JOIN products p ON p.product_id = i1.product_id
LEFT JOIN (SELECT order_id, SUM(price) AS price, SUM(freight_value) AS freight FROM order_items GROUP BY order_id) it
       ON it.order_id = o.order_id
LEFT JOIN (SELECT order_id, MIN(review_score) AS score FROM order_reviews GROUP BY order_id) r ON r.order_id = o.order_id
LEFT JOIN order_payments pay ON pay.order_id = o.order_id AND pay.payment_sequential = 1
ORDER BY o.order_id
"""


@dataclass
class Scope:
    """Running totals for one slice of the business."""

    kind: str  # "brasil" | "regiao" | "estado" | "categoria"
    key: str
    orders: int = 0
    canceled: int = 0
    revenue: float = 0.0
    freight: float = 0.0
    delivered: int = 0
    late: int = 0
    late_days: float = 0.0
    delivery_days: float = 0.0
    scores: Counter = field(default_factory=Counter)
    scores_late: Counter = field(default_factory=Counter)
    scores_on_time: Counter = field(default_factory=Counter)
    payments: Counter = field(default_factory=Counter)
    installments: int = 0
    card_payments: int = 0
    months: Counter = field(default_factory=Counter)
    categories: Counter = field(default_factory=Counter)  # revenue by category
    states: Counter = field(default_factory=Counter)  # orders by state
    people: dict = field(default_factory=dict)  # customer_unique_id -> [orders, last purchase date]

    @property
    def name(self) -> str:
        """How the scope reads in a sentence: "em SP", "na categoria pet shop"."""
        if self.kind == "brasil":
            return "no Brasil"
        if self.kind == "regiao":
            return f"na região {self.key}"
        if self.kind == "estado":
            return f"em {STATE_BY_CODE[self.key].name} ({self.key})" if self.key in STATE_BY_CODE else f"em {self.key}"
        cat = CATEGORY_BY_NAME.get(self.key)
        return f"na categoria {cat.label if cat else self.key.replace('_', ' ')}"


@dataclass
class Facts:
    scopes: dict[tuple[str, str], Scope]
    first_day: str
    last_day: str

    def of(self, kind: str) -> list[Scope]:
        return [s for (k, _), s in sorted(self.scopes.items()) if k == kind]


def _mean(counter: Counter) -> float | None:
    n = sum(counter.values())
    return sum(k * v for k, v in counter.items()) / n if n else None


def compute(conn: sqlite3.Connection, *, min_orders: int = 30) -> Facts:
    """Accumulate every scope; scopes with fewer than `min_orders` orders are dropped."""
    scopes: dict[tuple[str, str], Scope] = {}

    def get(kind: str, key: str) -> Scope:
        s = scopes.get((kind, key))
        if s is None:
            s = scopes[(kind, key)] = Scope(kind, key)
        return s

    first = last = None
    for state, person, status, day, delay, days, cat, price, freight, score, ptype, inst in conn.execute(ORDERS_SQL):
        first = day if first is None or day < first else first
        last = day if last is None or day > last else last
        region = STATE_BY_CODE[state].region if state in STATE_BY_CODE else None
        targets = [get("brasil", "Brasil"), get("estado", state)]
        if region:
            targets.append(get("regiao", region))
        if cat:
            targets.append(get("categoria", cat))
        for s in targets:
            s.orders += 1
            s.months[day[:7]] += 1
            s.states[state] += 1
            p = s.people.get(person)
            if p is None:
                s.people[person] = [1, day]
            else:
                p[0] += 1
                p[1] = max(p[1], day)
            if status == "canceled":
                s.canceled += 1
            if price is not None:
                s.revenue += price
                s.freight += freight
                if cat:
                    s.categories[cat] += price
            if delay is not None and days is not None:
                s.delivered += 1
                s.delivery_days += days
                if delay > 0:
                    s.late += 1
                    s.late_days += delay
            if score is not None:
                s.scores[score] += 1
                if delay is not None:
                    (s.scores_late if delay > 0 else s.scores_on_time)[score] += 1
            if ptype:
                s.payments[ptype] += 1
                if ptype == "credit_card":
                    s.card_payments += 1
                    s.installments += inst or 0
    if first is None:
        raise ValueError("the commerce database has no orders")
    kept = {k: s for k, s in scopes.items() if s.orders >= min_orders or k[0] == "brasil"}
    return Facts(kept, first, last)


def inactive_share(scope: Scope, last_day: str, days: int = 180) -> float:
    """Share of people whose last purchase is more than `days` before the data ends."""
    end = date.fromisoformat(last_day)
    old = sum(1 for _, d in scope.people.values() if (end - date.fromisoformat(d)).days > days)
    return old / max(1, len(scope.people))


def summary_lines(scope: Scope, facts: Facts, topic: str) -> list[str]:
    """The data summary for one scope, with the figures the topic needs."""
    brl = lambda v: f"R$ {v:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")  # noqa: E731
    pct = lambda a, b: f"{100 * a / b:.1f}%".replace(".", ",") if b else "n/d"  # noqa: E731
    num = lambda v: f"{v:.1f}".replace(".", ",") if v is not None else "n/d"  # noqa: E731
    people = len(scope.people)
    repeat = sum(1 for n, _ in scope.people.values() if n > 1)
    lines = [f"Pedidos: {scope.orders:,}".replace(",", ".") + f"; receita de produtos: {brl(scope.revenue)}; "
             f"ticket médio: {brl(scope.revenue / max(1, scope.orders))}"]
    if topic in ("reengajamento", "retencao"):
        lines += [
            f"Clientes únicos: {people:,}".replace(",", ".") + f"; compraram mais de uma vez: {pct(repeat, people)}",
            f"Clientes sem comprar há mais de 180 dias (até {facts.last_day}): {pct(inactive_share(scope, facts.last_day) * people, people)}",
            f"Pedidos por cliente: {num(scope.orders / max(1, people))}; nota média das avaliações: {num(_mean(scope.scores))}",
        ]
    if topic in ("logistica", "satisfacao", "frete"):
        lines += [
            f"Pedidos entregues com atraso: {pct(scope.late, scope.delivered)}; atraso médio dos atrasados: "
            f"{num(scope.late_days / scope.late if scope.late else None)} dias",
            f"Prazo médio da compra à entrega: {num(scope.delivery_days / max(1, scope.delivered))} dias",
            f"Nota média no prazo: {num(_mean(scope.scores_on_time))}; com atraso: {num(_mean(scope.scores_late))}",
        ]
    if topic in ("satisfacao",):
        low = scope.scores[1] + scope.scores[2]
        lines.append(f"Avaliações com nota 1 ou 2: {pct(low, sum(scope.scores.values()))}; "
                     f"cancelamentos: {pct(scope.canceled, scope.orders)}")
    if topic in ("frete",):
        lines.append(f"Frete médio por pedido: {brl(scope.freight / max(1, scope.orders))}; "
                     f"frete sobre o valor dos produtos: {pct(scope.freight, scope.revenue)}")
    if topic == "pagamentos":
        total = sum(scope.payments.values())
        mix = ", ".join(f"{t} {pct(n, total)}" for t, n in scope.payments.most_common())
        lines += [f"Meio de pagamento: {mix}",
                  f"Parcelas médias no cartão: {num(scope.installments / max(1, scope.card_payments))}"]
    if topic == "sazonalidade":
        recent = sorted(scope.months.items())[-8:]
        peak = max(scope.months.items(), key=lambda kv: (kv[1], kv[0]))
        lines += ["Pedidos por mês: " + ", ".join(f"{m} {n}" for m, n in recent),
                  f"Mês com mais pedidos: {peak[0]} ({peak[1]} pedidos)"]
    if topic in ("categorias", "retencao", "sazonalidade"):
        if scope.kind == "categoria":
            top = ", ".join(f"{s} {pct(n, scope.orders)}" for s, n in scope.states.most_common(5))
            lines.append(f"Estados com mais pedidos: {top}")
        else:
            top = ", ".join(f"{c.replace('_', ' ')} {pct(v, scope.revenue)}" for c, v in scope.categories.most_common(5))
            lines.append(f"Categorias com maior receita: {top}")
    return lines
