"""Finding the JSON object inside a completion (the SQL query: rewards.sql_extract).

Models wrap answers in code fences, put prose around them, quote a partial object in a
line of reasoning before the real one, write Portuguese decimals (`"confidence": 0,85`)
and leave brackets open. `parse_json_object` reads the text in one linear pass
(`rewards.json_spans.spans`: every balanced {...} or [...] not nested in another; a text
holding a single object among prose is decoded without it, `_single`), then:

1. decodes each candidate strictly (`json.loads`); a candidate that fails is retried with
   Portuguese decimals normalised, only where a number is expected: an object value after
   `:` (`4,5` -> `4.5`, `1.234,56` -> `1234.56`), never inside strings and never in arrays,
   where `[4,5]` is two numbers; one that still fails gives way to the objects inside it;
2. picks the most complete object (by the caller's `rank`, e.g. how many schema fields it
   has), the last one among equals: a partial object quoted before the answer, or a first
   draft, never wins over the answer (`pick="first"` keeps the recipe's first object);
3. only when nothing decodes, hands the last unclosed object to `json-repair` (at most
   8,000 characters holding at most 64 brackets); an object cut off in the plain way is
   read as json-repair reads it without calling it (`rewards.json_truncated`).

Each step records what it did in a `ParseReport`, whose `notes()` the reward adds to
its breakdown. Nothing here raises on any input string, and nothing is quadratic: the
scan is linear, each candidate is decoded once, and the number of candidates is bounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from rewards.json_spans import MAX_STRUCTURE, spans
from rewards.json_truncated import read_truncated

# Completions longer than this are parsed on their first MAX_SCAN characters only: a real
# completion is a few thousand characters; this bounds the cost of pathological input.
MAX_SCAN = 64_000
MAX_REPAIR = 8_000
# json-repair's time grows steeply with bracket nesting ("{" * 2000 takes half a second);
# a real answer has a handful of brackets, so more than this is not worth repairing.
MAX_REPAIR_BRACKETS = 64

_FENCE_LANG = re.compile(r"[ \t]*([A-Za-z0-9_+-]*)")
_DECIMAL_HINT = re.compile(r"\d,\d")
# Tokens of a JSON-ish text, each matched once (possessive, so a long run of digits or
# escaped quotes costs linear time): strings (an unclosed one runs to the end), structure
# characters, and numbers (a decimal comma, with dot thousands separators, is kept inside).
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)|[{}\[\]:,]|-?\d[\d.]*+(?:,\d++)?', re.DOTALL)
_PT_DECIMAL = re.compile(r"-?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+")
_MAX_CANDIDATES = 48


def completion_text(completion: Any) -> str:
    """The text of a completion as TRL or a caller may give it: a string, None, bytes,
    or a conversational list of messages (the assistant turns' content, joined)."""
    if isinstance(completion, str):
        return completion
    if completion is None:
        return ""
    if isinstance(completion, bytes | bytearray):
        return bytes(completion).decode("utf-8", errors="replace")
    if isinstance(completion, dict):
        return _message_content(completion)
    if isinstance(completion, list | tuple):
        parts = [
            _message_content(m)
            for m in completion
            if not isinstance(m, dict) or m.get("role", "assistant") == "assistant"
        ]
        return "\n".join(p for p in parts if p)
    return str(completion)


def _message_content(message: Any) -> str:
    if not isinstance(message, dict):
        return completion_text(message)
    content = message.get("content")
    if isinstance(content, list):  # multimodal parts: [{"type": "text", "text": ...}]
        return "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)


@dataclass
class ParseReport:
    """What the parser found and what it had to fix."""

    found: bool = False
    strict: bool = False  # parsed without any repair (decimal normalisation allowed)
    in_fence: bool = False
    prose_around: bool = False
    decimals_fixed: int = 0
    repaired: bool = False
    truncated: bool = False
    objects: int = 0  # objects that decoded (the answer is one of them)
    detail: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        out = []
        if self.truncated:
            out.append(f"parse: only the first {MAX_SCAN} characters were read")
        if self.in_fence:
            out.append("parse: JSON read from a code fence")
        if self.prose_around:
            out.append("parse: prose around the JSON ignored")
        if self.objects > 1:
            out.append(f"parse: {self.objects} JSON objects, the most complete (last among equals) taken")
        if self.decimals_fixed:
            out.append(f"parse: {self.decimals_fixed} decimal comma(s) normalised")
        if self.repaired:
            out.append("parse: invalid JSON repaired with json-repair")
        out.extend(self.detail)
        return out


class Fence(NamedTuple):
    """A ``` fence: its language, where it starts and ends (marks included) and where its
    body does. (A named tuple: built for every fence of every answer, it costs a tuple.)"""

    lang: str
    start: int
    end: int
    body_start: int
    body_end: int


def fence_list(text: str) -> list[Fence]:
    """Every ``` fence of `text`, in order; an unclosed last fence runs to the end. (With
    str.find, not a lazy regex: a fence costs its length once.)"""
    out: list[Fence] = []
    i = 0
    while True:
        a = text.find("```", i)
        if a < 0:
            return out
        nl = text.find("\n", a + 3)
        if nl < 0:
            return out
        header = text[a + 3:nl]
        if "`" in header:  # "```" inside a line is not a fence opening
            i = a + 3
            continue
        b = text.find("```", nl + 1)
        close = b if b >= 0 else len(text)
        out.append(Fence(_FENCE_LANG.match(header).group(1).lower(), a, close + 3 if b >= 0 else close, nl + 1, close))
        if b < 0:
            return out
        i = b + 3


def normalise_decimals(text: str) -> tuple[str, int]:
    """Rewrite decimal commas as points where a JSON number is expected (an object value).
    Returns the new text and how many numbers were rewritten."""
    if not _DECIMAL_HINT.search(text):
        return text, 0
    out: list[str] = []
    last = 0
    stack: list[str] = []
    prev = ""
    fixed = 0
    for m in _JSON_TOKENS.finditer(text):
        tok = m.group()
        c = tok[0]
        if c == '"':
            prev = '"'
            continue
        if c in "{[":
            stack.append(c)
        elif c in "}]":
            if stack:
                stack.pop()
        elif c in ":,":
            pass
        else:  # a number; rewritten only when it is a decimal-comma value of an object
            if "," in tok and stack and stack[-1] == "{" and prev == ":" and _PT_DECIMAL.fullmatch(tok):
                out.append(text[last:m.start()])
                out.append(tok.replace(".", "").replace(",", "."))
                last = m.end()
                fixed += 1
            prev = "n"
            continue
        prev = c
    if not fixed:
        return text, 0
    out.append(text[last:])
    return "".join(out), fixed


def _decode(text: str) -> tuple[Any, int]:
    """The JSON value of `text` and how many decimal commas were normalised (-1: failed)."""
    try:
        return json.loads(text), 0
    except (ValueError, RecursionError):
        pass
    fixed_text, n = normalise_decimals(text)
    if n:
        try:
            return json.loads(fixed_text), n
        except (ValueError, RecursionError):
            pass
    return None, -1


def _holds_object(value: Any) -> bool:
    return isinstance(value, dict) or (isinstance(value, list) and any(isinstance(x, dict) for x in value))


def _fence_spans(text: str) -> list[tuple[int, int, str]]:
    if "```" not in text:
        return []
    return [(f.body_start, f.body_end, f.lang) for f in fence_list(text)]


def parse_json_object(
    text: str, *, normalise: bool = True, rank: Callable[[Any], float] | None = None, pick: str = "best",
) -> tuple[Any, ParseReport]:
    """The answer's JSON object (or array holding objects) in a completion, and how it was
    obtained. `rank` scores a decoded candidate (default: all equal); `pick="best"` takes
    the highest ranked, the last among equals; `pick="first"` the first candidate, in the
    first ```json fence if there is one (the recipe's parser).
    Returns (None, report) when nothing JSON-like is there."""
    report = ParseReport()
    if len(text) > MAX_SCAN:
        text = text[:MAX_SCAN]
        report.truncated = True
    if "{" not in text:
        return None, report
    report.found = True
    stripped = text.strip()
    decode = _decode if normalise else _strict  # (value, decimal commas fixed; -1: failed)
    if stripped[:1] == "{" and stripped[-1:] == "}" and pick == "best":
        # The common case: the whole completion is one object (then it is the only one).
        value, fixed = decode(stripped)
        if fixed >= 0 and isinstance(value, dict):
            report.strict, report.objects, report.decimals_fixed = True, 1, fixed
            return value, report
    decoded, open_at = _single(text, decode), None
    if not decoded:
        decoded, open_at = _candidates(text, decode)
    if decoded:
        decoded.sort(key=lambda item: item[0])
        chosen = _choose(decoded, text, rank, pick)
        start, end, value, fixed = chosen
        report.strict = True
        report.objects = len(decoded)
        report.decimals_fixed = fixed
        fence = next((f for f in _fence_spans(text) if f[0] <= start and end <= f[1]), None)
        report.in_fence = fence is not None
        outside = text[:fence[0] if fence else start] + text[fence[1] if fence else end:]
        report.prose_around = bool(outside.replace("```json", "").replace("```", "").strip())
        return value, report

    # 3. json-repair, on a bounded slice: it is pure Python and slow on huge input.
    start = open_at if open_at is not None else text.find("{")
    candidate = text[start:start + MAX_REPAIR]
    if candidate.count("{") + candidate.count("[") > MAX_REPAIR_BRACKETS:
        report.detail.append("parse: too many brackets to attempt a repair")
        return None, report
    if normalise:
        candidate = normalise_decimals(candidate)[0]
    obj = read_truncated(candidate)  # the common cut, read as json-repair reads it
    if obj is None:
        obj = _repair(candidate)
    if not _holds_object(obj) or obj == {}:
        report.detail.append("parse: no JSON object could be recovered")
        return None, report
    report.repaired = True
    return obj, report


def _single(text: str, decode: Callable[[str], tuple[Any, int]]) -> list[tuple[int, int, Any, int]]:
    """The one candidate when the text holds a single object among prose (or in a fence):
    what the bracket scan would find, without it. From the first "{" to the last "}" the
    text decodes as one object, and no "[" lies outside it, so no other span can hold an
    object; the object closes before the scan's limit. [] when that is not the case."""
    start, end = text.find("{"), text.rfind("}") + 1
    if not start < end <= MAX_STRUCTURE or text.find("[", 0, start) >= 0 or text.find("[", end) >= 0:
        return []
    value, fixed = decode(text[start:end])
    return [(start, end, value, fixed)] if fixed >= 0 and isinstance(value, dict) else []


def _candidates(text: str, decode: Callable[[str], tuple[Any, int]]) -> tuple[list[tuple[int, int, Any, int]], int | None]:
    """The objects (or arrays holding objects) that decode among the balanced spans, and
    where the object left open at the end starts."""
    found, open_at = spans(text)
    tops = [(s, e) for s, e, d in found if d == 0]
    if len(tops) > _MAX_CANDIDATES:  # a flood of tiny objects: the longest are the answers
        tops = sorted(sorted(tops, key=lambda se: se[1] - se[0])[-_MAX_CANDIDATES:])
    decoded: list[tuple[int, int, Any, int]] = []
    for start, end in tops:
        value, fixed = decode(text[start:end])
        if fixed >= 0 and _holds_object(value):
            decoded.append((start, end, value, fixed))
        else:
            # A span that does not decode (prose in braces) or holds no object: the objects
            # directly inside it.
            for s2, e2, d2 in found:
                if d2 == 1 and start < s2 and e2 < end and len(decoded) < _MAX_CANDIDATES:
                    v2, f2 = decode(text[s2:e2])
                    if f2 >= 0 and _holds_object(v2):
                        decoded.append((s2, e2, v2, f2))
    return decoded, open_at


def _strict(text: str) -> tuple[Any, int]:
    try:
        return json.loads(text), 0
    except (ValueError, RecursionError):
        return None, -1


def _choose(decoded, text: str, rank, pick: str):
    if pick == "first":
        fenced = [d for d in decoded
                  if any(s <= d[0] and d[1] <= e and lang in ("json", "") for s, e, lang in _fence_spans(text))]
        return (fenced or decoded)[0]
    if rank is None:
        return decoded[-1]
    best = None
    best_rank = None
    for item in decoded:
        r = rank(item[2])
        if best is None or r >= best_rank:
            best, best_rank = item, r
    return best


def _repair(text: str) -> Any:
    try:
        import json_repair

        return json_repair.loads(text)
    except Exception:  # a third-party parser on arbitrary input: any failure means "no JSON"
        return None
