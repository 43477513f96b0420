"""Good answers written from what a prompt row knows: the extraction JSON of its gold labels,
the reference query with a Portuguese explanation of its result, a push faithful to its
brief, an analysis of its data summary with recommendations.

`answer(row, variant=0)` reads the row's reward meta (the same keys the rewards read:
`rating`, `gold`, `review`, `reference_sql`, `reference_answer`, `question`, `brief`,
`data_summary`, `request`) and returns None when the row lacks what the answer needs (an
imported review without gold labels). `variant` picks among phrasings, so a set of good
answers is not one sentence repeated.

They are what the exploit bench compares every exploit family with (data.gold exposes
them to the rest of the project), and the base some families start from (a good answer
cut short, or with its figures changed).
"""

from __future__ import annotations

import json
import re
from typing import Any

from rewards import figures
from rewards.lexicon import words

_OPEN_LIST = re.compile(r"^[\s-]+")


def br_number(value: float) -> str:
    """A number as a Brazilian reader writes it: 1.234,56 (two decimals unless whole)."""
    if float(value) == int(value) and abs(value) < 1e12:
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")


def _gist(review: str, limit: int = 140) -> str:
    """The review's opening words, cut at a word boundary within `limit` characters."""
    text = " ".join(review.split()).strip(" .!?,")
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,.;")


def extraction(row: dict, variant: int = 0) -> str | None:
    gold, rating, review = row.get("gold"), row.get("rating"), row.get("review")
    if not isinstance(gold, dict) or not isinstance(review, str):
        return None
    sentiment = gold.get("sentiment") or ("negativo" if (rating or 3) <= 2 else "neutro" if rating == 3 else "positivo")
    recommend = gold.get("would_recommend")
    topics = gold.get("main_topic") or ["outro"]
    clause = _gist(review)
    lead = ("Cliente relata: ", "Resumo: ", "O cliente diz que ")[variant % 3]
    obj = {
        "sentiment": sentiment,
        "sentiment_score": int(rating) if rating else {"negativo": 2, "neutro": 3, "positivo": 4}[sentiment],
        "delivery_issue": bool(gold.get("delivery_issue")),
        "product_quality_issue": bool(gold.get("product_quality_issue")),
        "customer_service_issue": bool(gold.get("customer_service_issue")),
        "would_recommend": recommend if recommend is not None else sentiment == "positivo",
        "main_topic": topics[0] if isinstance(topics, list) else topics,
        "summary": (lead + clause[:1].lower() + clause[1:] + ".")[:200],
        "confidence": (0.9, 0.85, 0.8)[variant % 3],
        "product_mentioned": None,
    }
    text = json.dumps(obj, ensure_ascii=False, indent=2 if variant % 2 else None)
    return f"```json\n{text}\n```" if variant % 3 == 1 else text


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        return br_number(round(float(value), 2))
    return str(value)


def sql(row: dict, variant: int = 0) -> str | None:
    reference_sql, answer = row.get("reference_sql"), row.get("reference_answer")
    if not reference_sql or answer is None:
        return None
    rows = json.loads(answer) if isinstance(answer, str) else answer
    shown = "; ".join(", ".join(_cell(v) for v in r) for r in rows[:3])
    more = f" (e mais {len(rows) - 3} linhas)" if len(rows) > 3 else ""
    question = str(row.get("question") or "").rstrip("?")
    intro = ("A consulta filtra os pedidos que o enunciado descreve, junta as tabelas necessárias e calcula os "
             "valores de cada grupo.",
             "Essa consulta seleciona apenas os pedidos que a pergunta considera e agrega os valores por grupo, "
             "como o enunciado pede.")[variant % 2]
    result = (f"O resultado traz {len(rows)} linha(s): {shown}{more}." if len(rows) > 1
              else f"O resultado é {shown}.")
    focus = f" Assim respondemos à pergunta sobre {question[:1].lower() + question[1:]}." if question else ""
    return f"```sql\n{reference_sql.strip().rstrip(';')};\n```\n{intro} {result}{focus}"


def push(row: dict, variant: int = 0) -> str | None:
    brief = row.get("brief")
    if not isinstance(brief, dict) or not brief.get("product"):
        return None
    limit = int(row.get("max_chars") or 120)
    product, offer = brief["product"], brief.get("offer", "")
    occasion = brief.get("occasion_label") or ""
    if offer.startswith("sem oferta"):
        options = [f"Seu {product} chegou? Conta pra gente o que achou e avalie sua compra! ⭐",
                   f"Como foi com seu {product}? Sua avaliação ajuda outros clientes ⭐"]
        options = options[variant % 2:] + options[:variant % 2]
    else:
        named = product[:1].upper() + product[1:]
        options = [f"{occasion}: {product} com {offer}! Aproveite agora 🛍️",
                   f"{occasion} chegou: seu {product} com {offer}. Garanta já! 🛒",
                   f"{named} com {offer} nesta {occasion}. Corre que acaba logo! ✨",
                   f"{named} com {offer} na {occasion}! 🛍️"]
        options = options[variant % 4:] + options[:variant % 4]
        options.append(f"{named} com {offer}. Aproveite hoje mesmo! 🛍️")
    fitting = [o for o in options if len(o) <= limit]
    return fitting[0] if fitting else min(options, key=len)[:limit - 1].rstrip() + "!"


def fragments(summary: list[str]) -> list[str]:
    """'label: value' parts of the summary lines, as phrases a sentence can carry."""
    out = []
    for line in summary[1:]:
        for part in line.split(";"):
            label, _, value = part.partition(":")
            label, value = label.strip(" -").lower(), value.strip()
            if value and figures.figures(value):
                out.append(f"{label} de {value}" if not label.endswith(" de") else f"{label} {value}")
    return out


def insights(row: dict, variant: int = 0) -> str | None:
    summary, request = row.get("data_summary"), row.get("request")
    if not summary or not isinstance(summary, list) or not request:
        return None
    frags = fragments(summary)
    if not frags:
        return None
    scope = re.sub(r"^Resumo dos dados |\s*\(.*$|:$", "", summary[0]).strip()
    terms = [w.decode() for w in dict.fromkeys(words(request)) if len(w) >= 6][:5]
    focus = ", ".join(terms[:-1]) + f" e {terms[-1]}" if len(terms) > 1 else (terms[0] if terms else "os resultados")
    first, rest = frags[:3], frags[3:6]
    diag = (f"Os números {scope} mostram {', '.join(first[:-1])} e {first[-1]}." if len(first) > 1
            else f"Os números {scope} mostram {first[0]}.")
    extra = f" Vale notar também {' e '.join(rest)}." if rest else ""
    heads = (("## Diagnóstico", "## Recomendações", "## Próximos passos"),
             ("## O que os dados mostram", "## O que fazer", "## Como acompanhar"))[variant % 2]
    return "\n".join([
        heads[0], "",
        diag + extra + f" A análise se concentra em {focus}, como o pedido solicita, e esses indicadores "
        "apontam onde a operação ganha mais com ajustes rápidos.", "",
        heads[1], "",
        f"- **Priorizar** as ações ligadas a {focus}, começando pelo segmento em que os números acima são piores.",
        "- Recomendamos revisar a comunicação com os clientes afetados e testar ofertas específicas para cada "
        "perfil de compra.",
        "- Sugerimos negociar prazos e custos com os parceiros de entrega e de pagamento que mais pesam no "
        "resultado.",
        "- Devemos medir o efeito de cada ação em um grupo de controle antes de ampliá-la para toda a base.", "",
        heads[2], "",
        "Acompanhar mensalmente os mesmos indicadores do resumo, comparar os grupos com e sem a ação e rever "
        "as prioridades a cada trimestre, mantendo o foco no que o pedido de análise definiu.",
    ])


WRITERS = {"extraction": extraction, "sql_qa": sql, "push": push, "insights": insights}


def answer(row: dict, variant: int = 0) -> str | None:
    """A good answer to the row's prompt, or None when the row lacks what it needs."""
    writer = WRITERS.get(row.get("task", ""))
    return writer(row, variant) if writer else None
