"""insights prompts: a data summary computed from the database -> a strategic analysis.

Topics are taken round-robin, each with a scope (Brazil, a region, a state, a category)
drawn at random; "reengajamento" and "retencao" are among them on purpose: an analysis
prompt that talks about re-engaging customers must still be routed to the insights
reward, not to push, and these prompts are how the router is tested on real text. The
summary's lines and the request go into the row (`data_summary`, `request`): the reward
checks the analysis's figures and coverage against them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from data.facts import Facts, summary_lines
from data.prompts import make_row, normalise

SYSTEM = (
    "Você é um analista de negócios sênior de um e-commerce brasileiro. Escreva análises estratégicas "
    "em português, objetivas, com recomendações práticas e priorizadas, usando títulos e tópicos."
)
REQUESTS: dict[str, tuple[str, ...]] = {
    "reengajamento": (
        "Proponha uma estratégia de reengajamento para os clientes inativos {escopo}: quais segmentos priorizar, "
        "que ações e canais usar e como medir o resultado.",
        "Monte um plano de reengajamento de clientes {escopo} para os próximos 90 dias, com prioridades e metas.",
    ),
    "retencao": (
        "Analise a retenção de clientes {escopo} e recomende ações para aumentar a taxa de recompra nos próximos 6 meses.",
        "O que esses números dizem sobre a fidelização de clientes {escopo}? Sugira iniciativas priorizadas.",
    ),
    "logistica": (
        "Analise o desempenho logístico {escopo} e recomende prioridades para reduzir os atrasos de entrega.",
        "Quais ações de logística você priorizaria {escopo} para cumprir o prazo prometido ao cliente?",
    ),
    "satisfacao": (
        "Analise a satisfação dos clientes {escopo}, a relação entre atrasos e notas, e recomende melhorias.",
        "Quais são os principais riscos para a reputação da loja {escopo} e como mitigá-los?",
    ),
    "pagamentos": (
        "Analise o mix de meios de pagamento e o parcelamento {escopo} e recomende ajustes na política comercial.",
        "Que oportunidades você vê nos dados de pagamento {escopo}? Recomende ações concretas.",
    ),
    "sazonalidade": (
        "Analise a sazonalidade das vendas {escopo} e recomende como planejar estoque e campanhas para a próxima Black Friday.",
        "Com base na evolução mensal {escopo}, quais meses priorizar em marketing e por quê?",
    ),
    "categorias": (
        "Analise o mix de vendas {escopo} e recomende onde investir o orçamento de marketing do próximo trimestre.",
        "Quais oportunidades de crescimento você enxerga {escopo}? Priorize três iniciativas.",
    ),
    "frete": (
        "Analise o peso do frete {escopo} e proponha uma política de frete que aumente a conversão sem perder margem.",
        "O frete está prejudicando as vendas {escopo}? Recomende ações com base nos dados.",
    ),
}


def summary(facts: Facts, scope, topic: str) -> list[str]:
    """The data summary's lines: the head (scope and period), then one line per figure group."""
    head = f"Resumo dos dados {scope.name} (pedidos de {facts.first_day} a {facts.last_day}):"
    return [head, *summary_lines(scope, facts, topic)]


def user_message(lines: list[str], request: str) -> str:
    body = "\n".join(f"- {line}" for line in lines[1:])
    return f"{lines[0]}\n{body}\n\nPedido de análise: {request}"


def stream(facts: Facts, rng: random.Random, seen: set[str]) -> Iterator[dict]:
    scopes = facts.of("brasil") + facts.of("regiao") + facts.of("estado") + facts.of("categoria")
    # Every (topic, scope, request) is a distinct prompt; draw them in a seeded order.
    combos = [(t, i, r) for t in REQUESTS for i in range(len(scopes)) for r in REQUESTS[t]]
    rng.shuffle(combos)
    by_topic: dict[str, list] = {t: [c for c in combos if c[0] == t] for t in REQUESTS}
    while any(by_topic.values()):
        for topic, pool in by_topic.items():
            while pool:
                _, i, request = pool.pop()
                lines, asked = summary(facts, scopes[i], topic), request.format(escopo=scopes[i].name)
                user = user_message(lines, asked)
                key = normalise(user)
                if key in seen:
                    continue
                seen.add(key)
                yield make_row("insights", SYSTEM, user, topic=topic, key=key, data_summary=lines, request=asked)
                break
