"""A synthetic stand-in for the Olist dataset, deterministic for a seed.

The shape follows the real data: about 100k orders between September 2016 and August
2018 growing month by month with a Black Friday spike; customers concentrated in the
South-East; sellers in Sao Paulo; one customer_id per order and a few percent of people
buying again; 97% delivered, the rest shipped, cancelled or unavailable; delivery times
that grow with the distance between seller and customer, an estimate most orders beat,
and late orders whose reviews lean to one or two stars. About four reviews in ten carry
a comment (review_text composes them), the rest only a score, as in the real data. The
generator knows what each comment says (the themes it was composed from): those are the
review's gold labels, returned beside the data.

One `random.Random` seeded from a string drives everything in a fixed order, so the same
seed gives the same rows (and, written the same way, the same database bytes).
"""

from __future__ import annotations

import math
import random
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from data import review_text
from data.catalog import CATEGORIES, SELLER_STATE_WEIGHTS, STATE_BY_CODE, STATES, State
from data.loader import insert_rows


@dataclass(frozen=True)
class Size:
    orders: int
    products: int
    sellers: int


SIZES: dict[str, Size] = {
    "default": Size(orders=100_000, products=32_000, sellers=3_000),
    "small": Size(orders=3_000, products=1_200, sellers=120),
}

EPOCH = date(2016, 1, 1)
_DAYS = [(EPOCH + timedelta(days=i)).isoformat() for i in range(1200)]
DAY = 86_400

# Orders per month, 2016-09 .. 2018-08 (the real curve, rounded): growth, Black Friday.
MONTHLY = (
    (2016, 9, 4), (2016, 10, 320), (2016, 11, 0), (2016, 12, 1), (2017, 1, 800), (2017, 2, 1780),
    (2017, 3, 2680), (2017, 4, 2400), (2017, 5, 3700), (2017, 6, 3250), (2017, 7, 4030),
    (2017, 8, 4330), (2017, 9, 4290), (2017, 10, 4630), (2017, 11, 7540), (2017, 12, 5670),
    (2018, 1, 7270), (2018, 2, 6730), (2018, 3, 7210), (2018, 4, 6940), (2018, 5, 6870),
    (2018, 6, 6170), (2018, 7, 6290), (2018, 8, 6510),
)
# Months when carriers struggled (holiday peak, early-2018 backlog): slower deliveries.
SLOW_MONTHS = {(2017, 11): 1.35, (2017, 12): 1.3, (2018, 2): 1.35, (2018, 3): 1.4}
STATUSES = (("delivered", 97.0), ("shipped", 1.1), ("canceled", 0.63), ("unavailable", 0.61),
            ("invoiced", 0.32), ("processing", 0.3), ("created", 0.01), ("approved", 0.01))
PAYMENTS = (("credit_card", 74.0), ("boleto", 19.0), ("voucher", 5.5), ("debit_card", 1.5))
HOURS = (2, 1, 1, 1, 1, 1, 2, 3, 5, 6, 7, 7, 6, 6, 7, 7, 7, 6, 6, 6, 7, 7, 6, 4)
# Review score weights (1..5) by what happened to the order.
SCORES_ON_TIME = (5.5, 2.6, 7.5, 21.0, 63.4)
SCORES_LATE = (44.0, 12.0, 15.0, 13.0, 16.0)
SCORES_UNDELIVERED = (72.0, 8.0, 8.0, 4.0, 8.0)
COMMENT_P = {1: 0.75, 2: 0.68, 3: 0.5, 4: 0.3, 5: 0.32}


def _cum(weights):
    return list(accumulate(weights))


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _ts(sec: int) -> str:
    day, rest = divmod(sec, DAY)
    return f"{_DAYS[day]} {rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"


def _km(a: State, b: State) -> float:
    """Great-circle distance between two state capitals; 40 km within a state."""
    if a is b:
        return 40.0
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dl = math.radians(b.lng - a.lng)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0 * math.acos(max(-1.0, min(1.0, c)))


class _Places:
    """Picks a state, a city in it and a zip prefix inside the city's slice of the range."""

    def __init__(self, rng: random.Random, state_weights: dict[str, float]):
        self.rng = rng
        self.states = [STATE_BY_CODE[c] for c in state_weights]
        self.cum = _cum(state_weights.values())
        self.city_cum = {s.code: _cum(w for _, w in s.cities) for s in STATES}

    def pick(self) -> tuple[State, str, str]:
        rng = self.rng
        st = rng.choices(self.states, cum_weights=self.cum)[0]
        idx = rng.choices(range(len(st.cities)), cum_weights=self.city_cum[st.code])[0]
        width = max(1, st.zip_span // len(st.cities))
        zip_prefix = st.zip_start + idx * width + rng.randrange(width)
        return st, st.cities[idx][0], f"{zip_prefix:05d}"


def generate(conn: sqlite3.Connection, *, seed: int | str = 42, size: str = "default") -> dict:
    """Fill an empty commerce schema on `conn`; return row counts, comment diversity and
    `review_labels`: (review_id, order_id) -> the gold labels of each comment it composed
    (review_text.gold_labels), which extraction prompts carry for the reward."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; valid: {', '.join(SIZES)}")
    spec = SIZES[size]
    rng = random.Random(f"tucano-audit synthetic olist {seed}")
    rows: dict[str, list[tuple]] = {t: [] for t in (
        "product_category_name_translation", "products", "customers", "sellers", "orders",
        "order_items", "order_payments", "order_reviews", "geolocation")}
    geo: dict[str, tuple] = {}

    rows["product_category_name_translation"] = [(c.name, c.english) for c in CATEGORIES]

    # Sellers.
    seller_places = _Places(rng, SELLER_STATE_WEIGHTS)
    sellers = []
    for _ in range(spec.sellers):
        st, city, zp = seller_places.pick()
        sid = _hex(rng)
        sellers.append((sid, st))
        rows["sellers"].append((sid, zp, city, st.code))
        geo.setdefault(zp, (st, city))
    # A few sellers carry most of the sales.
    seller_cum = _cum(1.0 / (i + 1) ** 0.9 for i in range(len(sellers)))

    # Products: each has a category, a price around the category's median and one seller.
    cat_cum = _cum(c.weight for c in CATEGORIES)
    by_cat: dict[str, list[tuple]] = {c.name: [] for c in CATEGORIES}
    for _ in range(spec.products):
        cat = rng.choices(CATEGORIES, cum_weights=cat_cum)[0]
        pid = _hex(rng)
        price = round(max(4.9, cat.price * math.exp(rng.gauss(0, 0.65))), 2)
        weight = int(max(50, 600 * math.exp(rng.gauss(0, 1.1))))
        seller = sellers[rng.choices(range(len(sellers)), cum_weights=seller_cum)[0]]
        by_cat[cat.name].append((pid, price, weight, seller, cat))
        rows["products"].append((
            pid, cat.name, rng.randint(20, 76), int(min(3990, 80 + 700 * math.exp(rng.gauss(0, 0.8)))),
            rng.choices((1, 2, 3, 4, 5, 6), (50, 20, 13, 8, 5, 4))[0], weight,
            rng.randint(16, 70), rng.randint(2, 60), rng.randint(8, 60)))
    cats_with_products = [c for c in CATEGORIES if by_cat[c.name]]
    live_cum = _cum(c.weight for c in cats_with_products)

    # Orders, their customers, items, payments and reviews, month by month.
    total_w = sum(n for *_, n in MONTHLY)
    customer_places = _Places(rng, {s.code: s.weight for s in STATES})
    status_names, status_cum = [s for s, _ in STATUSES], _cum(w for _, w in STATUSES)
    pay_names, pay_cum = [p for p, _ in PAYMENTS], _cum(w for _, w in PAYMENTS)
    hour_cum = _cum(HOURS)
    people: list[tuple] = []  # (customer_unique_id, zip, city, state) for repeat buyers
    comments: list[str] = []
    labels: dict[tuple[str, str], dict] = {}  # (review_id, order_id) -> the comment's gold labels
    for year, month, weight in MONTHLY:
        n_month = round(spec.orders * weight / total_w)
        first = (date(year, month, 1) - EPOCH).days
        ndays = ((date(year + month // 12, month % 12 + 1, 1)) - date(year, month, 1)).days
        slow = SLOW_MONTHS.get((year, month), 1.0)
        for _ in range(n_month):
            day = first + (23 if (year, month) == (2017, 11) and rng.random() < 0.15 else rng.randrange(ndays))
            bought = day * DAY + rng.choices(range(24), cum_weights=hour_cum)[0] * 3600 + rng.randrange(3600)
            if people and rng.random() < 0.06:
                uid, zp, city, st = rng.choice(people)
            else:
                st, city, zp = customer_places.pick()
                uid = _hex(rng)
                people.append((uid, zp, city, st))
            geo.setdefault(zp, (st, city))
            cid, oid = _hex(rng), _hex(rng)
            rows["customers"].append((cid, uid, zp, city, st.code))
            status = rng.choices(status_names, cum_weights=status_cum)[0]

            # Items: usually one, sometimes the same product twice, rarely several.
            n_items = 0 if status == "unavailable" else rng.choices((1, 2, 3, 4, 6), (90, 7.5, 1.5, 0.7, 0.3))[0]
            cat = rng.choices(cats_with_products, cum_weights=live_cum)[0]
            products = by_cat[cat.name]
            product = products[int(len(products) * rng.random() ** 2.2)]
            seller_state = product[3][1]
            km = _km(seller_state, st)
            pay = rng.choices(pay_names, cum_weights=pay_cum)[0]
            approved = bought + (rng.randrange(600, 3 * DAY) if pay == "boleto" else rng.randrange(60, 6 * 3600))
            total = 0.0
            for k in range(n_items):
                if k and rng.random() < 0.5:
                    cat = rng.choices(cats_with_products, cum_weights=live_cum)[0]
                    product = by_cat[cat.name][int(len(by_cat[cat.name]) * rng.random() ** 2.2)]
                pid, price, weight_g, seller, _ = product
                freight = round(max(0.0, (9 + km / 110 + weight_g / 500) * math.exp(rng.gauss(0, 0.3))), 2)
                total += price + freight
                rows["order_items"].append((oid, k + 1, pid, seller[0], _ts(approved + 6 * DAY), price, freight))

            # Dates: the estimate is generous; distance, busy months and bad luck make orders late.
            mean_days = (4.5 + 9 * (km / 1000) ** 0.7) * slow
            estimate_day = bought // DAY + round(6 + 10 * (km / 1000) ** 0.7 + 10 + rng.uniform(0, 8))
            carrier = delivered = None
            if status in ("shipped", "delivered"):
                carrier = approved + rng.randrange(DAY // 2, 4 * DAY)
            if status == "delivered":
                transit = mean_days * math.exp(rng.gauss(0, 0.42))
                if rng.random() < 0.03:  # a lost parcel found, a strike, a wrong address
                    transit += rng.uniform(10, 35)
                delivered = max(carrier + 3600, bought + int(transit * DAY) + rng.randrange(8 * 3600, 18 * 3600))
            rows["orders"].append((
                oid, cid, status, _ts(bought),
                None if status in ("created", "canceled") and rng.random() < 0.6 else _ts(approved),
                _ts(carrier) if carrier else None, _ts(delivered) if delivered else None,
                _ts(estimate_day * DAY)))

            # Payments add up to the order total; vouchers often cover only part of it.
            total = round(total, 2) if n_items else round(rng.uniform(20, 300), 2)
            parts = [(pay, total)]
            if pay == "voucher" and rng.random() < 0.35:
                v = round(total * rng.uniform(0.1, 0.6), 2)
                parts = [("voucher", v), ("credit_card", round(total - v, 2))]
            for seq, (ptype, value) in enumerate(parts, 1):
                inst = 1
                if ptype == "credit_card":
                    inst = rng.choices((1, 2, 3, 4, 5, 6, 8, 10), (50, 12, 10, 8, 6, 5, 4, 5))[0]
                rows["order_payments"].append((oid, seq, ptype, inst, value))

            # The review: scores follow what happened; comments agree with the score.
            if rng.random() < 0.008:
                continue
            if delivered:
                days_late = delivered // DAY - estimate_day
                weights = SCORES_LATE if days_late > 0 else SCORES_ON_TIME
                created = delivered // DAY + rng.choice((0, 1, 1))
            else:
                days_late = 0
                weights = SCORES_UNDELIVERED
                created = estimate_day + rng.randint(1, 10)
            score = rng.choices((1, 2, 3, 4, 5), weights)[0]
            message = title = None
            if rng.random() < COMMENT_P[score]:
                noun = rng.choice(cat.nouns)
                message, themes = review_text.compose(rng, review_text.OrderFacts(score, status, days_late, noun))
                comments.append(message)
            if rng.random() < 0.12:
                title = review_text.title(rng, score)
            answered = created * DAY + rng.randrange(3 * 3600, 5 * DAY)
            review_id = _hex(rng)
            if message:
                labels[(review_id, oid)] = review_text.gold_labels(themes, score)
            rows["order_reviews"].append((review_id, oid, score, title, message, _ts(created * DAY), _ts(answered)))

    # One point per zip prefix, scattered around the state's capital.
    for zp in sorted(geo):
        st, city = geo[zp]
        rows["geolocation"].append((zp, round(st.lat + rng.gauss(0, 0.4), 6), round(st.lng + rng.gauss(0, 0.4), 6),
                                    city, st.code))

    for table, table_rows in rows.items():
        insert_rows(conn, table, table_rows)
    stats = {t: len(r) for t, r in rows.items()}
    stats["comment_diversity"] = review_text.duplicate_share(comments)
    stats["review_labels"] = labels
    return stats
