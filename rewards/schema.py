"""The extraction task's JSON schema: the 10 fields a review must be turned into.

This is the one place the fields are defined. The extraction reward checks completions
against it and the prompt builders in data/ describe it to the model from it, so the two
cannot disagree. Keys are English (the recipe's), descriptions Portuguese (the model's).

Each field: `name`, `type` ("enum" | "int" | "bool" | "number" | "text" | "text_or_null"),
`allowed` (enum values; for int/number the inclusive range; for text the length range),
`checked` (whether it is one of the 9 value checks: the free-text product name is not,
since any string or null is a legitimate answer), and `description`.
"""

from __future__ import annotations

from typing import Any

SENTIMENTS: tuple[str, ...] = ("positivo", "neutro", "negativo")
TOPICS: tuple[str, ...] = ("entrega", "qualidade", "preco", "atendimento", "embalagem", "descricao", "outro")

EXTRACTION_FIELDS: tuple[dict[str, Any], ...] = (
    {
        "name": "sentiment",
        "type": "enum",
        "allowed": SENTIMENTS,
        "checked": True,
        "description": "Sentimento geral da avaliação: \"positivo\", \"neutro\" ou \"negativo\".",
    },
    {
        "name": "sentiment_score",
        "type": "int",
        "allowed": (1, 5),
        "checked": True,
        "description": "Intensidade do sentimento, número inteiro de 1 (muito negativo) a 5 (muito positivo).",
    },
    {
        "name": "delivery_issue",
        "type": "bool",
        "allowed": (True, False),
        "checked": True,
        "description": "true se o cliente relata atraso, extravio ou outro problema na entrega.",
    },
    {
        "name": "product_quality_issue",
        "type": "bool",
        "allowed": (True, False),
        "checked": True,
        "description": "true se o cliente relata defeito, dano ou baixa qualidade do produto.",
    },
    {
        "name": "customer_service_issue",
        "type": "bool",
        "allowed": (True, False),
        "checked": True,
        "description": "true se o cliente reclama do atendimento do vendedor ou da loja.",
    },
    {
        "name": "would_recommend",
        "type": "bool",
        "allowed": (True, False),
        "checked": True,
        "description": "true se o cliente recomendaria o produto ou a loja.",
    },
    {
        "name": "main_topic",
        "type": "enum",
        "allowed": TOPICS,
        "checked": True,
        "description": "Assunto principal: \"entrega\", \"qualidade\", \"preco\", \"atendimento\", "
        "\"embalagem\", \"descricao\" ou \"outro\".",
    },
    {
        "name": "summary",
        "type": "text",
        "allowed": (10, 200),
        "checked": True,
        "description": "Resumo da avaliação em uma frase, de 10 a 200 caracteres.",
    },
    {
        "name": "confidence",
        "type": "number",
        "allowed": (0.0, 1.0),
        "checked": True,
        "description": "Confiança na extração, número decimal de 0 a 1 (por exemplo 0.85).",
    },
    {
        "name": "product_mentioned",
        "type": "text_or_null",
        "allowed": None,
        "checked": False,
        "description": "Produto citado na avaliação, como texto, ou null se nenhum for citado.",
    },
)

FIELD_NAMES: tuple[str, ...] = tuple(f["name"] for f in EXTRACTION_FIELDS)
CHECKED_FIELDS: tuple[str, ...] = tuple(f["name"] for f in EXTRACTION_FIELDS if f["checked"])

# Placeholder words a model copies from a schema description instead of answering.
# A text value equal to one of these, or to any field name, is a "string echo".
PLACEHOLDERS: frozenset[str] = frozenset(
    {"string", "str", "text", "texto", "bool", "boolean", "int", "integer", "number", "numero",
     "float", "null", "none", "...", "resumo", "resumo curto", "valor", "value", "true/false"}
)


def example_json() -> dict[str, Any]:
    """A filled-in example object (Portuguese), valid against every check."""
    return {
        "sentiment": "negativo",
        "sentiment_score": 2,
        "delivery_issue": True,
        "product_quality_issue": False,
        "customer_service_issue": False,
        "would_recommend": False,
        "main_topic": "entrega",
        "summary": "Produto chegou com duas semanas de atraso, mas em bom estado.",
        "confidence": 0.9,
        "product_mentioned": "fone de ouvido",
    }


def describe_schema() -> str:
    """One line per field, in Portuguese, for prompts that ask for this JSON."""
    return "\n".join(f"- \"{f['name']}\": {f['description']}" for f in EXTRACTION_FIELDS)
