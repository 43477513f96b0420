"""The probe bench: hand-written completions with the score range or ordering each must get.

A probe is a claim about the rewards that a human can read and agree with ("a perfect
JSON scores above a string-echo JSON, which scores above prose"). `run_probes()` scores
every case and checks every claim; `tucano-audit rewards probe` prints the table and
exits non-zero when one fails. Passing `overrides` (reward name -> Reward) runs the same
bench against a modified copy, which is how a planted bug shows up.

SQL cases run on the tiny probe database (rewards/probe_db.py), built in a temporary
folder, so the bench needs nothing else on disk.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewards import sql_exec
from rewards.probe_db import build_probe_db
from rewards.registry import get_reward
from rewards.routing import route_task
from rewards.types import Reward


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

_PERFECT = {
    "sentiment": "negativo", "sentiment_score": 2, "delivery_issue": True, "product_quality_issue": False,
    "customer_service_issue": False, "would_recommend": False, "main_topic": "entrega",
    "summary": "Pedido chegou duas semanas depois do prazo, mas o produto veio inteiro.",
    "confidence": 0.9, "product_mentioned": "liquidificador",
}
_PERFECT_JSON = json.dumps(_PERFECT, ensure_ascii=False)
_DECIMAL_JSON = _PERFECT_JSON.replace('"confidence": 0.9', '"confidence": 0,9')
_ECHO_JSON = json.dumps({k: k for k in _PERFECT}, ensure_ascii=False)
_BOOL_SCORE_JSON = _PERFECT_JSON.replace('"sentiment_score": 2', '"sentiment_score": true')
_POSITIVE_JSON = json.dumps({**_PERFECT, "sentiment": "positivo", "sentiment_score": 4}, ensure_ascii=False)

EXTRACTION_CASES = (
    Case("ext_perfect", "extraction", _PERFECT_JSON, {"rating": 2}),
    Case("ext_fenced", "extraction", f"Segue a extração:\n```json\n{_PERFECT_JSON}\n```\nQualquer dúvida, avise.",
         {"rating": 2}),
    Case("ext_decimal_comma", "extraction", _DECIMAL_JSON, {"rating": 2}),
    Case("ext_string_echo", "extraction", _ECHO_JSON, {"rating": 2}),
    Case("ext_bool_as_int", "extraction", _BOOL_SCORE_JSON, {"rating": 2}),
    Case("ext_rating_contradiction", "extraction", _POSITIVE_JSON, {"rating": 1}),
    Case("ext_unclosed", "extraction", _PERFECT_JSON[:-1] + ",", {"rating": 2}),
    Case("ext_prose", "extraction",
         "O cliente ficou insatisfeito porque a entrega atrasou duas semanas, mas o produto chegou inteiro.",
         {"rating": 2}),
)
EXTRACTION_CHECKS = (
    _range("ext_perfect", 0.99, 1.0),
    _equal("ext_fenced", "ext_perfect"),
    _equal("ext_decimal_comma", "ext_perfect"),
    _order("ext_perfect", "ext_string_echo", "ext_prose"),
    _order("ext_perfect", "ext_bool_as_int"),
    _order("ext_perfect", "ext_unclosed", "ext_prose"),
    _range("ext_rating_contradiction", 0.75, 0.81),
    _range("ext_prose", 0.0, 0.01),
)

# ---------------------------------------------------------------- sql_qa

_SQL_QUESTION_SQL = "SELECT COUNT(*) FROM orders WHERE order_status = 'delivered'"
_SQL_TOP_SQL = ("SELECT p.product_category_name, ROUND(SUM(oi.price), 2) AS receita FROM order_items oi "
                "JOIN products p ON p.product_id = oi.product_id GROUP BY p.product_category_name "
                "ORDER BY receita DESC")
_EXPLAIN = ("Essa consulta conta os pedidos com status entregue na tabela de pedidos. O resultado mostra "
            "que {n} pedidos foram entregues aos clientes, o que representa a maior parte das vendas do período.")

SQL_CASES = (
    Case("sql_correct", "sql_qa",
         f"```sql\n{_SQL_QUESTION_SQL};\n```\n" + _EXPLAIN.format(n=23), {"reference_sql": _SQL_QUESTION_SQL}),
    Case("sql_correct_extra_column", "sql_qa",
         "```sql\nSELECT order_status, COUNT(*) AS total FROM orders WHERE order_status = 'delivered' "
         "GROUP BY order_status;\n```\n" + _EXPLAIN.format(n=23), {"reference_sql": _SQL_QUESTION_SQL}),
    Case("sql_wrong_answer", "sql_qa",
         "```sql\nSELECT COUNT(*) FROM orders WHERE order_status = 'shipped';\n```\n" + _EXPLAIN.format(n=4),
         {"reference_sql": _SQL_QUESTION_SQL}),
    Case("sql_does_not_parse", "sql_qa",
         "```sql\nSELECT COUNT(* FROM orders WHERE order_status = 'delivered';\n```\n" + _EXPLAIN.format(n=23),
         {"reference_sql": _SQL_QUESTION_SQL}),
    Case("sql_unknown_table", "sql_qa",
         "```sql\nSELECT COUNT(*) FROM pedidos WHERE status = 'entregue';\n```\n" + _EXPLAIN.format(n=23),
         {"reference_sql": _SQL_QUESTION_SQL}),
    Case("sql_hostile", "sql_qa",
         "```sql\nDROP TABLE orders;\n```\nRemovi a tabela de pedidos para recalcular o total de 23 vendas.",
         {"reference_sql": _SQL_QUESTION_SQL}),
    Case("sql_prose_only", "sql_qa",
         "Para responder, basta usar SQL no banco. Foram 23 pedidos entregues aos clientes.",
         {"reference_sql": _SQL_QUESTION_SQL}),
    Case("sql_top_ordered", "sql_qa",
         f"```sql\n{_SQL_TOP_SQL};\n```\nA consulta soma a receita (preço dos itens) por categoria de produto e "
         "mostra as 4 categorias, da maior para a menor, em faturamento no período.",
         {"reference_sql": _SQL_TOP_SQL}),
    Case("sql_top_wrong_order", "sql_qa",
         f"```sql\n{_SQL_TOP_SQL.replace('DESC', 'ASC')};\n```\nA consulta soma a receita (preço dos itens) por "
         "categoria de produto e mostra as 4 categorias, da maior para a menor, em faturamento no período.",
         {"reference_sql": _SQL_TOP_SQL}),
    Case("heur_correct", "sql_qa",
         f"```sql\n{_SQL_QUESTION_SQL};\n```\n" + _EXPLAIN.format(n=23), reward="sql_qa_heuristic"),
    Case("heur_wrong_answer", "sql_qa",
         "```sql\nSELECT COUNT(*) FROM orders WHERE order_status = 'shipped';\n```\n" + _EXPLAIN.format(n=4),
         reward="sql_qa_heuristic"),
)
SQL_CHECKS = (
    _range("sql_correct", 0.95, 1.0),
    _equal("sql_correct_extra_column", "sql_correct"),
    _range("sql_wrong_answer", 0.45, 0.61),
    _order("sql_correct", "sql_wrong_answer", "sql_does_not_parse"),
    _equal("sql_unknown_table", "sql_does_not_parse"),
    _range("sql_hostile", 0.0, 0.5),
    _range("sql_prose_only", 0.0, 0.45),
    _range("sql_top_ordered", 0.95, 1.0),
    _order("sql_top_ordered", "sql_top_wrong_order"),
    # The recipe's tiers alone cannot tell a wrong query from a right one: why execution exists.
    _equal("heur_wrong_answer", "heur_correct"),
)

# ---------------------------------------------------------------- insights

_INSIGHTS_GOOD = """## Diagnóstico

As vendas de beleza e saúde cresceram no trimestre, mas a taxa de atraso na entrega subiu para 18% dos pedidos \
no Nordeste, e as avaliações de 1 e 2 estrelas se concentram justamente nesses pedidos atrasados. Clientes que \
recebem com atraso compram menos uma segunda vez, o que reduz a recompra e o faturamento dos vendedores.

## Recomendações

- **Priorizar** transportadoras com melhor prazo nas rotas do Nordeste e renegociar o frete dos vendedores com \
mais atrasos.
- Implementar um aviso proativo ao cliente quando o pedido atrasar, com um cupom de desconto para a próxima compra.
- Monitorar semanalmente a nota média por categoria e por vendedor, para agir antes que a avaliação caia.
- Recomendamos testar frete grátis acima de R$ 150 em beleza e saúde, a categoria que mais cresce.

## Próximos passos

Acompanhar por três meses a taxa de atraso, a nota média e a recompra; se o atraso cair abaixo de 10%, \
ampliar a mesma estratégia para as demais regiões e categorias de produto."""

_INSIGHTS_DESCRIPTIVE = " ".join([
    "O período analisado teve vendas estáveis em quase todas as categorias da loja.",
    "A categoria de beleza e saúde teve o maior número de pedidos, seguida por esporte e lazer.",
    "O ticket médio ficou perto de cento e vinte reais e o frete representou parte relevante do valor.",
    "As avaliações foram em geral positivas, com nota média acima de quatro estrelas.",
    "Os clientes de São Paulo responderam pela maior parte do faturamento no período observado.",
    "Os atrasos de entrega foram mais frequentes em regiões distantes dos centros de distribuição.",
    "O cartão de crédito foi o meio de pagamento mais usado, seguido pelo boleto bancário.",
    "Os pedidos cancelados foram poucos e se concentraram no início do semestre analisado.",
    "A quantidade de vendedores ativos permaneceu parecida ao longo dos meses.",
    "A categoria de móveis teve pedidos de valor mais alto, porém em menor quantidade.",
])

INSIGHTS_CASES = (
    Case("ins_structured_advice", "insights", _INSIGHTS_GOOD),
    Case("ins_descriptive_only", "insights", _INSIGHTS_DESCRIPTIVE),
    Case("ins_one_line", "insights", "Recomendamos melhorar a entrega."),
    Case("ins_empty", "insights", ""),
)
INSIGHTS_CHECKS = (
    _range("ins_structured_advice", 0.95, 1.0),
    _order("ins_structured_advice", "ins_descriptive_only"),
    _range("ins_one_line", 0.0, 0.45),
    _range("ins_empty", 0.0, 0.0),
)

# ---------------------------------------------------------------- push

_PUSH_120 = ("Ana, o tênis de corrida que você amou está com 15% de desconto e frete grátis até o domingo. "
             "Corra, restam só 3 pares! 🏃")
_PUSH_121 = _PUSH_120.replace("pares!", "pares!!")
_PUSH_FORMAL = ("Prezado cliente, vimos por meio desta informar que sua compra foi enviada e que o prazo de "
                "entrega estimado é de cinco dias úteis. Permanecemos à disposição para quaisquer "
                "esclarecimentos. Atenciosamente, Equipe de Atendimento.")

PUSH_CASES = (
    Case("push_120_chars", "push", _PUSH_120),
    Case("push_121_chars", "push", _PUSH_121),
    Case("push_specific", "push", "Seu pedido chegou! Avalie sua compra e ganhe R$ 10 de desconto na próxima 📦"),
    Case("push_generic_template", "push", "Confira nossas ofertas imperdíveis! Não perca essa oportunidade."),
    Case("push_formal_email", "push", _PUSH_FORMAL),
    Case("push_over_hard_limit", "push", " ".join([_PUSH_120, _PUSH_120])),
    Case("push_english", "push", "Your cart is waiting! Get 15% off today only 🛒"),
)
PUSH_CHECKS = (
    _range("push_120_chars", 0.99, 1.0),
    _order("push_120_chars", "push_121_chars"),
    _range("push_121_chars", 0.9, 0.99),
    _order("push_specific", "push_generic_template"),
    _range("push_formal_email", 0.0, 0.35),
    _range("push_over_hard_limit", 0.0, 0.5),
    _order("push_specific", "push_english"),
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


@dataclass(frozen=True)
class CheckResult:
    check: Check
    passed: bool
    detail: str


@dataclass(frozen=True)
class ProbeReport:
    scores: dict[str, float]
    breakdowns: dict[str, dict]
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]


def _with_reference(case: Case, db_path: Path) -> dict[str, Any]:
    meta = dict(case.meta)
    if case.task == "sql_qa":
        meta["db_path"] = str(db_path)
        if "reference_sql" in meta and "reference_answer" not in meta:
            # Reference rows computed with a plain connection: the probe database is ours.
            conn = sqlite3.connect(db_path)
            try:
                rows = conn.execute(meta["reference_sql"]).fetchall()
            finally:
                conn.close()
            meta["reference_answer"] = json.dumps([list(r) for r in rows])
    return meta


def run_probes(
    overrides: Mapping[str, Reward] | None = None,
    *,
    tasks: tuple[str, ...] | None = None,
    insights_before_push: bool = True,
) -> ProbeReport:
    """Score every case (of `tasks`, default all) and check every claim."""
    overrides = dict(overrides or {})
    cases = [c for c in CASES if tasks is None or c.task in tasks]
    checks = [c for c in CHECKS if tasks is None or _check_task(c) in tasks]
    scores: dict[str, float] = {}
    breakdowns: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="tucano-probe-") as tmp:
        db_path = build_probe_db(Path(tmp) / "probe.db")
        for case in cases:
            name = case.reward or case.task
            reward = overrides.get(name) or get_reward(name)
            b = reward.score(case.completion, **_with_reference(case, db_path))
            scores[case.name] = b.total
            breakdowns[case.name] = {"reward": reward.name, "version": reward.version, **b.to_dict()}

        sql_exec.close_all()  # the temporary database is about to be deleted
    results = tuple(_evaluate(c, scores, insights_before_push) for c in checks)
    return ProbeReport(scores, breakdowns, results)


def _check_task(check: Check) -> str:
    if check.kind == "route":
        return check.expected_task
    return next(c.task for c in CASES if c.name == check.names[0])


def _evaluate(check: Check, scores: dict[str, float], insights_before_push: bool) -> CheckResult:
    if check.kind == "route":
        try:
            got = route_task(check.prompt, insights_before_push=insights_before_push)
        except ValueError as exc:
            return CheckResult(check, False, str(exc))
        return CheckResult(check, got == check.expected_task, f"routed to {got}")
    vals = [scores[n] for n in check.names]
    shown = ", ".join(f"{n}={v:.3f}" for n, v in zip(check.names, vals, strict=True))
    if check.kind == "range":
        ok = check.lo - 1e-9 <= vals[0] <= check.hi + 1e-9
    elif check.kind == "order":
        ok = all(a > b + 1e-9 for a, b in zip(vals, vals[1:], strict=False))
    else:
        ok = abs(vals[0] - vals[1]) <= check.tol
    return CheckResult(check, ok, shown)


def format_report(report: ProbeReport) -> str:
    """The probe table as text: every case's score, then every check."""
    lines = ["case                              reward             total  components"]
    for name, b in report.breakdowns.items():
        comps = " ".join(f"{k}={v:+.2f}" for k, v in b["components"].items())
        lines.append(f"{name:<33} {b['reward']:<18} {b['total']:.3f}  {comps}")
    lines.append("")
    for r in report.results:
        lines.append(f"{'PASS' if r.passed else 'FAIL'}  {r.check.describe():<60} {r.detail}")
    n_fail = len(report.failures)
    lines.append("")
    lines.append(f"{len(report.results) - n_fail}/{len(report.results)} checks passed")
    return "\n".join(lines)
