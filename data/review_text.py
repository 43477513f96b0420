"""Review comments in the Portuguese customers actually write.

A comment is composed, not picked: an optional opener, one to three clauses drawn from
themes that fit the order (a late delivery talks about the delay, a 5-star review about
the product or the speed), an optional closer, then the slips of quick typing: missing
accents, "vc"/"pq"/"q", swapped letters, no final full stop, all lower case. The product
noun, numbers, dates and the order of clauses vary too, so the same text rarely appears
twice; `duplicate_share` measures how rarely.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from dataclasses import dataclass

# Clauses per theme. {O}/{o} article, {item} noun, {a} gender ending (o/a), {um} um/uma,
# {do} do/da, {dias} days, {semanas} weeks, {data} a dd/mm date, {n} a small count.
THEMES: dict[str, tuple[str, ...]] = {
    "atraso": (
        "O produto chegou com {dias} dias de atraso", "a entrega atrasou [bastante|muito|demais]",
        "[Demorou|Demorou muito|Levou] [demais|uma eternidade] pra chegar",
        "chegou bem depois do prazo [prometido|informado|do site]",
        "{O} {item} só chegou {dias} dias depois da data prevista", "esperei quase {semanas} semanas",
        "a entrega demorou [muito mais|bem mais] do que o previsto",
        "o rastreamento ficou parado por [dias|uma semana|{dias} dias]",
        "tive que [ligar|mandar mensagem] várias vezes pra saber onde estava meu pedido",
        "paguei frete caro e mesmo assim atrasou", "comprei pra dar de presente e chegou depois da data",
        "o prazo era dia {data} e só entregaram {dias} dias depois", "atrasou e ninguém avisou nada",
        "a transportadora demorou [uma eternidade|demais]", "prazo de entrega não foi cumprido",
        "[o pedido|{o} {item}] ficou [parado|preso] nos correios",
    ),
    "nao_recebido": (
        "Até agora não recebi [o produto|{o} {item}|meu pedido]", "comprei dia {data} e até hoje nada",
        "Não recebi meu pedido e ninguém me dá [resposta|satisfação]",
        "o prazo já passou e [o produto|{o} {item}] não chegou",
        "consta como entregue mas eu não recebi nada", "quero meu dinheiro de volta, {o} {item} nunca chegou",
        "já se passaram {semanas} semanas e nada {do} {item}", "estou esperando até hoje",
        "o pedido sumiu, o rastreio não mostra nada", "ainda aguardo a entrega {do} {item}",
        "[o site|a loja] diz que foi entregue mas não chegou [nada|aqui]",
    ),
    "cancelado": (
        "Cancelaram minha compra sem explicação", "o pedido foi cancelado e até agora não vi o estorno",
        "estou aguardando o [reembolso|estorno] até hoje", "cancelaram depois de {dias} dias sem avisar",
        "disseram que não tinha em estoque depois de aprovar o pagamento",
        "[compra|pedido] cancelad[a|o] e [o dinheiro|o valor] ainda não voltou",
    ),
    "danificado": (
        "{O} {item} veio [quebrad{a}|trincad{a}|amassad{a}]",
        "a embalagem chegou toda [amassada|rasgada] e {o} {item} com defeito",
        "veio com um [risco|arranhão] enorme", "chegou com defeito", "produto veio danificado, a caixa estava aberta",
        "{O} {item} veio rachad{a}", "parou de funcionar [depois de|com] {n} dias [de uso|]",
        "{o} {item} veio manchad{a}", "veio com peça solta", "chegou estragado, não deu nem pra usar",
    ),
    "errado": (
        "Comprei {n} unidades e recebi só uma", "recebi apenas um dos produtos que comprei",
        "veio [a cor errada|na cor errada|em outra cor]", "veio um produto diferente do que eu pedi",
        "mandaram o tamanho errado", "[faltou|veio faltando] uma peça", "veio sem o manual e sem os parafusos",
        "o modelo que chegou não é o do anúncio", "pedi {um} {item} e veio outra coisa",
        "chegou só metade do pedido", "comprei {n} e [chegou|veio] só 1",
    ),
    "qualidade_ruim": (
        "qualidade [muito|bem] inferior ao que mostra na foto", "material fraco, parece de brinquedo",
        "{O} {item} não é nada do que eu esperava", "bem diferente da descrição do anúncio",
        "acabamento [péssimo|horrível|ruim]", "é muito menor do que parece nas fotos", "não vale o que paguei",
        "{o} {item} é frágil demais", "depois de uma semana já estava [descascando|soltando]",
        "a cor é bem diferente da foto", "[produto|{o} {item}] de [péssima|baixa] qualidade",
    ),
    "atendimento_ruim": (
        "O vendedor não responde as mensagens", "entrei em contato com a loja e ninguém resolveu",
        "atendimento [péssimo|horrível]", "abri reclamação e até agora sem retorno",
        "falta de respeito com o consumidor", "mandei {n} [emails|mensagens] e nenhuma resposta",
        "o sac só enrola",
    ),
    # Mixed reviews, split by what the reservation is about (so the gold labels can say it).
    "misto_entrega": (
        "O produto é bom, mas a entrega demorou", "gostei, só achei que demorou um pouco pra chegar",
        "[bom|é bom], mas chegou no último dia do prazo",
    ),
    "misto_qualidade": (
        "cumpre o que promete, mas o acabamento podia ser melhor",
        "{o} {item} é bonit{a} mas a qualidade é [mediana|regular]",
        "funciona, mas faz um barulho estranho", "atendeu, mas esperava um pouco mais",
    ),
    "misto_descricao": (
        "[bom|é bom], mas veio sem a caixa original", "é menor do que eu imaginava, mas serve",
        "o produto é bom mas veio faltando o manual", "{o} {item} é [ok|bom], só a cor que é diferente",
    ),
    "misto_ok": ("é ok, nada demais", "razoável", "[pelo preço|para o preço] até que é bom"),
    "elogio": (
        "Produto excelente", "{O} {item} é lind{a}, igualzinh{a} à foto", "superou [minhas|as] expectativas",
        "[ótima|excelente|boa] qualidade", "produto de boa qualidade, bem embalado",
        "{o} {item} é muito bom, uso todo dia", "gostei muito {do} {item}", "material de primeira",
        "exatamente como descrito no anúncio", "minha [filha|esposa|mãe] amou", "meu [marido|filho|pai] adorou",
        "[minha mãe|minha sogra|minha amiga] adorou o presente", "funciona perfeitamente",
        "{o} {item} é maravilhos{a}", "muito bem acabad{a}", "amei {o} {item}", "tudo certinho",
        "veio tudo perfeito", "bem embalado e conforme o anúncio", "[produto|{o} {item}] de ótima qualidade",
    ),
    "rapida": (
        "Chegou antes do prazo", "entrega [super|muito] rápida", "chegou {dias} dias antes do previsto",
        "recebi bem antes da data prevista", "entregaram no prazo certinho", "chegou rapidinho",
        "a entrega foi [muito|super|bem] rápida", "chegou em {dias} dias", "entrega dentro do prazo",
    ),
    "preco_bom": (
        "ótimo custo benefício", "preço justo", "pelo preço vale [muito|super] a pena",
        "mais barato que na loja física", "preço bom e frete barato", "paguei pouco e veio ótimo",
    ),
    "preco_ruim": (
        "achei caro pelo que é", "o frete saiu mais caro que o produto", "pelo preço esperava mais",
        "caro demais pra qualidade",
    ),
    "atendimento_bom": (
        "vendedor atencioso", "a loja me respondeu rápido", "tive um problema e resolveram na hora",
        "[ótimo|excelente] atendimento", "loja confiável", "a lannister sempre entrega direitinho",
    ),
    "contexto": (
        "comprei {o} {item} pra [minha mãe|meu filho|presentear|usar no trabalho|minha casa nova]",
        "é a [segunda|terceira] vez que compro [nessa loja|aqui]", "comprei na promoção",
        "comprei pelo site [na black friday|no fim de semana|de madrugada]",
        "era pra [um presente|o aniversário da minha filha|uso diário]",
    ),
}
# What each theme says, as the extraction schema's labels: (delivery_issue,
# product_quality_issue, customer_service_issue, main topics). True: the clause reports
# the issue; None: a reader could fairly answer either way (not scored); absent: False.
LABELS: dict[str, tuple[bool | None, bool | None, bool | None, tuple[str, ...]]] = {
    "atraso": (True, False, False, ("entrega",)),
    "nao_recebido": (True, False, None, ("entrega",)),
    "cancelado": (None, False, True, ("atendimento", "entrega", "outro")),
    "danificado": (None, True, False, ("qualidade", "embalagem")),
    "errado": (None, None, False, ("entrega", "descricao", "qualidade")),
    "qualidade_ruim": (False, True, False, ("qualidade", "descricao")),
    "atendimento_ruim": (False, False, True, ("atendimento",)),
    "misto_entrega": (True, False, False, ("entrega",)),
    "misto_qualidade": (False, True, False, ("qualidade",)),
    "misto_descricao": (False, None, False, ("descricao", "embalagem", "qualidade")),
    "misto_ok": (False, False, False, ("qualidade", "preco", "outro")),
    "elogio": (False, False, False, ("qualidade",)),
    "rapida": (False, False, False, ("entrega",)),
    "preco_bom": (False, False, False, ("preco",)),
    "preco_ruim": (False, False, False, ("preco",)),
    "atendimento_bom": (False, False, False, ("atendimento",)),
}
FLAG_NAMES = ("delivery_issue", "product_quality_issue", "customer_service_issue")


def gold_labels(themes: list[str], score: int) -> dict:
    """The extraction labels a comment composed from `themes` has, for a `score`-star
    review: each issue flag true if a theme reports it, open (None) if a theme leaves it
    to the reader, else false; the first theme's topics as the main topic, the other
    themes' as side topics; recommendation and sentiment from the stars (3 stars: open)."""
    told = [t for t in themes if t in LABELS]
    flags = {}
    for i, name in enumerate(FLAG_NAMES):
        values = [LABELS[t][i] for t in told]
        flags[name] = True if True in values else None if None in values else False
    main = list(LABELS[told[0]][3]) if told else ["outro"]
    side = sorted({topic for t in told[1:] for topic in LABELS[t][3]} - set(main))
    return {
        "sentiment": "negativo" if score <= 2 else "neutro" if score == 3 else "positivo",
        **flags,
        "would_recommend": None if score == 3 else score >= 4,
        "main_topic": main,
        "other_topics": side,
        "themes": themes,
    }


OPENERS = ("Bom dia.", "Boa tarde,", "Olá,", "Pessoal,", "Então,", "Bem,", "Sinceramente,", "Gente,")
CLOSERS_POS = (
    "Recomendo!", "Recomendo a loja", "Compraria novamente", "Super recomendo", "Voltarei a comprar",
    "Nota 10", "Obrigada!", "Parabéns à loja", "Satisfeita", "Satisfeito com a compra", "Amei",
    "Estou muito satisfeito", "Vou comprar mais vezes",
)
CLOSERS_MID = ("Poderia ser melhor", "Esperava mais", "Mais ou menos", "Dá pro gasto", "Regular")
CLOSERS_NEG = (
    "Não recomendo", "Nunca mais compro nessa loja", "Decepcionada", "Péssima experiência",
    "Quero uma solução", "Aguardo retorno", "Lamentável", "Não comprem", "Estou muito chateado",
)
TITLES = {
    1: ("Não recebi", "Péssimo", "Produto com defeito", "Não recomendo", "Decepção", "Atraso"),
    2: ("Ruim", "Atraso na entrega", "Veio errado", "Não gostei"),
    3: ("Regular", "Mais ou menos", "Razoável", "Ok"),
    4: ("Bom", "Gostei", "Recomendo", "Muito bom"),
    5: ("Ótimo", "Excelente", "Super recomendo", "Recomendo", "Perfeito", "Nota 10"),
}
ABBREVIATIONS = (
    ("você", "vc"), ("porque", "pq"), ("muito", "mto"), ("também", "tbm"), ("que", "q"),
    ("para", "pra"), ("está", "ta"), ("mesmo", "msm"), ("não", "n"), ("beleza", "blz"),
)


@dataclass(frozen=True)
class OrderFacts:
    """What the customer went through, so the comment agrees with the order."""

    score: int
    status: str  # orders.order_status
    days_late: int  # > 0: delivered after the estimate; < 0: early
    noun: str  # "a toalha" (article + noun)


MIXED = ("misto_entrega", "misto_qualidade", "misto_descricao", "misto_ok")


def pick_themes(rng: random.Random, f: OrderFacts) -> list[str]:
    """One to three themes consistent with the score and the delivery."""
    if f.status == "canceled":
        return ["cancelado"] + (["atendimento_ruim"] if rng.random() < 0.3 else [])
    if f.status != "delivered":
        return ["nao_recebido"] + (["atendimento_ruim"] if rng.random() < 0.3 else [])
    if f.score <= 2:
        pool = ["danificado", "errado", "qualidade_ruim", "atendimento_ruim", "preco_ruim"]
        first = "atraso" if f.days_late > 0 and rng.random() < 0.8 else rng.choice(pool[:3])
        extra = [t for t in pool if t != first]
        return [first] + rng.sample(extra, k=rng.choice((0, 0, 1, 1, 2)))
    if f.score == 3:
        first = "atraso" if f.days_late > 0 and rng.random() < 0.6 else rng.choice(MIXED)
        return [first] + rng.sample(["qualidade_ruim", "preco_ruim", "elogio", "rapida"], k=rng.choice((0, 1, 1)))
    pool = ["elogio", "preco_bom", "atendimento_bom"] + (["rapida"] if f.days_late <= 0 else [])
    k = rng.choice((1, 1, 2, 2, 3))
    themes = rng.sample(pool, k=min(k, len(pool)))
    if f.score == 4 and rng.random() < 0.25:
        themes.append(rng.choice(MIXED))
    return themes


def _alternatives(rng: random.Random, clause: str) -> str:
    """Expand every "[a|b|c]" into one of its options."""
    while "[" in clause:
        i = clause.index("[")
        j = clause.index("]", i)
        clause = clause[:i] + rng.choice(clause[i + 1 : j].split("|")) + clause[j + 1 :]
    return " ".join(clause.split())


def _fill(rng: random.Random, clause: str, f: OrderFacts) -> str:
    clause = _alternatives(rng, clause)
    article, _, item = f.noun.partition(" ")
    fem = article == "a"
    days = abs(f.days_late) if f.days_late else rng.randint(2, 12)
    return clause.format(
        O=article.upper(), o=article, item=item, a="a" if fem else "o", um="uma" if fem else "um",
        do="da" if fem else "do", dias=days, semanas=max(2, days // 7 + 1),
        data=f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}", n=rng.randint(2, 4),
    )


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:  # swapped neighbours
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind < 0.7:  # a letter dropped
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]  # a letter doubled


def add_slips(rng: random.Random, text: str) -> str:
    """The way people type on a phone: each slip independent, most comments get some."""
    if rng.random() < 0.35:
        text = _strip_accents(text)
    elif rng.random() < 0.3:
        text = " ".join(_strip_accents(w) if rng.random() < 0.5 else w for w in text.split(" "))
    if rng.random() < 0.3:
        words = text.split(" ")
        for full, short in ABBREVIATIONS:
            if rng.random() < 0.5:
                words = [short if w.lower() == full else w for w in words]
        text = " ".join(words)
    if rng.random() < 0.3:
        text = " ".join(_typo(rng, w) if rng.random() < 0.12 else w for w in text.split(" "))
    r = rng.random()
    if r < 0.25:
        text = text.lower()
    elif r < 0.28:
        text = text.upper()
    if rng.random() < 0.15:
        text = text.replace(",", "")
    return text


def compose(rng: random.Random, f: OrderFacts) -> tuple[str, list[str]]:
    """One review comment for an order, and the themes it was composed from (the review's
    gold labels: `gold_labels(themes, score)`)."""
    themes = pick_themes(rng, f)
    told = list(themes)
    if rng.random() < 0.15:
        themes.insert(0, "contexto")
    clauses = [_fill(rng, rng.choice(THEMES[t]), f) for t in themes]
    parts = []
    if rng.random() < 0.12:
        parts.append(rng.choice(OPENERS))
    joiner = rng.choice((". ", ", ", " e ", ". ", "! ")) if len(clauses) > 1 else ""
    # A comma or "e" continues the sentence (lower case); a full stop starts a new one.
    cont = joiner in (", ", " e ")
    body = joiner.join(c if i == 0 else (c[:1].lower() if cont else c[:1].upper()) + c[1:]
                       for i, c in enumerate(clauses))
    parts.append(body[:1].upper() + body[1:] if not parts else body[:1].lower() + body[1:])
    closer_p = 0.35 if f.score != 3 else 0.1
    if rng.random() < closer_p:
        end = "." if rng.random() < 0.6 else "!"
        parts[-1] += end
        parts.append(rng.choice(CLOSERS_POS if f.score >= 4 else CLOSERS_MID if f.score == 3 else CLOSERS_NEG))
    text = " ".join(parts)
    r = rng.random()
    if r < 0.45:
        text += "."
    elif r < 0.55:
        text += "!!" if f.score in (1, 5) else "..."
    return add_slips(rng, text), told


def title(rng: random.Random, score: int) -> str:
    return add_slips(rng, rng.choice(TITLES[score]))


def duplicate_share(texts: list[str]) -> dict:
    """How often a comment repeats verbatim: the share of comments whose exact text
    appears more than once, the share of the most common text, and the top repeats."""
    texts = [t for t in texts if t]
    counts = Counter(texts)
    repeated = sum(n for n in counts.values() if n > 1)
    top = counts.most_common(5)
    n = len(texts) or 1
    return {
        "comments": len(texts),
        "distinct": len(counts),
        "repeated_share": repeated / n,
        "top_share": (top[0][1] / n) if top else 0.0,
        "top": [[t, c] for t, c in top],
    }
