"""push prompts: a campaign brief -> a push notification of at most 120 characters.

A brief names the occasion, the audience (a state's customers, often narrowed by what
they bought and when), the product and the offer, with the state's own ticket and best
selling category taken from the database, so briefs read like a CRM team's. The brief's
fields go into the row (`brief`): the push reward checks the notification against them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from data.catalog import CATEGORY_BY_NAME, STATE_BY_CODE
from data.facts import Facts
from data.prompts import PUSH_MAX_CHARS, make_row, normalise

SYSTEM = (
    "Você é redator de CRM de um e-commerce brasileiro. Escreva notificações push curtas, criativas e "
    "em tom próximo, em português do Brasil. Responda apenas com o texto da notificação."
)
OCCASIONS: dict[str, str] = {
    "black_friday": "Black Friday",
    "dia_das_maes": "Dia das Mães",
    "dia_dos_pais": "Dia dos Pais",
    "natal": "Natal",
    "frete_gratis": "semana de frete grátis",
    "carrinho_abandonado": "lembrete de carrinho abandonado",
    "reengajamento": "reengajamento de clientes inativos",
    "lancamento": "lançamento de coleção",
    "avaliacao": "pedido de avaliação após a entrega",
    "volta_as_aulas": "volta às aulas",
    "aniversario_loja": "aniversário da loja",
}
AUDIENCES = (
    "clientes de {uf} que compraram {categoria} nos últimos 6 meses",
    "clientes de {cidade} ({uf}) que nunca compraram {categoria}",
    "clientes de {uf} sem comprar há mais de 180 dias",
    "clientes de {uf} que deixaram {produto} no carrinho",
    "clientes de {cidade} que compraram mais de uma vez",
    "todos os clientes de {uf}",
)
OFFERS = ("{d}% de desconto", "frete grátis acima de R$ {v}", "cupom {cupom} com {d}% off",
          "parcelamento em até {p}x sem juros", "{d}% off na segunda unidade", "brinde nas compras acima de R$ {v}")
TONES = ("divertido", "urgente", "acolhedor", "direto", "empolgado")
# Coupons and offers that fit the occasion (a Christmas coupon in a Black Friday brief
# would teach the model to ignore the brief).
COUPONS: dict[str, tuple[str, ...]] = {
    "black_friday": ("BLACK30", "BLACKFRIDAY", "SEXTOU"), "dia_das_maes": ("MAE15", "MAEZONA"),
    "dia_dos_pais": ("PAI15", "PAIZAO"), "natal": ("NATAL20", "NOEL10"),
    "reengajamento": ("VOLTA10", "SAUDADE", "VOLTEI"), "volta_as_aulas": ("AULAS10", "ESTUDO15"),
    "aniversario_loja": ("NIVER20", "PARABENS"),
}
GENERIC_COUPONS = ("QUEROMAIS", "BEMVINDO", "APROVEITA")
OCCASION_OFFERS: dict[str, tuple[str, ...]] = {
    "frete_gratis": ("frete grátis para todo o estado", "frete grátis acima de R$ {v}"),
    "avaliacao": ("cupom {cupom} de {d}% na próxima compra para quem avaliar", "sem oferta: só o pedido de avaliação"),
}


def _city_label(name: str) -> str:
    """Olist's "sao bernardo do campo" as people write it in a brief: "Sao Bernardo do Campo"."""
    small = {"de", "do", "da", "dos", "das", "e"}
    return " ".join(w if w in small else w[:1].upper() + w[1:] for w in name.split())


def brief(rng: random.Random, facts: Facts, topic: str, uf: str) -> dict[str, str]:
    """A campaign brief for an occasion and a state: the fields the push reward checks."""
    scope = facts.scopes[("estado", uf)]
    cats = [c for c, _ in scope.categories.most_common(6)] or ["cama_mesa_banho"]
    cat_name = rng.choice(cats)
    cat = CATEGORY_BY_NAME.get(cat_name)
    label = cat.label if cat else cat_name.replace("_", " ")
    product = rng.choice(cat.nouns).split(" ", 1)[1] if cat else label
    state = STATE_BY_CODE.get(uf)
    city = _city_label(rng.choice(state.cities)[0]) if state else uf
    ticket = scope.revenue / max(1, scope.orders)
    audience = rng.choice(AUDIENCES).format(uf=uf, cidade=city, categoria=label, produto=product)
    offer = rng.choice(OCCASION_OFFERS.get(topic, OFFERS)).format(
        d=rng.choice((10, 15, 20, 25, 30, 40)), p=rng.choice((3, 6, 10)), v=int(round(ticket, -1)) or 99,
        cupom=rng.choice(COUPONS.get(topic, GENERIC_COUPONS)))
    ticket_txt = f"{ticket:.2f}".replace(".", ",")
    return {"occasion": topic, "occasion_label": OCCASIONS[topic], "audience": audience, "product": product,
            "category": label, "offer": offer, "ticket": f"R$ {ticket_txt}", "tone": rng.choice(TONES)}


def user_message(b: dict[str, str]) -> str:
    return (
        f"Briefing da campanha\n- Ocasião: {b['occasion_label']}\n- Público: {b['audience']}\n"
        f"- Produto em destaque: {b['product']} ({b['category']})\n- Oferta: {b['offer']}\n"
        f"- Ticket médio do público: {b['ticket']}\n- Tom: {b['tone']}\n\n"
        f"Escreva uma notificação push de no máximo {PUSH_MAX_CHARS} caracteres para essa campanha."
    )


def stream(facts: Facts, rng: random.Random, seen: set[str]) -> Iterator[dict]:
    states = [s.key for s in facts.of("estado")]
    if not states:
        raise ValueError("the commerce database has too few orders per state to build push briefs")
    misses = 0
    while misses < 200:
        for topic in OCCASIONS:
            fields = brief(rng, facts, topic, rng.choice(states))
            user = user_message(fields)
            key = normalise(user)
            if key in seen:
                misses += 1
                continue
            misses = 0
            seen.add(key)
            yield make_row("push", SYSTEM, user, topic=topic, key=key, brief=fields)
