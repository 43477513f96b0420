"""The recipe's insights reward (`insights_recipe`): a strategic analysis judged on its form.

It never sees the prompt: a header and one keyword bullet repeated nine times scores 1.0.
The grounded default is rewards.insights.

Components (the recipe's weights):
- action_words 0.40: distinct action stems (recomend-, melhor-, prioriz-, implement-, ...),
  full at >= 3 distinct stems;
- length 0.30: 100-800 *words* earn it all; below 100 it grows linearly from 0; above 800
  it falls linearly to 0 at 1,600 words. Words, not characters: 100-800 characters would
  be 15-130 words, too short for an analysis with sections, and a word count does not
  move with markdown symbols, whitespace or the tokenizer;
- structure 0.20: 0.10 for at least one header (a `#` line or a line that is all bold),
  0.10 for at least two list items (`-`, `*`, `•` or `1.`);
- domain 0.10: distinct e-commerce terms (cliente, produto, entrega, ...), full at >= 2.
"""

from __future__ import annotations

import re
from typing import Any

from rewards.lexicon import ACTION_STEMS, DOMAIN_STEMS, words
from rewards.parsing import MAX_SCAN
from rewards.types import Reward, RewardBreakdown

WEIGHTS = {"action_words": 0.40, "length": 0.30, "structure": 0.20, "domain": 0.10}
COMPONENTS = tuple(WEIGHTS)

_HEADER = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+\S|\*\*[^*\n]{2,80}\*\*[ \t]*:?[ \t]*$)", re.MULTILINE)
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*•+]|\d{1,2}[.)])[ \t]+\S", re.MULTILINE)


def _length_score(n: int, lo: int, hi: int) -> float:
    if n < lo:
        return n / lo
    if n <= hi:
        return 1.0
    return max(0.0, 1.0 - (n - hi) / hi)


def window_params(min_words: int, max_words: int, min_actions: int) -> dict[str, int]:
    """The length window (in words) and the number of action words, validated."""
    if not 0 < min_words < max_words or min_actions < 1:
        raise ValueError("need 0 < min_words < max_words and min_actions >= 1")
    return {"min_words": int(min_words), "max_words": int(max_words), "min_actions": int(min_actions)}


def make_insights_recipe_reward(
    *, min_words: int = 100, max_words: int = 800, min_actions: int = 3, name: str = "insights_recipe"
) -> Reward:
    """The insights reward; the length window is in words (see module docstring)."""
    params = window_params(min_words, max_words, min_actions)

    def fn(text: str, meta: dict[str, Any]) -> RewardBreakdown:
        notes: list[str] = []
        scan = text[:MAX_SCAN]
        tokens = words(scan)
        unique = set(tokens)
        n_words = len(tokens) if len(text) <= MAX_SCAN else len(tokens) + len(words(text[MAX_SCAN:]))

        actions = ACTION_STEMS.matches(unique)
        action = WEIGHTS["action_words"] * (min(len(actions), min_actions) / min_actions)
        if len(actions) < min_actions:
            notes.append(f"action_words: {len(actions)} action stem(s), {min_actions} expected")

        length = WEIGHTS["length"] * _length_score(n_words, min_words, max_words)
        if not min_words <= n_words <= max_words:
            notes.append(f"length: {n_words} words, outside {min_words}-{max_words}")

        has_header = _HEADER.search(scan) is not None
        n_items = len(_LIST_ITEM.findall(scan))
        structure = (0.10 if has_header else 0.0) + (0.10 if n_items >= 2 else 0.0)
        if not has_header:
            notes.append("structure: no header")
        if n_items < 2:
            notes.append(f"structure: {n_items} list item(s), 2 expected")

        terms = DOMAIN_STEMS.matches(unique)
        domain = WEIGHTS["domain"] * (min(len(terms), 2) / 2)
        if len(terms) < 2:
            notes.append(f"domain: {len(terms)} domain term(s), 2 expected")

        comps = {"action_words": action, "length": length,
                 "structure": structure, "domain": domain}
        return RewardBreakdown.make(action + length + structure + domain, comps, notes)

    return Reward(
        name=name,
        task="insights",
        components=COMPONENTS,
        weights=dict(WEIGHTS),
        params=params,
        meta_keys=(),
        source_modules=(__name__, "rewards.lexicon", "rewards.parsing", "rewards.types"),
        fn=fn,
    )
