"""What a prompt row's own text says, for rows that lack the grounding fields.

`data build` writes every grounding field into the rows (the review, the brief, the data
summary and request, the question). A row written by an older build, or one that went
through a path that keeps only the classic columns, still has its prompt: the prompt
builders' fixed layout ("Comentário: ...", "- Oferta: ...", "Pedido de análise: ...",
"Pergunta de negócio: ...") gives those fields back. Gold labels are not in any text, so
they are never recovered: such rows are scored without correctness, and the reward says so.

`recover(row)` returns only the fields the row lacks and its text provides.
"""

from __future__ import annotations

import re

_COMMENT = re.compile(r'^Comentário: "(.*)"\s*$', re.MULTILINE | re.DOTALL)
_TITLE = re.compile(r"^Título: (.+)$", re.MULTILINE)
_BRIEF = {"occasion_label": "Ocasião", "audience": "Público", "offer": "Oferta", "ticket": "Ticket médio do público",
          "tone": "Tom"}
_PRODUCT = re.compile(r"^- Produto em destaque: (.+?)(?: \((.+)\))?$", re.MULTILINE)
_REQUEST = "Pedido de análise:"
_QUESTION = re.compile(r"^Pergunta de negócio: (.+?)(?:\n\n|\Z)", re.MULTILINE | re.DOTALL)
# Words with which a question asks for its rows in an order.
ASKS_ORDER = re.compile(
    r"\b(?:d[oa] (?:maior|menor) para [oa] (?:maior|menor)|da que tem (?:mais|menos) para a que tem (?:mais|menos)|"
    r"em ordem (?:de|crescente|decrescente|alfab)|ordenad[oa]s?|ranking|classifica[cç][aã]o)\b",
    re.IGNORECASE,
)


def user_text(row: dict) -> str:
    """The user message of a row's prompt (messages or plain text); empty when it has none."""
    prompt = row.get("prompt")
    if isinstance(prompt, str):
        return prompt
    for message in prompt or ():
        if isinstance(message, dict) and message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def asks_for_order(question: str) -> bool:
    """True when the question's words ask for its rows in an order."""
    return ASKS_ORDER.search(question) is not None


def recover(row: dict) -> dict:
    """The grounding fields `row` lacks that its prompt text holds."""
    text = user_text(row)
    task = row.get("task")
    out: dict = {}
    if not text:
        return out
    if task == "extraction" and not row.get("review"):
        m = _COMMENT.search(text)
        if m:
            title = _TITLE.search(text)
            out["review"] = f"{title.group(1).strip()}. {m.group(1).strip()}" if title else m.group(1).strip()
    elif task == "push" and not row.get("brief"):
        brief = {}
        for field, label in _BRIEF.items():
            m = re.search(rf"^- {re.escape(label)}: (.+)$", text, re.MULTILINE)
            if m:
                brief[field] = m.group(1).strip()
        m = _PRODUCT.search(text)
        if m:
            brief["product"] = m.group(1).strip()
            if m.group(2):
                brief["category"] = m.group(2).strip()
        if row.get("topic"):
            brief["occasion"] = row["topic"]
        if brief.get("offer") or brief.get("product"):
            out["brief"] = brief
    elif task == "insights" and _REQUEST in text:
        head, _, request = text.partition(_REQUEST)
        if not row.get("data_summary"):
            out["data_summary"] = [line.strip().lstrip("- ").strip() for line in head.splitlines() if line.strip()]
        if not row.get("request"):
            out["request"] = request.strip()
    elif task == "sql_qa":
        m = _QUESTION.search(text)
        if m and not row.get("question"):
            out["question"] = m.group(1).strip()
        question = row.get("question") or out.get("question")
        if row.get("order_matters") is None and question:
            out["order_matters"] = asks_for_order(question)
    return out
