"""The push reward: a push notification of at most 120 characters, in Portuguese, that does
what its campaign brief asks.

Components (positive weights sum to 1):
- length 0.20: characters are Unicode code points of the NFC-normalised text without
  surrounding whitespace and quotes; <= max_chars (meta, default 120) earns it all, above
  it decays as 0.20 * exp(-(n - max_chars) / 16) and is 0 past the hard limit (200). It
  pays in proportion to real content first: five distinct content words (not stopwords,
  3+ letters) earn all of it, "de do da ç 1" almost nothing.
- portuguese 0.15: common Portuguese words (two thirds, full at 3) and accents (a third).
- brief 0.45: fidelity to the brief (meta `brief`: occasion, product, category, offer,
  audience, tone): the product or its category named (45%), the offer's terms restated
  (45%: its figures, coupon code, "frete grátis", "sem juros", ...), the occasion named
  (10%). A brief without an offer moves that share to the product.
- creativity 0.20: 0.10 * novelty (1 - the largest Jaccard similarity with 12 generic
  templates) + 0.10 * a concrete hook (a figure of the brief, one to three emoji, or a
  question).
- cap (penalty): a push over `max_chars` is cut on the phone, so the whole total is capped
  at 0.30 + 0.70 * the length fraction (0.96 at 121 characters, 0.50 at 140, 0.30 from the
  hard limit on). The total is also capped when the push names nothing of the brief (0.30),
  stops mid-sentence (on "de", "com", or a word of the brief cut short: 0.30),
  states a number the brief does not have ("70% off" for a 15% offer, "só 3 pares": 0.30),
  names another occasion (0.30), is written as a letter (prezado, estimado, comunicamos,
  att: 0.30), shouts (capitals, emoji or "!!!" spam: 0.30), repeats itself (0.30), is a
  keyword list (0.30), copies the prompt (0.20), leaves placeholders ({nome}: 0.20) or is
  in English (0.20).

Without a brief (a row that lost its fields) the brief component is not scored and the
note says so; the other components share its weight.

`make_push_reward(length_penalty=False)` plants the recipe's historical bug in a copy:
the length component is always full, whatever the length.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rewards import figures
from rewards.lexicon import (
    FORMAL_MARKERS,
    FORMAL_MARKERS_MORE,
    GENERIC_PUSH_TEMPLATES,
    OCCASION_NAMES,
    PORTUGUESE_WORDS,
    PT_FUNCTION_WORDS,
    STOPWORDS,
    fold,
    tokens,
    words,
)
from rewards.recipe.push import length_score, push_text, validate_max_chars
from rewards.text import (
    content_words,
    language,
    ngrams,
    placeholders,
    prefixes,
    shouting,
    stops_mid_word,
)
from rewards.types import Reward, RewardBreakdown, capped, weighted

WEIGHTS = {"length": 0.20, "portuguese": 0.15, "brief": 0.45, "creativity": 0.20, "cap": -1.0}
COMPONENTS = tuple(WEIGHTS)
CAPS = {"off_brief": 0.30, "invented": 0.30, "occasion": 0.30, "formal": 0.30, "shouting": 0.30,
        "repeats": 0.30, "salad": 0.30, "cut": 0.30, "copy": 0.20, "placeholder": 0.20, "english": 0.20}
MIN_CONTENT_WORDS = 5
_MAX_PUSH_SCAN = 4000
_TEMPLATE_WORDS = tuple(frozenset(w for w in words(t) if w not in STOPWORDS) for t in GENERIC_PUSH_TEMPLATES)
_TEMPLATE_INDEX = {w: [i for i, t in enumerate(_TEMPLATE_WORDS) if w in t] for w in frozenset().union(*_TEMPLATE_WORDS)}
# The markers as one alternation over the folded words (b" word word "): one C search.
_FORMAL = re.compile(b" (?:" + b"|".join(re.escape(b" ".join(words(m))) for m in FORMAL_MARKERS + FORMAL_MARKERS_MORE)
                     + b") ")
_OCCASION_RE = re.compile(b" (" + b"|".join(re.escape(b" ".join(words(n))) for n in OCCASION_NAMES) + b")(?= )")
_OCCASION_OF = {b" ".join(words(n)): n for n in OCCASION_NAMES}
_ACCENT = re.compile("[áàâãéêíóôõúüçÁÀÂÃÉÊÍÓÔÕÚÜÇ]")
_EMOJI = re.compile("[\u2600-\u27bf\U0001f000-\U0001faff]")
# Offer words worth restating, folded: a push for "frete grátis acima de R$ 150" says "frete grátis".
_OFFER_TERMS = (b"frete gratis", b"sem juros", b"brinde", b"segunda unidade", b"cupom", b"desconto", b"off")
_CODE = re.compile(r"\b[A-Z][A-Z0-9]{3,}\b")


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


@lru_cache(maxsize=4096)
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
    return BriefFacts(
        given=bool(brief),
        allowed=figures.Source(v for f in figures.figures(text) for v, _ in f.readings),
        product_keys=frozenset(w[:5] for w in content_words(brief.get("product", "") + " " + brief.get("category", ""))),
        occasion_keys=frozenset(w[:5] for w in words(occasion) if len(w) >= 4 and w not in STOPWORDS),
        offer=tuple(terms),
        own_occasions=frozenset(o for o in (fold(brief.get("occasion_label", "")),
                                            fold(brief.get("occasion", "").replace("_", " "))) if o),
        brief_text=fold(text),
        cut_forms=prefixes(frozenset(words(text + " " + prompt)) | PORTUGUESE_WORDS | PT_FUNCTION_WORDS),
        expected=expected,
        prompt_grams=prompt_grams,
        prompt_tokens=frozenset(tokens(prompt)),
        copyable=prompt_grams - expected,
    )


def brief_facts(brief: dict | None, prompt: str | None = None) -> BriefFacts:
    """The cached BriefFacts of a brief (validated) and the prompt's text."""
    return _facts(tuple(sorted((brief or {}).items())), prompt or "")


_CHECKED: dict[tuple, tuple[bool, bool, BriefFacts]] = {}


def _brief_of(raw: Any, prompt: str | None) -> tuple[bool, bool, BriefFacts]:
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
    if len(facts.prompt_tokens.intersection(push_tokens)) < 0.5 * len(set(push_tokens)):
        return False  # too few of the prompt's words for half its triples to be the prompt's
    grams = list(zip(push_tokens, push_tokens[1:], push_tokens[2:], strict=False))  # the triples, in C
    copied = len(list(filter(facts.copyable.__contains__, grams)))
    return copied >= 4 and copied >= 0.5 * len(grams)


def _similarity(content_set: frozenset[bytes]) -> float:
    """The largest Jaccard similarity with a generic template (0 with those sharing no word)."""
    near = {i for w in content_set.intersection(_TEMPLATE_INDEX) for i in _TEMPLATE_INDEX[w]}
    return max((len(content_set & _TEMPLATE_WORDS[i]) / len(content_set | _TEMPLATE_WORDS[i]) for i in sorted(near)),
               default=0.0)


def _fidelity(keys: set[bytes], folded: bytes, toks: list[bytes], found: list, facts: BriefFacts,
              notes: list[str], caps: list) -> float:
    product = bool(keys & facts.product_keys)
    terms = []
    for label, kind, what in facts.offer:
        if kind == "figure":
            ok = any(what.has(g) for g in found)
        elif kind == "code":
            ok = what in toks
        else:
            ok = what in folded
        terms.append((label, ok))
    offer_share = sum(ok for _, ok in terms) / len(terms) if terms else None
    occasion = bool(keys & facts.occasion_keys)
    if not product:
        notes.append("brief: names neither the product nor its category")
    if offer_share is not None and offer_share < 1:
        notes.append(f"brief: the offer's {', '.join(t for t, ok in terms if not ok)} not restated")
    if not occasion:
        notes.append("brief: does not name the occasion")
    if not product and not offer_share:
        caps.append(("off_brief", "names nothing of the brief (product, category or offer)"))
    if offer_share is None:
        return 0.8 * product + 0.2 * occasion
    return 0.45 * product + 0.45 * offer_share + 0.10 * occasion


def _caps(push: str, toks: list[bytes], tk: list[bytes], folded: bytes, found: list, facts: BriefFacts,
          caps: list) -> None:
    if _FORMAL.search(folded):
        caps.append(("formal", "formal-letter register"))
    pt, en = language(toks)
    if en >= 2 and en >= pt:
        caps.append(("english", f"English ({en} English and {pt} Portuguese function words)"))
    if len(toks) >= 7 and pt / len(toks) < 0.1:
        caps.append(("salad", "a list of keywords, not a sentence"))
    marks = placeholders(push)
    if marks:
        caps.append(("placeholder", f"placeholder {marks[0]!r}"))
    why = shouting(push)
    if why:
        caps.append(("shouting", f"shouting: {why}"))
    long_words = [w for w in toks if len(w) >= 4 and w not in STOPWORDS]
    if len(long_words) - len(set(long_words)) >= 2:  # a word said three times repeats two
        counts = Counter(long_words)
        if counts.most_common(1)[0][1] >= 3:
            caps.append(("repeats", f"repeats {counts.most_common(1)[0][0].decode()!r}"))
    if facts.given:
        invented = [f.text for f in found if not facts.allowed.has(f)]
        if invented:
            caps.append(("invented", f"number(s) not in the brief: {', '.join(invented[:3])}"))
        named = other_occasions(folded, facts)
        if named:
            caps.append(("occasion", f"names another occasion ({named[0]})"))
    if cut_short(push, facts):
        caps.append(("cut", "stops mid-sentence"))
    if copies_prompt(tk, facts):
        caps.append(("copy", "copies the prompt"))


def make_push_reward(
    *, max_chars: int = 120, hard_limit: int = 200, length_penalty: bool = True, name: str = "push"
) -> Reward:
    """The push reward; meta `max_chars` overrides `max_chars` per prompt."""
    max_chars = validate_max_chars(max_chars)
    if hard_limit < max_chars:
        raise ValueError("hard_limit must be >= max_chars")
    params = {"max_chars": max_chars, "hard_limit": int(hard_limit), "length_penalty": bool(length_penalty)}

    def fn(text: str, meta: dict[str, Any]) -> RewardBreakdown:
        notes: list[str] = []
        caps: list[tuple[str, str]] = []
        length_cap = 1.0
        limit = validate_max_chars(meta["max_chars"]) if "max_chars" in meta else max_chars
        prompt = meta.get("prompt_text")
        missing, given, facts = _brief_of(meta.get("brief"), prompt if isinstance(prompt, str) else None)
        hard = max(hard_limit, limit + (hard_limit - max_chars))
        push = push_text(text)
        n = len(push)
        scan = push[:_MAX_PUSH_SCAN]
        toks = words(scan)
        tk = tokens(scan)
        folded = b" " + b" ".join(toks) + b" "
        content_set = frozenset(toks).difference(STOPWORDS)
        content = {w for w in content_set if len(w) > 2}
        found = figures.figures(scan)

        fraction = length_score(n, limit, hard) if length_penalty else 1.0
        if length_penalty and n > limit:
            notes.append(f"length: {n} characters, limit {limit}" + (" (over the hard limit)" if n > hard else ""))
            # A notification past its limit is cut on the phone: the whole push pays for it,
            # steeply (0.96 at 121 characters, 0.50 at 140, 0.30 from 200 on).
            caps.append(("length", f"{n} characters, over the limit of {limit}"))
            length_cap = 0.3 + 0.7 * fraction
        if len(content) < MIN_CONTENT_WORDS:
            notes.append(f"length: {len(content)} content word(s), {MIN_CONTENT_WORDS} before length pays in full")
        parts: dict[str, float | None] = {"length": 0.0 if n == 0 else fraction * min(1.0, len(content) / MIN_CONTENT_WORDS)}

        common = PORTUGUESE_WORDS.intersection(toks)
        accents = _ACCENT.search(scan) is not None
        parts["portuguese"] = (2 / 3) * min(len(common), 3) / 3 + (1 / 3 if accents else 0.0)
        if len(common) < 3:
            notes.append(f"portuguese: {len(common)} common Portuguese word(s), 3 expected")

        parts["brief"] = _fidelity({w[:5] for w in content}, folded, tk, found, facts, notes, caps) if given else None
        if missing:
            notes.append("brief: no campaign brief given: fidelity not scored")

        similarity = _similarity(content_set) if content_set else 1.0
        hook = any(facts.allowed.has(f) for f in found) or 1 <= len(_EMOJI.findall(scan)) <= 3 or "?" in scan
        parts["creativity"] = 0.5 * (1.0 - similarity) + 0.5 * hook
        if similarity >= 0.5:
            notes.append(f"creativity: close to a generic template (similarity {similarity:.2f})")
        if not hook:
            notes.append("creativity: no concrete hook (a figure of the brief, an emoji or a question)")
        if n:
            _caps(scan, toks, tk, folded, found, facts, caps)

        components = weighted(parts, WEIGHTS)
        limits = [(length_cap if kind == "length" else CAPS[kind], f"cap: {why}") for kind, why in caps]
        if n == 0:
            notes.append("length: empty push")
            limits.append((0.0, "cap: empty push"))
        return capped(components, limits, notes)

    return Reward(
        name=name,
        task="push",
        components=COMPONENTS,
        weights=dict(WEIGHTS),
        params=params,
        meta_keys=("max_chars", "brief", "prompt_text"),
        source_modules=(__name__, "rewards.recipe.push", "rewards.figures", "rewards.lexicon", "rewards.text",
                        "rewards.types"),
        fn=fn,
    )
