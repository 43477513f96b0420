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

import operator
import re
from collections import Counter
from itertools import chain
from typing import Any

from rewards import figures
from rewards.lexicon import (
    FORMAL_MARKERS,
    FORMAL_MARKERS_MORE,
    GENERIC_PUSH_TEMPLATES,
    PORTUGUESE_WORDS,
    SHORT_WORDS,
    STOPWORDS,
    letters_table,
    tokens_table,
    words,
)
from rewards.push_brief import (
    OCCASION_FIRST_WORDS,
    BriefFacts,
    brief_of,
    copies_prompt,
    cut_short,
    other_occasions,
)
from rewards.recipe.push import length_score, push_text, validate_max_chars
from rewards.text import language, placeholders, shouting
from rewards.types import Reward, RewardBreakdown, capped, weighted

WEIGHTS = {"length": 0.20, "portuguese": 0.15, "brief": 0.45, "creativity": 0.20, "cap": -1.0}
COMPONENTS = tuple(WEIGHTS)
CAPS = {"off_brief": 0.30, "invented": 0.30, "occasion": 0.30, "formal": 0.30, "shouting": 0.30,
        "repeats": 0.30, "salad": 0.30, "cut": 0.30, "copy": 0.20, "placeholder": 0.20, "english": 0.20}
MIN_CONTENT_WORDS = 5
_MAX_PUSH_SCAN = 4000
_TEMPLATE_WORDS = tuple(frozenset(w for w in words(t) if w not in STOPWORDS) for t in GENERIC_PUSH_TEMPLATES)
_TEMPLATE_INDEX = {w: [i for i, t in enumerate(_TEMPLATE_WORDS) if w in t] for w in frozenset().union(*_TEMPLATE_WORDS)}
_TEMPLATE_KEYS = frozenset(_TEMPLATE_INDEX)
# The markers as one alternation over the folded words (b" word word "): one C search, run
# only on a push that has the first word of one of them.
_FORMAL_PHRASES = [words(m) for m in FORMAL_MARKERS + FORMAL_MARKERS_MORE]
_FORMAL = re.compile(b" (?:" + b"|".join(re.escape(b" ".join(p)) for p in _FORMAL_PHRASES) + b") ")
_FORMAL_FIRST_WORDS = frozenset(p[0] for p in _FORMAL_PHRASES)
# Characters looked up in the push's Latin-1 bytes (all of them are Latin-1): accents, and
# (for `hook`) whether there is any character past Latin-1, where emoji are.
_ACCENTS = "áàâãéêíóôõúüçÁÀÂÃÉÊÍÓÔÕÚÜÇ".encode("latin-1")
_NOT_ACCENT = bytes(b for b in range(256) if b not in _ACCENTS)
_EMOJI = re.compile("[\u2600-\u27bf\U0001f000-\U0001faff]")
_LETTERS, _TOKENS = letters_table(), tokens_table()
_PREFIX = operator.itemgetter(slice(5))


def _similarity(content_set: frozenset[bytes]) -> float:
    """The largest Jaccard similarity with a generic template (0 with those sharing no word):
    shared words counted per template, the union's size worked out from them."""
    hits = content_set & _TEMPLATE_KEYS
    if not hits:
        return 0.0
    shared = Counter(chain.from_iterable(map(_TEMPLATE_INDEX.__getitem__, hits)))
    n = len(content_set)
    return max([k / (n + len(_TEMPLATE_WORDS[i]) - k) for i, k in sorted(shared.items())])


def _fidelity(keys: set[bytes], folded: bytes, toks: list[bytes], found: list, facts: BriefFacts,
              notes: list[str], caps: list) -> float:
    product = not facts.product_keys.isdisjoint(keys)
    terms = []
    for label, kind, what in facts.offer:
        if kind == "figure":
            ok = any(map(what.has, found))
        elif kind == "code":
            ok = what in toks
        else:
            ok = what in folded
        terms.append((label, ok))
    offer_share = sum([ok for _, ok in terms]) / len(terms) if terms else None
    occasion = not facts.occasion_keys.isdisjoint(keys)
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


def _caps(push: str, encoded: bytes, toks: list[bytes], unique: frozenset[bytes], tk: list[bytes], folded: bytes,
          found: list, facts: BriefFacts, caps: list) -> None:
    if not _FORMAL_FIRST_WORDS.isdisjoint(unique) and _FORMAL.search(folded):
        caps.append(("formal", "formal-letter register"))
    pt, en = language(toks, unique)
    if en >= 2 and en >= pt:
        caps.append(("english", f"English ({en} English and {pt} Portuguese function words)"))
    if len(toks) >= 7 and pt / len(toks) < 0.1:
        caps.append(("salad", "a list of keywords, not a sentence"))
    marks = placeholders(push)
    if marks:
        caps.append(("placeholder", f"placeholder {marks[0]!r}"))
    why = shouting(push, encoded)
    if why:
        caps.append(("shouting", f"shouting: {why}"))
    # A word of four letters or more (not a stopword) said three times: its repeats are among
    # the words said twice or more, so only a push with two repeats is counted.
    if len(toks) - len(unique) >= 2:
        long_words = [w for w in toks if len(w) >= 4 and w not in STOPWORDS]
        if len(long_words) - len(set(long_words)) >= 2:  # a word said three times repeats two
            counts = Counter(long_words)
            if counts.most_common(1)[0][1] >= 3:
                caps.append(("repeats", f"repeats {counts.most_common(1)[0][0].decode()!r}"))
    if facts.given:
        if found and not all(map(facts.allowed.has, found)):
            invented = [f.text for f in found if not facts.allowed.has(f)]
            caps.append(("invented", f"number(s) not in the brief: {', '.join(invented[:3])}"))
        named = other_occasions(folded, facts) if not OCCASION_FIRST_WORDS.isdisjoint(unique) else None
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
        limit = meta.get("max_chars", max_chars)
        if type(limit) is not int or limit < 1:  # a plain positive int is valid as it is
            limit = validate_max_chars(limit)
        prompt = meta.get("prompt_text")
        missing, given, facts = brief_of(meta.get("brief"), prompt if isinstance(prompt, str) else None)
        hard = max(hard_limit, limit + (hard_limit - max_chars))
        push = push_text(text)
        n = len(push)
        scan = push[:_MAX_PUSH_SCAN]
        encoded = scan.encode("latin-1", "ignore")  # lexicon.words and tokens read these bytes
        toks = encoded.translate(_LETTERS).split()
        tk = encoded.translate(_TOKENS).split()
        folded = b" " + b" ".join(toks) + b" "
        unique = frozenset(toks)
        content_set = unique - STOPWORDS
        content = content_set - SHORT_WORDS
        # A figure holds a digit: a push whose tokens and words agree has none (and no
        # character past Latin-1, where other digits are) needs no figure search.
        found = [] if tk == toks and len(encoded) == len(scan) else figures.figures(scan, encoded)
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

        common = PORTUGUESE_WORDS.intersection(unique)
        accents = bool(encoded.translate(None, _NOT_ACCENT))
        parts["portuguese"] = (2 / 3) * min(len(common), 3) / 3 + (1 / 3 if accents else 0.0)
        if len(common) < 3:
            notes.append(f"portuguese: {len(common)} common Portuguese word(s), 3 expected")

        parts["brief"] = _fidelity(set(map(_PREFIX, content)), folded, tk, found, facts, notes, caps) if given else None
        if missing:
            notes.append("brief: no campaign brief given: fidelity not scored")

        similarity = _similarity(content_set) if content_set else 1.0
        # Emoji lie past Latin-1: a push that encodes whole has none.
        hook = any(map(facts.allowed.has, found)) or (
            len(encoded) < len(scan) and 1 <= len(_EMOJI.findall(scan)) <= 3) or "?" in scan
        parts["creativity"] = 0.5 * (1.0 - similarity) + 0.5 * hook
        if similarity >= 0.5:
            notes.append(f"creativity: close to a generic template (similarity {similarity:.2f})")
        if not hook:
            notes.append("creativity: no concrete hook (a figure of the brief, an emoji or a question)")
        if n:
            _caps(scan, encoded, toks, unique, tk, folded, found, facts, caps)

        components = weighted(parts, WEIGHTS)
        limits = [(length_cap if kind == "length" else CAPS[kind], f"cap: {why}") for kind, why in caps] if caps else []
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
        source_modules=(__name__, "rewards.push_brief", "rewards.recipe.push", "rewards.figures", "rewards.lexicon",
                        "rewards.text", "rewards.types"),
        fn=fn,
    )
