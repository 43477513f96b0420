"""Portuguese word lists the rewards count, and the one tokeniser they all share.

Matching is accent- and case-insensitive: text is lower-cased and stripped of accents
with one `str.translate` (C speed), then split into runs of letters. Word lists hold
*stems* (without accents); a token matches a stem when it starts with it, so
"recomendamos", "recomendação" and "recomenda" all count as "recomend".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_ACCENTED = "áàâãäéèêëíìîïóòôõöúùûüçñÁÀÂÃÄÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑ"
_PLAIN = "aaaaaeeeeiiiiooooouuuucnAAAAAEEEEIIIIOOOOOUUUUCN"
_FOLD = str.maketrans(_ACCENTED, _PLAIN)
ACCENT_CHARS = frozenset("áàâãéêíóôõúüç")

_WORD = re.compile(r"[^\W\d_]+")


def fold(text: str) -> str:
    """Lower-case and strip Portuguese accents."""
    return text.lower().translate(_FOLD)


def words(text: str) -> list[str]:
    """Runs of letters of the folded text: what every length-in-words and word match uses.
    Digits, punctuation, markdown symbols and emoji are not words."""
    return _WORD.findall(fold(text))


class StemLexicon:
    """A set of stems matched by prefix against a set of tokens.

    Stems are indexed by their first four letters, so matching a token costs one dict
    lookup plus a `startswith` on the few stems sharing that prefix.
    """

    def __init__(self, stems: Iterable[str]):
        self.stems = tuple(sorted({fold(s) for s in stems}))
        short = [s for s in self.stems if len(s) < 4]
        if short:
            raise ValueError(f"stems must have at least 4 letters: {short}")
        self._index: dict[str, tuple[str, ...]] = {}
        for s in self.stems:
            self._index[s[:4]] = (*self._index.get(s[:4], ()), s)

    def __len__(self) -> int:
        return len(self.stems)

    def matches(self, tokens: Iterable[str]) -> set[str]:
        """The stems that at least one token starts with."""
        found: set[str] = set()
        index = self._index
        for tok in tokens:
            cands = index.get(tok[:4])
            if cands:
                for s in cands:
                    if tok.startswith(s):
                        found.add(s)
        return found


# insights: words that turn an analysis into advice (recipe: recomend-, melhor-, priorizar, ...).
ACTION_STEMS = StemLexicon([
    "recomend", "sugir", "suger", "melhor", "prioriz", "implement", "otimiz", "aument", "reduz",
    "invest", "focar", "foque", "criar", "crie", "lanc", "ampli", "revis", "monitor", "ajust",
    "expand", "fortalec", "personaliz", "negoci", "trein", "adot", "acompanh", "testar", "teste",
    "segment", "automatiz", "oferec", "renegoci", "diversific", "acelerar", "corrig", "aprimor",
    "estabelec", "defin", "intensific", "direcion", "concentr", "incentiv",
])

# insights and sql_qa: e-commerce domain vocabulary.
DOMAIN_STEMS = StemLexicon([
    "client", "consumidor", "produt", "venda", "vendedor", "pedido", "compra", "entrega", "frete",
    "avaliac", "nota", "categori", "receita", "faturamento", "ticket", "pagament", "boleto",
    "cartao", "parcel", "estoque", "logistic", "transportador", "prazo", "atras", "devoluc",
    "reembols", "loja", "marketplace", "preco", "desconto", "promoc", "fideliz", "recompra",
    "churn", "retenc", "convers", "margem", "lucr", "custo", "regiao", "estado", "cidade",
])

# sql_qa "domain coherence": Portuguese business vocabulary (the recipe asks for >= 30 words).
BUSINESS_STEMS = StemLexicon([
    "client", "consumidor", "produt", "venda", "vendedor", "pedido", "compra", "entrega", "frete",
    "avaliac", "categori", "receita", "faturamento", "ticket", "pagament", "boleto", "cartao",
    "parcel", "estoque", "prazo", "atras", "devoluc", "reembols", "loja", "preco", "desconto",
    "media", "total", "quantidade", "percentual", "porcentagem", "taxa", "valor", "mensal",
    "anual", "trimestr", "crescimento", "queda", "ranking", "maior", "menor", "estado", "cidade",
    "regiao", "periodo", "status", "cancelad", "entregue",
])

# sql_qa "SQL structure": keywords of a query (tokens of the folded text).
SQL_KEYWORDS = frozenset({
    "select", "from", "where", "join", "group", "order", "having", "limit", "count", "sum", "avg",
    "min", "max", "distinct", "with", "case", "union", "inner", "left", "between", "like",
})

# push "Portuguese markers": common Portuguese words (folded) of marketing copy.
PORTUGUESE_WORDS = frozenset({
    "voce", "seu", "sua", "seus", "suas", "para", "pra", "com", "nao", "mais", "hoje", "agora",
    "aproveite", "frete", "gratis", "pedido", "compra", "oferta", "desconto", "ate", "so", "ja",
    "esta", "sao", "que", "de", "do", "da", "dos", "das", "em", "no", "na", "um", "uma", "por",
    "te", "chegou", "confira", "garanta", "volte", "saudade", "carrinho", "esperando", "produto",
    "loja", "novidade", "novidades", "entrega", "cupom", "semana", "dia", "dias", "fim", "voltou",
})

# push "formal register": what an e-mail or a letter says and a push notification never does.
FORMAL_MARKERS: tuple[str, ...] = (
    "prezado", "prezada", "prezados", "prezadas", "atenciosamente", "cordialmente",
    "respeitosamente", "vossa senhoria", "venho por meio", "vimos por meio", "sem mais para o momento",
    "ilustrissimo", "ilustrissima", "servimo-nos", "caro senhor", "cara senhora",
)

# push "creativity": the generic templates a push must not be (folded; compared by content words).
GENERIC_PUSH_TEMPLATES: tuple[str, ...] = (
    "confira nossas ofertas",
    "confira nossas promocoes imperdiveis",
    "nao perca essa oportunidade",
    "aproveite nossas promocoes",
    "clique aqui e confira",
    "temos novidades para voce",
    "oferta imperdivel so hoje",
    "venha conferir nossas ofertas",
    "compre ja e aproveite",
    "aproveite os descontos da loja",
    "sentimos sua falta volte a comprar",
    "ofertas especiais para voce",
)

# Words too common to say anything about a push's content (folded).
STOPWORDS = frozenset({
    "a", "o", "as", "os", "e", "de", "do", "da", "dos", "das", "em", "no", "na", "nos", "nas",
    "um", "uma", "para", "pra", "com", "por", "que", "se", "so", "ja", "ao", "aos", "seu",
    "sua", "seus", "suas", "voce", "te", "mais", "nao", "essa", "esse", "isso", "aqui", "ate",
})
