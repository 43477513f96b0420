"""Scoring guidelines shown beside each item on the annotate page.

One entry per task, in Portuguese (the annotators' language) with an English line under
each anchor, saying what a 1, a 3 and a 5 look like. Annotators score the completion as a
person would judge it, never by guessing what the reward function would say: the audit
compares the two, so a score that imitates the reward hides the very bugs we look for.
"""

from __future__ import annotations

from dataclasses import dataclass

from rewards.types import TASKS


@dataclass(frozen=True)
class Anchor:
    score: int
    pt: str
    en: str


@dataclass(frozen=True)
class Guideline:
    task: str
    title: str
    goal_pt: str
    goal_en: str
    anchors: tuple[Anchor, ...]
    watch_for: tuple[str, ...]

    def to_markdown(self) -> str:
        """The guideline as Markdown (our own trusted text, never model output)."""
        lines = [f"**{self.title}**", "", f"{self.goal_pt}  ", f"*{self.goal_en}*", ""]
        for anchor in self.anchors:
            lines.append(f"- **{anchor.score}** — {anchor.pt}  \n  *{anchor.en}*")
        lines.append("")
        lines.append("**Atenção / watch for:**")
        lines.extend(f"- {item}" for item in self.watch_for)
        lines.append("")
        lines.append("*2 e 4 ficam entre as âncoras. / 2 and 4 sit between the anchors.*")
        return "\n".join(lines)


GENERAL_PT = (
    "Dê a nota que uma pessoa exigente daria à resposta, sem tentar adivinhar a nota da "
    "função de recompensa. Se a recompensa parecer errada para este caso, marque a bandeira "
    "e diga por quê."
)
GENERAL_EN = (
    "Score the answer as a demanding person would, without guessing the reward function's "
    "score. If the reward looks wrong for this case, raise the flag and say why."
)

GUIDELINES: dict[str, Guideline] = {
    "extraction": Guideline(
        task="extraction",
        title="Extração (avaliação → JSON de 10 campos)",
        goal_pt="A resposta deve ser um JSON válido com os 10 campos pedidos, fiéis à avaliação do cliente.",
        goal_en="The answer must be valid JSON with the 10 requested fields, faithful to the customer review.",
        anchors=(
            Anchor(1, "Não é JSON, faltam vários campos, ou os valores contradizem a avaliação "
                      "(ex.: sentimento positivo numa avaliação de 1 estrela).",
                   "Not JSON, several fields missing, or values contradict the review "
                   "(e.g. positive sentiment on a 1-star review)."),
            Anchor(3, "JSON válido com a maioria dos campos certos, mas um ou dois campos vazios, "
                      "inventados ou com tipo errado (texto onde se pede número).",
                   "Valid JSON, most fields right, but one or two empty, invented or of the wrong "
                   "type (text where a number is asked)."),
            Anchor(5, "JSON válido, todos os campos presentes, tipos corretos, nada inventado; "
                      "um leitor humano concordaria com cada valor.",
                   "Valid JSON, every field present, correct types, nothing invented; a human "
                   "reader would agree with every value."),
        ),
        watch_for=(
            "Texto antes/depois do JSON; números escritos com vírgula decimal (\"4,5\").",
            "Campos preenchidos com informação que não está na avaliação.",
        ),
    ),
    "sql_qa": Guideline(
        task="sql_qa",
        title="Pergunta de negócio → SQL + explicação",
        goal_pt="O SQL deve responder exatamente à pergunta no esquema Olist, e a explicação deve dizer o que ele faz.",
        goal_en="The SQL must answer exactly the question on the Olist schema, and the explanation must say what it does.",
        anchors=(
            Anchor(1, "Sem SQL, SQL que não roda (tabela/coluna inexistente) ou que responde "
                      "outra pergunta.",
                   "No SQL, SQL that cannot run (missing table/column) or that answers another "
                   "question."),
            Anchor(3, "SQL quase certo: roda, mas erra um filtro, um agrupamento ou uma junção; "
                      "ou explicação vaga.",
                   "Nearly right SQL: runs, but gets a filter, grouping or join wrong; or a vague "
                   "explanation."),
            Anchor(5, "SQL correto e legível, resultado certo, explicação clara em português que "
                      "um gerente entenderia.",
                   "Correct, readable SQL, right result, clear Portuguese explanation a manager "
                   "would understand."),
        ),
        watch_for=(
            "SQL certo por acaso (ex.: LIMIT que esconde o erro).",
            "Comandos que alteram dados (UPDATE, DELETE, DROP) valem 1.",
        ),
    ),
    "insights": Guideline(
        task="insights",
        title="Análise estratégica (insights)",
        goal_pt="Uma análise útil para a gestão: afirmações apoiadas nos dados, recomendações concretas.",
        goal_en="An analysis useful to management: claims backed by the data, concrete recommendations.",
        anchors=(
            Anchor(1, "Genérica ou sem relação com os dados; números inventados; texto repetido "
                      "ou cortado no meio.",
                   "Generic or unrelated to the data; invented numbers; repeated or cut-off text."),
            Anchor(3, "Pertinente mas rasa: descreve os dados sem tirar conclusões, ou recomenda "
                      "algo vago (\"melhorar a experiência\").",
                   "Relevant but shallow: describes the data without conclusions, or recommends "
                   "something vague (\"improve the experience\")."),
            Anchor(5, "Conclusões corretas e priorizadas, cada uma ligada a um dado, com ações "
                      "concretas e mensuráveis.",
                   "Correct, prioritised conclusions, each tied to a figure, with concrete, "
                   "measurable actions."),
        ),
        watch_for=(
            "Texto longo não é texto bom: não premie volume nem listas de palavras-chave.",
            "Seções com títulos certos mas conteúdo vazio.",
        ),
    ),
    "push": Guideline(
        task="push",
        title="Notificação push (≤ 120 caracteres)",
        goal_pt="Uma notificação curta, em português natural, que dá vontade de abrir o app, com no máximo 120 caracteres.",
        goal_en="A short notification in natural Portuguese that makes people open the app, at most 120 characters.",
        anchors=(
            Anchor(1, "Mais de 120 caracteres, várias opções em vez de uma, explicações sobre a "
                      "mensagem, ou tom enganoso.",
                   "Over 120 characters, several options instead of one, commentary about the "
                   "message, or a misleading tone."),
            Anchor(3, "Dentro do limite e no tema, mas sem graça, genérica ou com erro de "
                      "português.",
                   "Within the limit and on topic, but bland, generic or with a Portuguese "
                   "mistake."),
            Anchor(5, "Uma única mensagem clara, atraente e no tema pedido, dentro do limite, "
                      "pronta para enviar.",
                   "One clear, appealing message on the requested theme, within the limit, "
                   "ready to send."),
        ),
        watch_for=(
            "Aspas, emojis em excesso ou hashtags que um cliente acharia spam.",
            "Mensagem perfeita de 121+ caracteres: o limite é do produto, vale no máximo 2.",
        ),
    ),
}

assert set(GUIDELINES) == set(TASKS), "every task needs a guideline"


def guideline_for(task: str) -> Guideline:
    """The guideline of `task`; KeyError lists the known tasks."""
    try:
        return GUIDELINES[task]
    except KeyError:
        raise KeyError(f"no guideline for task {task!r}; known: {', '.join(GUIDELINES)}") from None
