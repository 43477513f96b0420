"""A push's campaign brief, read once per brief and prompt, and the checks of a push against
it that the reward (rewards.push) and the exploit detector (rewards.exploits) share.

`brief_of(meta_brief, prompt)` validates the meta's `brief` (an object of text fields) and
returns its `BriefFacts`: the brief's figures, the product's and occasion's key words, the
offer's terms (figures, a coupon code, "frete grátis", ...), the occasions it names, the
prompt's word triples. A GRPO group of completions shares one prompt, so the facts are
worked out once per group (cached on the brief's fields and the prompt's text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rewards import figures
from rewards.lexicon import (
    OCCASION_NAMES,
    PORTUGUESE_WORDS,
    PT_FUNCTION_WORDS,
    STOPWORDS,
    fold,
    tokens,
    words,
)
from rewards.prompt_cache import prompt_cache, register
from rewards.text import content_words, ngrams, proper_prefixes, stops_mid_word

_OCCASION_RE = re.compile(b" (" + b"|".join(re.escape(b" ".join(words(n))) for n in OCCASION_NAMES) + b")(?= )")
_OCCASION_OF = {b" ".join(words(n)): n for n in OCCASION_NAMES}
# A named occasion starts with one of these words (folded): a push without any names none.
OCCASION_FIRST_WORDS = frozenset(words(n)[0] for n in OCCASION_NAMES)
# Offer words worth restating, folded: a push for "frete grátis acima de R$ 150" says "frete grátis".
_OFFER_TERMS = (b"frete gratis", b"sem juros", b"brinde", b"segunda unidade", b"cupom", b"desconto", b"off")
_CODE = re.compile(r"\b[A-Z][A-Z0-9]{3,}\b")
# Words any push may use, and their prefixes (text.prefixes of a brief's vocabulary is those of
# its own words and these, less the words themselves: the common part is worked out once).
_COMMON = PORTUGUESE_WORDS | PT_FUNCTION_WORDS
_COMMON_PREFIXES = proper_prefixes(_COMMON)


def validate_brief(brief: Any) -> dict | None:
    """The `brief` meta value: an object of text fields; ValueError otherwise."""
    if brief is None:
        return None
    if not isinstance(brief, dict):
        raise ValueError(f"brief must be an object (occasion, product, offer, ...), got {type(brief).__name__}")
    bad = [k for k, v in brief.items() if v is not None and not isinstance(v, str | int | float)]
    if bad:
        raise ValueError(f"brief field(s) {', '.join(bad)} must be text")
    return {k: str(v) for k, v in brief.items() if v is not None}


def _phrase(text: str) -> bytes:
    return b" " + b" ".join(words(text)) + b" "


@dataclass(frozen=True)
class BriefFacts:
    """What a push is checked against, worked out once per brief and prompt (GRPO scores
    a group of completions of the same prompt; the exploit bench and the monitor too)."""

    given: bool
    allowed: figures.Source  # every figure of the brief
    product_keys: frozenset[bytes]  # five-letter prefixes of the product's and category's words
    occasion_keys: frozenset[bytes]
    offer: tuple[tuple[str, str, object], ...]  # (label, kind, what): the offer's terms
    own_occasions: frozenset[str]
    brief_text: str  # folded
    cut_forms: frozenset[bytes]  # the brief's and prompt's words cut short
    expected: frozenset  # word triples a faithful push restates
    prompt_grams: frozenset
    prompt_tokens: frozenset[bytes]
    copyable: frozenset  # the prompt's triples a faithful push does not restate


@prompt_cache()
def _facts(items: tuple, prompt: str) -> BriefFacts:
    brief = dict(items)
    text = " ".join(brief.values())
    offer = brief.get("offer", "")
    terms: list[tuple[str, str, object]] = [(f.text, "figure", figures.Source(v for v, _ in f.readings))
                                            for f in figures.figures(offer)]
    terms += [(code, "code", code.lower().encode()) for code in _CODE.findall(offer)]
    folded_offer = _phrase(offer)
    terms += [(t.decode(), "phrase", b" " + t + b" ") for t in _OFFER_TERMS
              if b" " + t + b" " in folded_offer and t not in (b"desconto", b"off", b"cupom")]
    occasion = brief.get("occasion_label") or brief.get("occasion", "").replace("_", " ")
    expected = frozenset(ngrams(tokens(" ".join(brief.get(k, "") for k in ("offer", "product", "category",
                                                                         "occasion_label"))), 3))
    prompt_grams = frozenset(ngrams(tokens(prompt), 3))
    own = frozenset(words(text + " " + prompt))  # with _COMMON, the words a push may be cut from
    return BriefFacts(
        given=bool(brief),
        allowed=figures.Source(v for f in figures.figures(text) for v, _ in f.readings),
        product_keys=frozenset(w[:5] for w in content_words(brief.get("product", "") + " " + brief.get("category", ""))),
        occasion_keys=frozenset(w[:5] for w in words(occasion) if len(w) >= 4 and w not in STOPWORDS),
        offer=tuple(terms),
        own_occasions=frozenset(o for o in (fold(brief.get("occasion_label", "")),
                                            fold(brief.get("occasion", "").replace("_", " "))) if o),
        brief_text=fold(text),
        cut_forms=(proper_prefixes(own - _COMMON) | _COMMON_PREFIXES) - (own | _COMMON),
        expected=expected,
        prompt_grams=prompt_grams,
        prompt_tokens=frozenset(tokens(prompt)),
        copyable=prompt_grams - expected,
    )


def brief_facts(brief: dict | None, prompt: str | None = None) -> BriefFacts:
    """The cached BriefFacts of a brief (validated) and the prompt's text."""
    return _facts(tuple(sorted((brief or {}).items())), prompt or "")


_CHECKED: dict[tuple, tuple[bool, bool, BriefFacts]] = register({})


def brief_of(raw: Any, prompt: str | None) -> tuple[bool, bool, BriefFacts]:
    """(no brief, a brief with fields, its BriefFacts) for the meta's `brief`
    (validate_brief's errors): a brief of text fields, the common case, is validated once
    per brief and prompt."""
    plain = type(raw) is dict and set(map(type, raw.values())) <= {str}  # str(v) is v: exact as a key
    key = (tuple(raw.items()), prompt) if plain else None
    known = _CHECKED.get(key) if plain else None
    if known is None:
        brief = validate_brief(raw)
        known = (brief is None, bool(brief), brief_facts(brief, prompt))
        if plain:
            if len(_CHECKED) >= 4096:
                _CHECKED.clear()
            _CHECKED[key] = known
    return known


def other_occasions(folded: bytes, facts: BriefFacts) -> list[str]:
    """Named occasions in a push (`folded`: b" " + its words + b" ") that are not the brief's
    own (and not a word of the brief, such as the city of Natal)."""
    if not facts.given:
        return []
    named = {_OCCASION_OF[m] for m in _OCCASION_RE.findall(folded)}
    return sorted(name for name in named
                  if not any(name in o or o in name for o in facts.own_occasions) and name not in facts.brief_text)


def cut_short(push: str, facts: BriefFacts) -> bool:
    """The push stops mid-sentence (rewards.text.stops_mid_word, with the brief's and the
    prompt's words as the vocabulary a word may be cut from)."""
    return stops_mid_word(push, facts.cut_forms)


def copies_prompt(push_tokens: list[bytes], facts: BriefFacts) -> bool:
    """Half the push's word triples (four at least) are the prompt's, not counting those a
    faithful push restates (the offer, the product, the category, the occasion)."""
    if len(push_tokens) < 6 or not facts.prompt_grams:
        return False
    unique = set(push_tokens)
    if len(unique & facts.prompt_tokens) < 0.5 * len(unique):
        return False  # too few of the prompt's words for half its triples to be the prompt's
    grams = list(zip(push_tokens, push_tokens[1:], push_tokens[2:], strict=False))  # the triples, in C
    copied = len(list(filter(facts.copyable.__contains__, grams)))
    return copied >= 4 and copied >= 0.5 * len(grams)
