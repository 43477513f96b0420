"""The insights reward: a strategic analysis, in Portuguese, of the data summary its prompt
gives, answering the analysis its prompt asks for.

Everything is scored on the answer's *own* text: lines copied from the prompt (its data
summary, its request) and lines said twice are set aside first, so a copy of the prompt's
list is neither structure, nor figures, nor coverage.

Components (positive weights sum to 1):
- grounding 0.30: distinct figures quoted from the prompt's data summary (meta
  `data_summary`), full at 3 (or at every figure a shorter summary has); a figure may be
  rounded as shown ("12,46%" quoted as "12,5%" or "12%") or given as a fraction.
- coverage 0.15: the request's key terms (meta `request`: "reengajamento", "canais",
  "recompra", ...) that the answer takes up, full at 60% of them.
- recommendations 0.25: distinct verbs of recommendation (recomend-, sugir-, prioriz-,
  deveria, rever, medir, ...; not "melhor", "aumento" or "lançamento", which describe),
  full at 3.
- structure 0.10 (a header; two list items of its own), length 0.10 (100-800 words of
  its own; below it grows linearly, above it falls to 0 at 1,600), language 0.05 (the
  share of Portuguese among function words), domain 0.05 (two e-commerce terms). Form,
  length and language alone earn at most 0.30.
- invented (penalty, down to -0.15): -0.05 per figure that is not in the data summary
  (small counts, years and durations are not figures).
- cap (penalty): the total is capped when the answer quotes no figure of the summary
  (0.35), invents more figures than it quotes (0.35), stops mid-sentence (0.35), repeats
  a quarter of its lines (0.30), is half a copy of the prompt (0.25), is a keyword list
  (0.25), leaves placeholders ([X], {valor}: 0.20) or is in English (0.20).

Without a data summary or a request (a row that lost its fields) the grounding and
coverage components are not scored, the note says so, and the others share their weight.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any

from rewards import figures
from rewards.lexicon import fold_words, tokens
from rewards.parsing import MAX_SCAN
from rewards.prompt_cache import prompt_cache
from rewards.recipe.insights import _length_score, window_params
from rewards.text import (
    LINES_TABLE,
    content_words,
    cut_off,
    line_tokens,
    ngram_share,
    ngrams,
    placeholders,
)
from rewards.types import Reward, RewardBreakdown, capped, weighted
from rewards.wordclass import Profile

WEIGHTS = {"grounding": 0.30, "coverage": 0.15, "recommendations": 0.25, "structure": 0.10, "length": 0.10,
           "language": 0.05, "domain": 0.05, "invented": -0.15, "cap": -1.0}
COMPONENTS = tuple(WEIGHTS)
CAPS = {"ungrounded": 0.35, "invented": 0.35, "cut": 0.35, "repeats": 0.30, "copy": 0.25, "salad": 0.25,
        "placeholder": 0.20, "english": 0.20}
# Both read lines from their start; they run on the text with a "\n" in front, so that a line
# start is a literal the engine jumps to rather than a position it tries one by one.
_HEADER = re.compile(r"\n[ \t]*(?:#{1,6}[ \t]+\S|\*\*[^*\n]{2,80}\*\*[ \t]*:?[ \t]*$)", re.MULTILINE)
_LIST_ITEM = re.compile(r"\n[ \t]*(?:[-*•+]|\d{1,2}[.)])[ \t]+\S")
# Words every request uses to ask, not to say what about.
_ASKING = frozenset(w[:5] for w in content_words(
    "analise analisar recomende recomendar proponha propor priorize priorizar monte montar sugira sugerir "
    "quais qual como esses esses dados numeros acoes concretas base baseado praticas iniciativas dizem "
    "sobre voce enxerga proximos resultado estrategia plano"))


def _summary_text(summary: Any) -> str:
    if summary is None:
        return ""
    if isinstance(summary, list | tuple):
        return "\n".join(str(line) for line in summary)
    return str(summary)


@dataclass(frozen=True)
class PromptFacts:
    """What an analysis is checked against, worked out once per prompt."""

    source: figures.Source  # every figure of the summary and the request
    quotable: int  # figures of the summary that state something (not counts, years, durations)
    keys: frozenset[bytes]  # the request's key terms (five-letter prefixes)
    lines: frozenset[tuple]  # the prompt's lines, as text.line_tokens compares them
    grams: frozenset  # the prompt's 4-grams of tokens
    has_summary: bool = True  # the summary has text: figures are checked
    line_heads: frozenset[tuple] = frozenset()  # the first five tokens of each line of 4+ tokens
    spaced_keys: tuple[bytes, ...] = ()  # b" " + each key: a word starting with it, in folded text


@prompt_cache()
def prompt_facts(summary: str, request: str, prompt: str) -> PromptFacts:
    lines = frozenset(tuple(line_tokens(line)) for line in prompt.splitlines())
    keys = frozenset(w[:5] for w in content_words(request) if len(w) >= 5) - _ASKING
    return PromptFacts(
        source=figures.source_of(summary + "\n" + request),
        quotable=len({f.value for f in figures.figures(summary) if not f.generic}),
        keys=keys,
        lines=lines,
        grams=frozenset(ngrams(tokens(prompt), 4)),
        has_summary=bool(summary.strip()),
        line_heads=frozenset(k[:5] for k in lines if len(k) >= 4),
        spaced_keys=tuple(sorted(b" " + k for k in keys)),
    )


def _facts_of(summary: Any, request: Any, prompt: Any) -> PromptFacts:
    text = _summary_text(summary)
    request = str(request or "")
    return prompt_facts(text, request, (str(prompt or "") or (text + "\n" + request)).strip())


@prompt_cache()
def _facts_cached(summary: str | tuple[str, ...] | None, request: str | None, prompt: str | None) -> PromptFacts:
    return _facts_of(summary, request, prompt)


_TEXT = frozenset({str})


def facts_for(meta: dict[str, Any]) -> PromptFacts:
    """The PromptFacts of a row's meta, cached on its fields as they come: a summary given
    as a list of lines is not joined again for every answer to the same prompt. Fields
    that are not text (1 == 1.0 == True as keys, but their str differ) are read uncached."""
    summary, request, prompt = meta.get("data_summary"), meta.get("request"), meta.get("prompt_text")
    if type(summary) in (list, tuple) and set(map(type, summary)) <= _TEXT:
        summary = tuple(summary)
    elif summary is not None and type(summary) is not str:
        return _facts_of(summary, request, prompt)
    if (request is None or type(request) is str) and (prompt is None or type(prompt) is str):
        return _facts_cached(summary, request, prompt)
    return _facts_of(summary, request, prompt)


_FIRST_TOKEN = operator.itemgetter(0)
_NOT_DIGITS = bytes(b for b in range(256) if not 48 <= b <= 57)
_HEAD = operator.methodcaller("split", None, 5)  # a folded line's first five tokens (and the rest)
_FIRST_FIVE = operator.itemgetter(slice(0, 5))
_SECOND_TOKEN = operator.itemgetter(slice(1, 2))
_FIRST_GRAM = operator.itemgetter(slice(0, 4))
_SECOND_GRAM = operator.itemgetter(slice(1, 5))


def _own_text(text: str, facts: PromptFacts, notes: list[str], caps: list) -> str:
    """The answer's own lines: copies of the prompt and repeated lines set aside."""
    folded = text.encode("latin-1", "ignore").translate(LINES_TABLE).split(b"\n")  # as line_tokens folds
    # The common case, read from each line's first five tokens in C: no line starts like a
    # line of the prompt, nor with a 4-gram of it at its first or second token (where a
    # copy starts), and no two lines start alike (a repeat does): every line is its own.
    heads = list(map(_FIRST_FIVE, map(tuple, map(_HEAD, folded))))
    firsts = b" ".join(map(_FIRST_TOKEN, filter(None, heads)))
    if firsts.translate(None, _NOT_DIGITS):  # a line starting with a number: read list numbers line by line
        return _own_lines(text, folded, facts, notes, caps)
    starts = list(filter(_SECOND_TOKEN, heads))  # the lines of two tokens or more
    if len(set(starts)) == len(starts) and facts.line_heads.isdisjoint(heads) and \
            facts.grams.isdisjoint(map(_FIRST_GRAM, heads)) and facts.grams.isdisjoint(map(_SECOND_GRAM, heads)):
        return text
    return _own_lines(text, folded, facts, notes, caps)


def _own_lines(text: str, folded: list[bytes], facts: PromptFacts, notes: list[str], caps: list) -> str:
    """`_own_text` line by line (`folded`: the text's lines folded), for an answer that copies
    or repeats lines, or numbers them."""
    seen: set[tuple] = set()
    kept, copied, repeats, counted, total = [], 0, 0, 0, 0
    lines, grams = facts.lines, facts.grams
    for line, low in zip(text.split("\n"), folded, strict=True):
        toks = low.split()
        if not toks:
            kept.append(line)
            continue
        total += 1
        if toks[0].isdigit() and line.lstrip()[len(toks[0]):][:1] in (".", ")"):
            toks = toks[1:]  # "1. Priorizar" is the list item "Priorizar"
        key = tuple(toks)
        n = len(toks)
        # A copy starts like the prompt: the 4-gram share is measured only for lines whose
        # first or second 4-gram is the prompt's.
        if n >= 4 and (key in lines or ((key[:4] in grams or key[1:5] in grams)
                                        and ngram_share(toks, grams, 4) >= 0.8)):
            copied += 1
            continue
        if n >= 2:
            counted += 1
            if key in seen:
                repeats += 1
                continue
            seen.add(key)
        kept.append(line)
    if copied:
        notes.append(f"copy: {copied} line(s) copied from the prompt set aside")
        if copied / total > 0.5:
            caps.append(("copy", f"{copied / total:.0%} of the lines are the prompt's"))
    if repeats:
        notes.append(f"repeats: {repeats} repeated line(s) set aside")
        if repeats / max(1, counted) > 0.25:
            caps.append(("repeats", f"{repeats} of {counted} lines repeat another"))
    return "\n".join(kept)


def make_insights_reward(
    *, min_words: int = 100, max_words: int = 800, min_actions: int = 3, name: str = "insights"
) -> Reward:
    """The insights reward; the length window is in words (see README, "insights")."""
    params = window_params(min_words, max_words, min_actions)

    def fn(text: str, meta: dict[str, Any]) -> RewardBreakdown:
        notes: list[str] = []
        caps: list[tuple[str, str]] = []
        facts = facts_for(meta)
        scan = text[:MAX_SCAN]
        own = _own_text(scan, facts, notes, caps)
        folded = b" " + fold_words(own)  # its words (lexicon.words), each after a space
        toks = folded.split()
        profile = Profile(toks)
        parts: dict[str, float | None] = {}

        if facts.has_summary:
            grounded, invented = figures.split(figures.figures(own), facts.source)
            distinct = len({round(f.value, 6) for f in grounded})
            need = max(1, min(3, facts.quotable))
            parts["grounding"] = min(distinct, need) / need
            if distinct < need:
                notes.append(f"grounding: {distinct} figure(s) of the data summary quoted, {need} expected")
            if facts.quotable and not grounded:
                caps.append(("ungrounded", "quotes no figure of the data summary"))
            if invented:
                notes.append(f"invented: figure(s) not in the data summary: {', '.join(f.text for f in invented[:4])}")
                if len(invented) >= 2 and len(invented) > len(grounded):
                    caps.append(("invented", f"{len(invented)} invented figure(s), {len(grounded)} from the data"))
            invented_penalty = -0.05 * min(3, len(invented))
        else:
            parts["grounding"] = None
            invented_penalty = 0.0
            notes.append("grounding: no data summary given: figures not checked")

        if facts.keys:
            # A key term (five letters) is taken up when a word starts with it.
            covered = sum(map(folded.__contains__, facts.spaced_keys))
            parts["coverage"] = min(1.0, covered / (0.6 * len(facts.keys)))
            if parts["coverage"] < 1:
                notes.append(f"coverage: {covered} of the request's {len(facts.keys)} key terms taken up")
        else:
            parts["coverage"] = None
            notes.append("coverage: no analysis request given: not scored")

        actions = profile.stems("recommend")
        parts["recommendations"] = min(len(actions), min_actions) / min_actions
        if len(actions) < min_actions:
            notes.append(f"recommendations: {len(actions)} verb(s) of recommendation, {min_actions} expected")

        has_header = _HEADER.search("\n" + own) is not None
        n_items = len(_LIST_ITEM.findall("\n" + own))
        parts["structure"] = 0.5 * has_header + 0.5 * (n_items >= 2)
        if not has_header:
            notes.append("structure: no header")
        if n_items < 2:
            notes.append(f"structure: {n_items} list item(s) of its own, 2 expected")

        n_words = len(toks)
        parts["length"] = _length_score(n_words, min_words, max_words)
        if not min_words <= n_words <= max_words:
            notes.append(f"length: {n_words} words of its own, outside {min_words}-{max_words}")

        pt, en = profile.language()
        share = pt / (pt + en) if pt + en >= 3 else None
        parts["language"] = 0.0 if share is None else min(1.0, max(0.0, (share - 0.5) / 0.4))
        if share is not None and share < 0.5:
            caps.append(("english", f"not Portuguese ({share:.0%} Portuguese function words)"))
        terms = profile.stems("domain")
        parts["domain"] = min(len(terms), 2) / 2

        if len(toks) >= 20 and pt / len(toks) < 0.15:
            caps.append(("salad", "a list of keywords, not sentences"))
        marks = placeholders(own)
        if marks:
            caps.append(("placeholder", f"placeholder {marks[0]!r}"))
        if cut_off(scan):
            caps.append(("cut", "stops mid-sentence"))
        if not toks:
            caps.append((0.0, "nothing of its own"))

        components = weighted(parts, WEIGHTS)  # in COMPONENTS order, as are the two below
        components["invented"] = invented_penalty
        limits = [(CAPS[kind] if isinstance(kind, str) else kind, f"cap: {why}") for kind, why in caps] if caps else []
        return capped(components, limits, notes)

    return Reward(
        name=name,
        task="insights",
        components=COMPONENTS,
        weights=dict(WEIGHTS),
        params=params,
        meta_keys=("data_summary", "request", "prompt_text"),
        source_modules=(__name__, "rewards.recipe.insights", "rewards.figures", "rewards.lexicon",
                        "rewards.parsing", "rewards.text", "rewards.types", "rewards.wordclass"),
        fn=fn,
    )
