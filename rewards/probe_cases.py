"""The probe bench's cases: hand-written completions, the prompt facts each is scored
against, and the score range or ordering each must get (rewards.probes runs them).

A probe is a claim a human can read and agree with: a perfect JSON above a string-echo
JSON above prose; a 1-star review labelled positive capped at 0.30; a right query above a
wrong one; tied rows in another order as good as the reference's order; a push faithful to
its brief above one for another occasion. SQL cases run on the tiny probe databases
(rewards/probe_db.py), the main one and its second copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Case:
    name: str
    task: str
    completion: str
    meta: dict[str, Any] = field(default_factory=dict)
    reward: str | None = None  # default: the task's default reward


@dataclass(frozen=True)
class Check:
    kind: str  # "range" | "order" | "equal" | "route"
    names: tuple[str, ...]
    lo: float = 0.0
    hi: float = 1.0
    tol: float = 1e-6
    prompt: str = ""
    expected_task: str = ""

    def describe(self) -> str:
        if self.kind == "range":
            return f"{self.names[0]} in [{self.lo:.2f}, {self.hi:.2f}]"
        if self.kind == "order":
            return " > ".join(self.names)
        if self.kind == "equal":
            return f"{self.names[0]} == {self.names[1]} (±{self.tol:g})"
        return f"route {self.names[0]!r} -> {self.expected_task}"


def _range(name: str, lo: float, hi: float) -> Check:
    return Check("range", (name,), lo=lo, hi=hi)


def _order(*names: str) -> Check:
    return Check("order", names)


def _equal(a: str, b: str, tol: float = 1e-6) -> Check:
    return Check("equal", (a, b), tol=tol)


def _route(name: str, prompt: str, task: str) -> Check:
    return Check("route", (name,), prompt=prompt, expected_task=task)


# ---------------------------------------------------------------- extraction

_REVIEW = ("Paguei e o liquidificador só chegou duas semanas depois do prazo, ninguém da loja respondeu "
           "minhas mensagens. Não recomendo.")
_EXT_META = {"rating": 1, "review": _REVIEW, "gold": {
    "sentiment": "negativo", "delivery_issue": True, "product_quality_issue": False, "customer_service_issue": True,
    "would_recommend": False, "main_topic": ["entrega"], "other_topics": ["atendimento"]}}
_PERFECT = {
    "sentiment": "negativo", "sentiment_score": 1, "delivery_issue": True, "product_quality_issue": False,
    "customer_service_issue": True, "would_recommend": False, "main_topic": "entrega",
    "summary": "O liquidificador chegou duas semanas depois do prazo e a loja não respondeu.",
    "confidence": 0.9, "product_mentioned": "liquidificador",
}
_PERFECT_JSON = json.dumps(_PERFECT, ensure_ascii=False)
_DECIMAL_JSON = _PERFECT_JSON.replace('"confidence": 0.9', '"confidence": 0,9')
_ECHO_JSON = json.dumps({k: k for k in _PERFECT}, ensure_ascii=False)
# `true` where the integer 1 belongs: a bug that accepts booleans as integers scores it as perfect.
_BOOL_SCORE_JSON = _PERFECT_JSON.replace('"sentiment_score": 1', '"sentiment_score": true')
_POSITIVE_JSON = json.dumps({**_PERFECT, "sentiment": "positivo", "sentiment_score": 4}, ensure_ascii=False)
_CONSTANT_JSON = json.dumps({
    "sentiment": "positivo", "sentiment_score": 5, "delivery_issue": False, "product_quality_issue": False,
    "customer_service_issue": False, "would_recommend": True, "main_topic": "qualidade",
    "summary": "Cliente satisfeito com o produto e com a entrega.", "confidence": 0.9, "product_mentioned": None})
_FLIPPED_JSON = json.dumps({**_PERFECT, "delivery_issue": False, "product_quality_issue": True,
                            "customer_service_issue": False, "would_recommend": True, "main_topic": "preco"})
_SCHEMA_SUMMARY_JSON = json.dumps({**_PERFECT, "summary": "Resumo da avaliação em uma frase, de 10 a 200 caracteres."},
                                  ensure_ascii=False)

EXTRACTION_CASES = (
    Case("ext_perfect", "extraction", _PERFECT_JSON, _EXT_META),
    Case("ext_fenced", "extraction", f"Segue a extração:\n```json\n{_PERFECT_JSON}\n```\nQualquer dúvida, avise.",
         _EXT_META),
    Case("ext_decimal_comma", "extraction", _DECIMAL_JSON, _EXT_META),
    Case("ext_reasoning_quotes_a_partial_object", "extraction",
         'O cliente reclama do prazo, então começo por {"sentiment": "negativo"} e completo:\n' + _PERFECT_JSON,
         _EXT_META),
    Case("ext_string_echo", "extraction", _ECHO_JSON, _EXT_META),
    Case("ext_bool_as_int", "extraction", _BOOL_SCORE_JSON, _EXT_META),
    Case("ext_rating_contradiction", "extraction", _POSITIVE_JSON, _EXT_META),
    Case("ext_unclosed", "extraction", _PERFECT_JSON[:-1] + ",", _EXT_META),
    Case("ext_constant_answer", "extraction", _CONSTANT_JSON, _EXT_META),
    Case("ext_labels_contradict_review", "extraction", _FLIPPED_JSON, _EXT_META),
    Case("ext_summary_copies_schema", "extraction", _SCHEMA_SUMMARY_JSON, _EXT_META),
    Case("ext_prose", "extraction",
         "O cliente ficou insatisfeito porque a entrega atrasou duas semanas e a loja não respondeu.", _EXT_META),
)
EXTRACTION_CHECKS = (
    _range("ext_perfect", 0.99, 1.0),
    _equal("ext_fenced", "ext_perfect"),
    _equal("ext_decimal_comma", "ext_perfect"),
    _equal("ext_reasoning_quotes_a_partial_object", "ext_perfect"),
    _order("ext_perfect", "ext_string_echo", "ext_prose"),
    _order("ext_perfect", "ext_bool_as_int"),
    _order("ext_perfect", "ext_unclosed", "ext_prose"),
    _range("ext_rating_contradiction", 0.25, 0.30),
    _range("ext_constant_answer", 0.0, 0.35),
    _range("ext_labels_contradict_review", 0.0, 0.35),
    _range("ext_summary_copies_schema", 0.0, 0.35),
    _range("ext_prose", 0.0, 0.01),
)

# ---------------------------------------------------------------- sql_qa

_SQL_QUESTION_SQL = "SELECT COUNT(*) FROM orders WHERE order_status = 'delivered'"
_SQL_TOP_SQL = ("SELECT p.product_category_name, ROUND(SUM(oi.price), 2) AS receita FROM order_items oi "
                "JOIN products p ON p.product_id = oi.product_id GROUP BY p.product_category_name "
                "ORDER BY receita DESC")
_SQL_TIES_SQL = ("SELECT payment_type, COUNT(*) AS pagamentos FROM order_payments GROUP BY payment_type "
                 "ORDER BY pagamentos DESC, payment_type")
_SQL_AVG_SQL = "SELECT ROUND(AVG(price), 2) AS preco_medio FROM order_items"
_SQL_SHARE_SQL = "SELECT ROUND(100.0 * SUM(order_status = 'delivered') / COUNT(*), 2) AS pct_entregues FROM orders"
_EXPLAIN = ("Essa consulta conta os pedidos com status entregue na tabela de pedidos. O resultado mostra "
            "que {n} pedidos foram entregues aos clientes, o que representa a maior parte das vendas do período.")
_TOP_EXPLAIN = ("A consulta soma a receita (preço dos itens) por categoria de produto e mostra as categorias, da "
                "maior para a menor, com o faturamento de cada uma no período; a primeira fatura R$ {top}.")
_TIES_EXPLAIN = ("A consulta conta os pagamentos por tipo de pagamento; o cartão de crédito lidera com 12 "
                 "pagamentos e os demais tipos empatam com 6 pedidos cada na base de clientes.")
_Q = {"reference_sql": _SQL_QUESTION_SQL}


def _sql(query: str, explanation: str) -> str:
    return f"```sql\n{query};\n```\n{explanation}"


SQL_CASES = (
    Case("sql_correct", "sql_qa", _sql(_SQL_QUESTION_SQL, _EXPLAIN.format(n=23)), _Q),
    Case("sql_correct_extra_column", "sql_qa",
         _sql("SELECT order_status, COUNT(*) AS total FROM orders WHERE order_status = 'delivered' "
              "GROUP BY order_status", _EXPLAIN.format(n=23)), _Q),
    Case("sql_wrong_answer", "sql_qa",
         _sql("SELECT COUNT(*) FROM orders WHERE order_status = 'shipped'", _EXPLAIN.format(n=4)), _Q),
    Case("sql_does_not_parse", "sql_qa",
         _sql("SELECT COUNT(* FROM orders WHERE order_status = 'delivered'", _EXPLAIN.format(n=23)), _Q),
    Case("sql_unknown_table", "sql_qa",
         _sql("SELECT COUNT(*) FROM pedidos WHERE status = 'entregue'", _EXPLAIN.format(n=23)), _Q),
    Case("sql_hostile", "sql_qa", "```sql\nDROP TABLE orders;\n```\nRemovi a tabela de pedidos para recalcular "
         "o total de 23 vendas.", _Q),
    Case("sql_prose_only", "sql_qa", "Para responder, basta usar SQL no banco. Foram 23 pedidos entregues aos "
         "clientes.", _Q),
    Case("sql_typed_answer", "sql_qa", _sql("SELECT 23", _EXPLAIN.format(n=23)), _Q),
    Case("sql_typed_behind_a_table", "sql_qa", _sql("SELECT 23 FROM orders LIMIT 1", _EXPLAIN.format(n=23)), _Q),
    Case("sql_invented_figure", "sql_qa", _sql(_SQL_QUESTION_SQL, _EXPLAIN.format(n=87)), _Q),
    Case("sql_english_explanation", "sql_qa", _sql(_SQL_QUESTION_SQL, "This query counts the delivered orders in "
         "the orders table; the result shows that 23 orders were delivered to the customers in the period."), _Q),
    Case("sql_top_ordered", "sql_qa", _sql(_SQL_TOP_SQL, _TOP_EXPLAIN.format(top="605,50")),
         {"reference_sql": _SQL_TOP_SQL}),
    Case("sql_top_wrong_order", "sql_qa", _sql(_SQL_TOP_SQL.replace("DESC", "ASC"), _TOP_EXPLAIN.format(top="605,50")),
         {"reference_sql": _SQL_TOP_SQL}),
    Case("sql_ties", "sql_qa", _sql(_SQL_TIES_SQL, _TIES_EXPLAIN),
         {"reference_sql": _SQL_TIES_SQL, "order_matters": True}),
    Case("sql_ties_in_another_order", "sql_qa",
         _sql(_SQL_TIES_SQL + " DESC", _TIES_EXPLAIN), {"reference_sql": _SQL_TIES_SQL, "order_matters": True}),
    Case("sql_no_order_asked", "sql_qa", _sql(_SQL_TIES_SQL.split(" ORDER BY")[0], _TIES_EXPLAIN),
         {"reference_sql": _SQL_TIES_SQL, "order_matters": False}),
    Case("sql_rounded_by_the_answer", "sql_qa",
         _sql("SELECT ROUND(AVG(price), 1) FROM order_items", "A consulta calcula o preço médio dos itens "
              "vendidos nos pedidos da loja; o valor médio por produto é de 57,3 reais no período."),
         {"reference_sql": _SQL_AVG_SQL}),
    Case("sql_fraction_for_a_percent", "sql_qa",
         _sql("SELECT AVG(order_status = 'delivered') FROM orders", "A consulta calcula a taxa de pedidos "
              "entregues sobre o total de pedidos dos clientes, uma fração de 0,77 das vendas."),
         {"reference_sql": _SQL_SHARE_SQL}),
    Case("heur_correct", "sql_qa", _sql(_SQL_QUESTION_SQL, _EXPLAIN.format(n=23)), reward="sql_qa_heuristic"),
    Case("heur_wrong_answer", "sql_qa", _sql("SELECT COUNT(*) FROM orders WHERE order_status = 'shipped'",
                                             _EXPLAIN.format(n=4)), reward="sql_qa_heuristic"),
)
SQL_CHECKS = (
    _range("sql_correct", 0.95, 1.0),
    _equal("sql_correct_extra_column", "sql_correct"),
    _range("sql_wrong_answer", 0.2, 0.35),
    _order("sql_correct", "sql_wrong_answer", "sql_does_not_parse"),
    _equal("sql_unknown_table", "sql_does_not_parse"),
    _range("sql_hostile", 0.0, 0.3),
    _range("sql_prose_only", 0.0, 0.3),
    _range("sql_typed_answer", 0.0, 0.15),
    _range("sql_typed_behind_a_table", 0.0, 0.35),
    _range("sql_invented_figure", 0.0, 0.35),
    _range("sql_english_explanation", 0.0, 0.35),
    _range("sql_top_ordered", 0.95, 1.0),
    _order("sql_top_ordered", "sql_top_wrong_order"),
    _equal("sql_ties_in_another_order", "sql_ties"),
    _equal("sql_no_order_asked", "sql_ties"),
    _range("sql_rounded_by_the_answer", 0.95, 1.0),
    _range("sql_fraction_for_a_percent", 0.85, 1.0),
    # The recipe's tiers alone cannot tell a wrong query from a right one: why execution exists.
    _equal("heur_wrong_answer", "heur_correct"),
)

# ---------------------------------------------------------------- insights

_SUMMARY = [
    "Resumo dos dados no Nordeste (pedidos de 2016-09-04 a 2018-08-29):",
    "Pedidos: 9.412; receita de produtos: R$ 1.311.254,90; ticket médio: R$ 139,32",
    "Pedidos entregues com atraso: 18,2%; atraso médio dos atrasados: 9,4 dias",
    "Prazo médio da compra à entrega: 19,7 dias",
    "Nota média no prazo: 4,3; com atraso: 2,4",
]
_REQUEST = "Analise o desempenho logístico no Nordeste e recomende prioridades para reduzir os atrasos de entrega."
_INS_META = {"data_summary": _SUMMARY, "request": _REQUEST}

_INSIGHTS_GOOD = """## Diagnóstico

No Nordeste, 18,2% dos pedidos entregues chegaram com atraso, e os atrasados levaram em média 9,4 dias além do \
prazo. A nota média cai de 4,3 nos pedidos entregues no prazo para 2,4 nos atrasados: o atraso é a principal causa \
de avaliações ruins na região, e o prazo médio de 19,7 dias da compra à entrega pesa na recompra dos clientes.

## Recomendações

- **Priorizar** as transportadoras com melhor desempenho logístico nas rotas do Nordeste e renegociar o frete \
dos vendedores com mais atrasos.
- Implementar um aviso proativo ao cliente quando o pedido atrasar, com um cupom para a próxima compra.
- Monitorar semanalmente a taxa de atraso e a nota média por vendedor, para agir antes que a avaliação caia.
- Recomendamos testar estoque mais perto do cliente para as categorias que mais vendem na região.

## Próximos passos

Acompanhar por três meses a taxa de atraso, a nota média e a recompra; se os atrasos caírem abaixo de 10%, \
ampliar as mesmas prioridades para as demais regiões."""

_INSIGHTS_CONCISE = """## Logística no Nordeste

Com 18,2% dos pedidos atrasados e nota de 2,4 nesses pedidos (contra 4,3 no prazo), o atraso de entrega é o \
problema a atacar. Deveríamos rever os contratos com as transportadoras das rotas mais lentas e medir o prazo \
real por rota a cada semana. Sugerimos também avisar o cliente assim que um pedido atrasar. A meta é reduzir os \
atrasos de 9,4 dias em média e a distância entre o prazo prometido e o prazo real de 19,7 dias."""

_INSIGHTS_UNGROUNDED = """## Diagnóstico

A logística da região precisa de atenção: muitos pedidos chegam atrasados e os clientes avaliam mal as entregas \
que demoram. O prazo de entrega também pesa na decisão de comprar de novo.

## Recomendações

- Priorizar transportadoras mais rápidas e renegociar os contratos das rotas com mais atrasos.
- Implementar um aviso proativo ao cliente quando o pedido atrasar.
- Monitorar a nota média por vendedor e recomendamos rever o estoque regional."""

_INSIGHTS_DESCRIPTIVE = " ".join([
    "O Nordeste teve 9.412 pedidos no período analisado e receita de produtos de R$ 1.311.254,90.",
    "O ticket médio ficou em R$ 139,32 e o frete representou parte relevante do valor dos pedidos.",
    "Os pedidos entregues com atraso foram 18,2% do total, com atraso médio de 9,4 dias.",
    "A nota média dos pedidos entregues no prazo foi 4,3 e a dos pedidos atrasados foi 2,4.",
    "O prazo médio da compra à entrega ficou em 19,7 dias, acima das outras regiões do país.",
    "As avaliações dos clientes acompanharam o desempenho da entrega ao longo dos meses.",
])

INSIGHTS_CASES = (
    Case("ins_structured_advice", "insights", _INSIGHTS_GOOD, _INS_META),
    Case("ins_concise_without_the_recipe_verbs", "insights", _INSIGHTS_CONCISE, _INS_META),
    Case("ins_descriptive_only", "insights", _INSIGHTS_DESCRIPTIVE, _INS_META),
    Case("ins_no_figure_of_the_data", "insights", _INSIGHTS_UNGROUNDED, _INS_META),
    Case("ins_copy_of_the_prompt", "insights", "\n".join(["## Análise", *(f"- {line}" for line in _SUMMARY),
                                                          _REQUEST]), _INS_META),
    Case("ins_one_bullet_repeated", "insights", "## Recomendações\n" + "\n".join(
        ["- Recomendamos priorizar a entrega e reduzir os atrasos no Nordeste com 18,2% de atraso."] * 9), _INS_META),
    Case("ins_one_line", "insights", "Recomendamos melhorar a entrega.", _INS_META),
    Case("ins_empty", "insights", "", _INS_META),
)
INSIGHTS_CHECKS = (
    _range("ins_structured_advice", 0.95, 1.0),
    _range("ins_concise_without_the_recipe_verbs", 0.7, 1.0),
    _order("ins_structured_advice", "ins_descriptive_only"),
    _range("ins_no_figure_of_the_data", 0.0, 0.35),
    _range("ins_copy_of_the_prompt", 0.0, 0.25),
    _range("ins_one_bullet_repeated", 0.0, 0.30),
    _range("ins_one_line", 0.0, 0.35),
    _range("ins_empty", 0.0, 0.0),
)

# ---------------------------------------------------------------- push

_BRIEF = {"occasion": "black_friday", "occasion_label": "Black Friday", "product": "tênis de corrida",
          "category": "esporte e lazer", "offer": "15% de desconto e frete grátis",
          "audience": "clientes de SP que compraram esporte e lazer nos últimos 6 meses", "tone": "urgente",
          "ticket": "R$ 210,40"}
_PUSH_META = {"brief": _BRIEF}
_PUSH_120 = ("Ana, o tênis de corrida que você amou está com 15% de desconto e frete grátis nesta Black Friday. "
             "Corra, é até domingo 🏃")
_PUSH_121 = _PUSH_120.replace("domingo", "domingo!")
_PUSH_FORMAL = ("Prezado cliente, vimos por meio desta informar que o tênis de corrida está com 15% de desconto e "
                "frete grátis. Permanecemos à disposição para esclarecimentos. Atenciosamente, Equipe de Atendimento.")

PUSH_CASES = (
    Case("push_120_chars", "push", _PUSH_120, _PUSH_META),
    Case("push_121_chars", "push", _PUSH_121, _PUSH_META),
    Case("push_specific", "push", "Black Friday: seu tênis de corrida com 15% de desconto e frete grátis 🏃", _PUSH_META),
    Case("push_generic_template", "push", "Confira nossas ofertas imperdíveis! Não perca essa oportunidade.",
         _PUSH_META),
    Case("push_formal_email", "push", _PUSH_FORMAL, _PUSH_META),
    Case("push_formal_estimado", "push", "Estimado cliente, comunicamos que o tênis de corrida está com 15% de "
         "desconto e frete grátis. Att., Loja", _PUSH_META),
    Case("push_over_hard_limit", "push", " ".join([_PUSH_120, _PUSH_120]), _PUSH_META),
    Case("push_english", "push", "Black Friday is here: your running shoes with 15% off and free shipping! 🏃",
         _PUSH_META),
    Case("push_another_occasion", "push", "Natal chegou: tênis de corrida com 15% de desconto e frete grátis 🎄",
         _PUSH_META),
    Case("push_invented_discount", "push", "Black Friday: tênis de corrida com até 70% de desconto e frete grátis 🏃",
         _PUSH_META),
    Case("push_placeholder", "push", "Olá {nome}, o tênis de corrida está com 15% de desconto na Black Friday!",
         _PUSH_META),
    Case("push_function_words", "push", "de do da ç 1", _PUSH_META),
)
PUSH_CHECKS = (
    _range("push_120_chars", 0.99, 1.0),
    _order("push_120_chars", "push_121_chars"),
    _range("push_121_chars", 0.9, 0.99),
    _order("push_specific", "push_generic_template"),
    _range("push_formal_email", 0.0, 0.30),
    _range("push_formal_estimado", 0.0, 0.30),
    _range("push_over_hard_limit", 0.0, 0.5),
    _order("push_specific", "push_english"),
    _range("push_another_occasion", 0.0, 0.30),
    _range("push_invented_discount", 0.0, 0.30),
    _range("push_placeholder", 0.0, 0.20),
    _range("push_function_words", 0.0, 0.30),
)

# ---------------------------------------------------------------- routing

ROUTE_CHECKS = (
    _route("route_analysis_mentions_reengajamento",
           "Faça uma análise estratégica dos resultados da campanha de reengajamento do último trimestre.",
           "insights"),
    _route("route_push", "Escreva uma notificação push de reengajamento com até 120 caracteres.", "push"),
    _route("route_sql", "Escreva uma consulta SQL que responda: quantos pedidos foram entregues?", "sql_qa"),
    _route("route_extraction", "Extraia os campos da avaliação abaixo em JSON.", "extraction"),
)

CASES: tuple[Case, ...] = EXTRACTION_CASES + SQL_CASES + INSIGHTS_CASES + PUSH_CASES
CHECKS: tuple[Check, ...] = EXTRACTION_CHECKS + SQL_CHECKS + INSIGHTS_CHECKS + PUSH_CHECKS + ROUTE_CHECKS
