"""The recipe's push reward (`push_recipe`): a notification of at most 120 characters, judged
without reading its brief ("de do da ç 1" scores 1.0). The grounded default is rewards.push.

Components (the recipe's weights):
- length 0.50: characters are Unicode code points of the NFC-normalised text, without
  surrounding whitespace and quotes. <= max_chars (meta `max_chars`, default 120) earns
  it all; above, it decays steeply, 0.50 * exp(-(n - max_chars) / 16) (121 chars: 0.47,
  140: 0.14), and is 0 above `hard_limit` (200).
- portuguese 0.30: 0.20 * min(distinct common Portuguese words / 3, 1) + 0.10 when the
  text has Portuguese accents (á, ã, ç, ...).
- creativity 0.20, measurable: 0.10 * novelty + 0.10 * specificity, where
  novelty = 1 - the largest Jaccard similarity between the push's content words (not
  stopwords) and those of each generic template ("confira nossas ofertas", "não perca
  essa oportunidade", ...), and specificity = 1 when the push carries a concrete hook
  (a number, a price or percentage, an emoji, or a question), else 0. A push that
  repeats one content word three times or more gets no creativity.
- formal_penalty -0.20: formal-letter register (prezado, atenciosamente, cordialmente, ...).

"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from typing import Any

from rewards.lexicon import (
    FORMAL_MARKERS,
    GENERIC_PUSH_TEMPLATES,
    PORTUGUESE_WORDS,
    STOPWORDS,
    words,
)
from rewards.types import Reward, RewardBreakdown

WEIGHTS = {"length": 0.50, "portuguese": 0.30, "creativity": 0.20, "formal_penalty": -0.20}
COMPONENTS = tuple(WEIGHTS)
DECAY_CHARS = 16.0
_QUOTES = "\"'“”‘’«»`"
_TEMPLATE_WORDS = tuple(frozenset(w for w in words(t) if w not in STOPWORDS) for t in GENERIC_PUSH_TEMPLATES)
# Markers as folded words between spaces, matched by substring search on " <folded push> ".
_FORMAL = tuple(b" " + b" ".join(words(m)) + b" " for m in FORMAL_MARKERS)
# A number, an emoji (symbols of the pictograph/dingbat planes) or a question mark.
_HOOK = re.compile(r"\d|[\u2600-\u27bf\U0001f300-\U0001faff]|\?")
_MAX_PUSH_SCAN = 4000
_ACCENT = re.compile("[áàâãéêíóôõúüçÁÀÂÃÉÊÍÓÔÕÚÜÇ]")


def validate_max_chars(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"max_chars must be a positive integer, got {value!r}")
    try:
        n = float(value)
    except ValueError:
        raise ValueError(f"max_chars must be a positive integer, got {value!r}") from None
    if n != int(n) or n < 1:
        raise ValueError(f"max_chars must be a positive integer, got {value!r}")
    return int(n)


def push_text(completion: str) -> str:
    """What would be sent: trimmed of whitespace and wrapping quotes, NFC-normalised."""
    text = completion.strip()
    if len(text) <= _MAX_PUSH_SCAN:
        text = unicodedata.normalize("NFC", text)
    return text.strip().strip(_QUOTES).strip()


def length_score(n: int, max_chars: int, hard_limit: int) -> float:
    """Fraction of the length component for an n-character push."""
    if n <= max_chars:
        return 1.0
    if n > hard_limit:
        return 0.0
    return math.exp(-(n - max_chars) / DECAY_CHARS)


def make_push_recipe_reward(*, max_chars: int = 120, hard_limit: int = 200, name: str = "push_recipe") -> Reward:
    """The recipe's push reward; meta `max_chars` overrides `max_chars` per prompt."""
    max_chars = validate_max_chars(max_chars)
    if hard_limit < max_chars:
        raise ValueError("hard_limit must be >= max_chars")
    params = {"max_chars": max_chars, "hard_limit": int(hard_limit)}

    def fn(text: str, meta: dict[str, Any]) -> RewardBreakdown:
        notes: list[str] = []
        limit = validate_max_chars(meta["max_chars"]) if "max_chars" in meta else max_chars
        hard = max(hard_limit, limit + (hard_limit - max_chars))
        push = push_text(text)
        n = len(push)

        length = WEIGHTS["length"] * length_score(n, limit, hard)
        if n > limit:
            notes.append(f"length: {n} characters, limit {limit}" + (" (over the hard limit)" if n > hard else ""))
        if n == 0:
            length = 0.0
            notes.append("length: empty push")

        scan = push[:_MAX_PUSH_SCAN]
        tokens = words(scan)
        common = PORTUGUESE_WORDS.intersection(tokens)
        accents = _ACCENT.search(scan) is not None
        portuguese = 0.20 * (min(len(common), 3) / 3) + (0.10 if accents else 0.0)
        if len(common) < 3:
            notes.append(f"portuguese: {len(common)} common Portuguese word(s), 3 expected")
        if not accents:
            notes.append("portuguese: no accents")

        content = [t for t in tokens if t not in STOPWORDS]
        content_set = frozenset(content)
        if content_set:
            similarity = max(len(content_set & t) / len(content_set | t) for t in _TEMPLATE_WORDS)
        else:
            similarity = 1.0
        novelty = 1.0 - similarity
        specificity = 1.0 if _HOOK.search(scan) else 0.0
        creativity = 0.10 * novelty + 0.10 * specificity
        repeated = [w for w, c in Counter(content).items() if c >= 3]
        if repeated:
            creativity = 0.0
            notes.append(f"creativity: repeats {repeated[0].decode()!r}")
        else:
            if similarity >= 0.5:
                notes.append(f"creativity: close to a generic template (similarity {similarity:.2f})")
            if not specificity:
                notes.append("creativity: no concrete hook (number, price, emoji or question)")

        folded = b" " + b" ".join(tokens) + b" "
        formal = WEIGHTS["formal_penalty"] if any(m in folded for m in _FORMAL) else 0.0
        if formal:
            notes.append("formal_penalty: formal-letter register")

        comps = {"length": length, "portuguese": portuguese,
                 "creativity": creativity, "formal_penalty": formal}
        return RewardBreakdown.make(length + portuguese + creativity + formal, comps, notes)

    return Reward(
        name=name,
        task="push",
        components=COMPONENTS,
        weights=dict(WEIGHTS),
        params=params,
        meta_keys=("max_chars",),
        source_modules=(__name__, "rewards.lexicon", "rewards.types"),
        fn=fn,
    )
