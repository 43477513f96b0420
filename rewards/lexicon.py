"""Portuguese word lists the rewards count, and the one tokeniser they all share.

Matching is accent- and case-insensitive. For speed (rewards score tens of thousands of
completions a second) text is folded in C: encoded to Latin-1 (characters outside it,
such as emoji, are dropped), then one `bytes.translate` lower-cases letters, strips
Portuguese accents and turns everything that is not a letter into a space, so
`split()` yields the words. Word lists hold *stems* (without accents); a word matches a
stem when it starts with it, so "recomendamos", "recomendação" and "recomenda" all
count as "recomend".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from itertools import product

_ACCENTED = "áàâãäéèêëíìîïóòôõöúùûüçñÁÀÂÃÄÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑ"
_PLAIN = "aaaaaeeeeiiiiooooouuuucnAAAAAEEEEIIIIOOOOOUUUUCN"


def _letters_table(*, digits: bool = False) -> bytes:
    table = bytearray(b" " * 256)
    for c in range(ord("a"), ord("z") + 1):
        table[c] = c
        table[c - 32] = c
    if digits:
        for c in range(ord("0"), ord("9") + 1):
            table[c] = c
    for accented, plain in zip(_ACCENTED, _PLAIN, strict=True):
        table[accented.encode("latin-1")[0]] = ord(plain.lower())
    return bytes(table)


_LETTERS = _letters_table()
_TOKENS = _letters_table(digits=True)


def tokens_table() -> bytes:
    """The translation table of `tokens` (for callers that fold differently shaped text)."""
    return _TOKENS


def letters_table() -> bytes:
    """The translation table of `words`: `text.encode("latin-1", "ignore").translate(it)`
    is the text with every character that is not a letter a space (`fold_words`)."""
    return _LETTERS


def fold(text: str) -> str:
    """Lower-case ASCII: accents stripped (NFKD), other non-ASCII characters dropped;
    punctuation and digits kept. For short strings (enum values, prompts, markers)."""
    return _fold_short(text) if len(text) <= 64 else _fold(text)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode("ascii")


# Labels (sentiment, topic, enum values) come back with every answer: folded once each.
_fold_short = lru_cache(maxsize=4096)(_fold)


def fold_words(text: str) -> bytes:
    """Lower-case ASCII letters of `text`, accents stripped, every other character a space."""
    return text.encode("latin-1", "ignore").translate(_LETTERS)


def words(text: str) -> list[bytes]:
    """The words of `text` (runs of letters, folded): what every length-in-words and word
    match uses. Digits, punctuation, markdown symbols and emoji are not words."""
    return text.encode("latin-1", "ignore").translate(_LETTERS).split()


def tokens(text: str) -> list[bytes]:
    """Folded words and digit runs: `words()` that keeps figures ("15% off em 10x" ->
    15, off, em, 10x), for checks where a copied figure is a copied word."""
    return text.encode("latin-1", "ignore").translate(_TOKENS).split()


# Every word of one or two letters (words are a-z once folded): what a content word is not.
SHORT_WORDS = frozenset(bytes(w) for n in (1, 2) for w in product(range(ord("a"), ord("z") + 1), repeat=n))


def wordset(*items: str) -> frozenset[bytes]:
    """Folded words as a set, for matching against `words()`."""
    return frozenset(w for item in items for w in words(item))


class StemLexicon:
    """A set of stems matched by prefix against a set of words.

    Matching is set algebra in C: every word ever seen is classified once (memo), then
    `words & hits` finds the matching ones. The memo is dropped when it grows past
    `_MAX_MEMO` words, so it cannot grow without bound.
    """

    _MAX_MEMO = 500_000

    def __init__(self, stems: Iterable[str]):
        self.stems = tuple(sorted({fold(s) for s in stems}))
        short = [s for s in self.stems if len(s) < 4]
        if short:
            raise ValueError(f"stems must have at least 4 letters: {short}")
        self._index: dict[bytes, tuple[bytes, ...]] = {}
        for s in self.stems:
            b = s.encode("ascii")
            self._index[b[:4]] = (*self._index.get(b[:4], ()), b)
        self._seen: set[bytes] = set()
        self._hits: set[bytes] = set()
        self._stem_of: dict[bytes, str] = {}

    def __len__(self) -> int:
        return len(self.stems)

    def _classify(self, new: set[bytes]) -> None:
        if len(self._seen) > self._MAX_MEMO:
            self._seen.clear()
            self._hits.clear()
            self._stem_of.clear()
        for tok in new:
            for s in self._index.get(tok[:4], ()):
                if tok.startswith(s):
                    self._hits.add(tok)
                    self._stem_of[tok] = s.decode("ascii")
                    break
        self._seen |= new

    def stem_of(self, word: bytes) -> str | None:
        """The stem `word` starts with (the first in sorted order), or None."""
        for s in self._index.get(word[:4], ()):
            if word.startswith(s):
                return s.decode("ascii")
        return None

    def matches(self, tokens: Iterable[bytes]) -> set[str]:
        """The stems that at least one of `tokens` (from `words()`) starts with."""
        tokens = tokens if isinstance(tokens, set | frozenset) else set(tokens)
        if not self._seen.issuperset(tokens):  # most calls bring no new word
            self._classify(tokens - self._seen)
        stem_of = self._stem_of
        return {stem_of[t] for t in self._hits.intersection(tokens)}


# insights (the recipe's list, kept for `insights_recipe`): recomend-, melhor-, priorizar, ...
ACTION_STEMS = StemLexicon([
    "recomend", "sugir", "suger", "melhor", "prioriz", "implement", "otimiz", "aument", "reduz",
    "invest", "focar", "foque", "criar", "crie", "lanc", "ampli", "revis", "monitor", "ajust",
    "expand", "fortalec", "personaliz", "negoci", "trein", "adot", "acompanh", "testar", "teste",
    "segment", "automatiz", "oferec", "renegoci", "diversific", "acelerar", "corrig", "aprimor",
    "estabelec", "defin", "intensific", "direcion", "concentr", "incentiv",
])

# insights (grounded): verbs that recommend. Not "melhor-" (the adjective "melhor" describes),
# "aument-" (the noun "aumento" reports) nor "lanc-" ("lancamento" is a noun); their verbs
# ("melhorar", "aumentar", "lancar") are listed whole.
RECOMMEND_STEMS = StemLexicon([
    "recomend", "sugir", "suger", "prioriz", "implement", "otimiz", "reduzir", "reduza", "investir",
    "invista", "focar", "foque", "criar", "crie", "ampliar", "amplie", "revis", "rever", "reveja",
    "monitor", "ajust", "expandir", "fortalec", "personaliz", "negoci", "trein", "adot", "acompanh",
    "testar", "teste", "segment", "automatiz", "oferecer", "ofereca", "renegoci", "diversific",
    "acelerar", "corrig", "aprimor", "estabelec", "definir", "defina", "intensific", "direcion",
    "concentr", "incentiv", "deve", "medir", "mensur", "melhorar", "melhore",
    "aumentar", "aumente", "lancar", "comecar", "comece", "reforc", "evitar", "evite", "garantir",
    "garanta", "usar", "utiliz", "criem", "manter", "mantenha", "cortar", "corte",
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
SQL_KEYWORDS = wordset(*{
    "select", "from", "where", "join", "group", "order", "having", "limit", "count", "sum", "avg",
    "min", "max", "distinct", "with", "case", "union", "inner", "left", "between", "like",
})

# push "Portuguese markers": common Portuguese words (folded) of marketing copy.
PORTUGUESE_WORDS = wordset(*{
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
# The grounded push reward also knows the register the recipe's list missed ("Estimado
# cliente, comunicamos que ... Att.").
FORMAL_MARKERS_MORE: tuple[str, ...] = (
    "estimado", "estimada", "estimados", "estimadas", "comunicamos", "informamos", "att", "atte",
    "vimos informar", "solicitamos", "gostariamos de informar", "temos o prazer", "agradecemos a preferencia",
    "desde ja agradecemos", "caro cliente", "cara cliente", "senhor cliente", "conforme solicitado",
)

# Named occasions: a push for one must not name another (a Christmas push in a Black
# Friday campaign). Folded phrases; the brief's own words never count as "another".
OCCASION_NAMES: tuple[str, ...] = (
    "black friday", "cyber monday", "dia das maes", "dia dos pais", "natal", "ano novo", "pascoa",
    "dia dos namorados", "dia das criancas", "carnaval", "volta as aulas", "aniversario da loja",
    "dia do consumidor", "festa junina",
)

# Function words: what makes running text Portuguese, or English. A keyword list has few of
# either; an English answer has many of the second. Words spelled the same in both
# languages ("a", "no", "do", "off") are in neither.
PT_FUNCTION_WORDS = wordset(*{
    "de", "da", "do", "das", "dos", "que", "e", "o", "os", "as", "um", "uma", "uns", "umas", "para", "pra",
    "com", "nao", "em", "na", "nos", "nas", "por", "pelo", "pela", "pelos", "pelas", "mais", "se", "seu",
    "sua", "seus", "suas", "voce", "voces", "ao", "aos", "como", "mas", "foi", "sao", "esta", "estao",
    "isso", "esse", "essa", "este", "ou", "ja", "tambem", "so", "muito", "quando", "onde", "entre",
    "sem", "sobre", "ate", "nosso", "nossa", "nossos", "nossas", "eles", "elas", "ele", "ela", "ter",
    "tem", "temos", "ser", "pode", "podem", "cada", "qual", "quais", "porque", "ainda", "aqui", "hoje",
    "agora", "todo", "toda", "todos", "todas", "menos", "apenas", "num", "numa", "dessa", "desse", "neste",
    "nesta", "nesse", "nessa", "seja", "sejam", "vai", "vao", "aquele", "aquela", "lhe", "te",
})
EN_FUNCTION_WORDS = wordset(*{
    "the", "and", "of", "to", "in", "is", "for", "with", "your", "you", "our", "this", "that", "are",
    "it", "be", "by", "at", "from", "we", "was", "were", "will", "get", "now", "all", "only", "today",
    "which", "these", "their", "there", "has", "have", "been", "more", "than", "should", "would", "can",
    "its", "into", "about", "what", "when", "while", "they", "them", "those", "an", "or", "not", "per",
    "each", "also", "over", "under", "between", "shows", "show", "query", "result", "results", "returns",
    "free", "shipping", "order", "orders", "customers", "customer", "sales", "revenue", "delivery",
    "recommend", "increase", "reduce", "improve", "rate", "average", "products", "product",
    "just", "don", "miss", "deal", "deals", "shop", "buy", "here", "rating", "delivered", "late",
})

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
STOPWORDS = wordset(*{
    "a", "o", "as", "os", "e", "de", "do", "da", "dos", "das", "em", "no", "na", "nos", "nas",
    "um", "uma", "para", "pra", "com", "por", "que", "se", "so", "ja", "ao", "aos", "seu",
    "sua", "seus", "suas", "voce", "te", "mais", "nao", "essa", "esse", "isso", "aqui", "ate",
})
