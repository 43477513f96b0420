"""Finding the JSON object or the SQL query inside a completion.

Models wrap answers in code fences, put prose around them, write Portuguese decimals
(`"confidence": 0,85`) and leave brackets open. The parsers here try, in order:

1. the strict reading: the first JSON object in the first ```json (or bare ```) fence,
   else in the text, decoded with `json.JSONDecoder.raw_decode` so trailing prose is fine;
2. Portuguese decimals normalised, only where a number is expected: an object value
   position after `:` (`4,5` -> `4.5`, `1.234,56` -> `1234.56`); never inside strings and
   never in arrays, where `[4,5]` is two numbers;
3. `json-repair` on at most 8,000 characters holding at most 64 brackets.

Each step records what it did in a `ParseReport`, whose `notes()` the reward adds to
its breakdown. Nothing here raises on any input string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# Completions longer than this are parsed on their first MAX_SCAN characters only: a real
# completion is a few thousand characters; this bounds the cost of pathological input.
MAX_SCAN = 64_000
MAX_REPAIR = 8_000
# json-repair's time grows steeply with bracket nesting ("{" * 2000 takes half a second);
# a real answer has a handful of brackets, so more than this is not worth repairing.
MAX_REPAIR_BRACKETS = 64

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n`]*\n(.*?)(?:```|\Z)", re.DOTALL)
_DECIMAL_HINT = re.compile(r"\d,\d")
# Tokens of a JSON-ish text: strings (skipped whole), structure characters, and numbers
# written with a decimal comma (optionally with dot thousands separators).
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|-?\d{1,3}(?:\.\d{3})+,\d+|-?\d+,\d+')
_DECODER = json.JSONDecoder()


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
    detail: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        out = []
        if self.truncated:
            out.append(f"parse: only the first {MAX_SCAN} characters were read")
        if self.in_fence:
            out.append("parse: JSON read from a code fence")
        if self.prose_around:
            out.append("parse: prose around the JSON ignored")
        if self.decimals_fixed:
            out.append(f"parse: {self.decimals_fixed} decimal comma(s) normalised")
        if self.repaired:
            out.append("parse: invalid JSON repaired with json-repair")
        out.extend(self.detail)
        return out


def fences(text: str) -> list[tuple[str, str]]:
    """(language, body) of each ``` fence; an unclosed last fence runs to the end."""
    if "```" not in text:
        return []
    return [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]


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
        else:  # a decimal-comma number
            if stack and stack[-1] == "{" and prev == ":":
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


def _decode_object(text: str, start: int) -> Any:
    try:
        obj, _end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    return obj


def parse_json_object(text: str, *, normalise: bool = True) -> tuple[Any, ParseReport]:
    """The first JSON object (or array) in a completion, and how it was obtained.

    Returns (None, report) when nothing JSON-like is there."""
    report = ParseReport()
    if len(text) > MAX_SCAN:
        text = text[:MAX_SCAN]
        report.truncated = True
    region = text
    for lang, body in fences(text):
        if lang in ("json", "") and "{" in body:
            region = body
            report.in_fence = True
            break
    start = region.find("{")
    bracket = region.find("[")
    if 0 <= bracket and (start < 0 or bracket < start):
        # An array before the first object: taken only if it holds an object ([{...}]).
        obj = _decode_object(region, bracket)
        if isinstance(obj, list) and any(isinstance(x, dict) for x in obj):
            report.found = report.strict = True
            _note_prose(region, bracket, report)
            return obj, report
    if start < 0:
        return None, report
    report.found = True

    # 1. strict, at each of the first few opening braces (prose may contain a stray "{").
    pos = start
    for _ in range(8):
        obj = _decode_object(region, pos)
        if obj is not None:
            report.strict = True
            _note_prose(region, pos, report)
            return obj, report
        pos = region.find("{", pos + 1)
        if pos < 0:
            break

    candidate = region[start:]
    # 2. Portuguese decimals.
    if normalise:
        fixed_text, n = normalise_decimals(candidate)
        if n:
            obj = _decode_object(fixed_text, 0)
            if obj is not None:
                report.strict = True
                report.decimals_fixed = n
                _note_prose(region, start, report)
                return obj, report

    # 3. json-repair, on a bounded slice: it is pure Python and slow on huge input.
    candidate = candidate[:MAX_REPAIR]
    if candidate.count("{") + candidate.count("[") > MAX_REPAIR_BRACKETS:
        report.detail.append("parse: too many brackets to attempt a repair")
        return None, report
    obj = _repair(candidate)
    if obj is None or obj == "" or obj == [] or obj == {}:
        report.detail.append("parse: no JSON object could be recovered")
        return None, report
    report.repaired = True
    return obj, report


def _repair(text: str) -> Any:
    try:
        import json_repair

        return json_repair.loads(text)
    except Exception:  # a third-party parser on arbitrary input: any failure means "no JSON"
        return None


def _note_prose(region: str, start: int, report: ParseReport) -> None:
    if region[:start].strip():
        report.prose_around = True


# ---------------------------------------------------------------- SQL

_SQL_START = re.compile(r"(?is)\b(?:select|with)\b")
_SELECT = re.compile(r"(?i)\bselect\b")
_SQL_END = re.compile(r";|\n[ \t]*\n|```")
_SQL_FENCE_LANGS = ("sql", "sqlite", "postgresql", "mysql")
# Everything up to the first semicolon that is not inside a '...' literal.
_UNTIL_SEMICOLON = re.compile(r"(?:[^;']|'(?:[^']|'')*')*")


@dataclass(frozen=True)
class SQLExtract:
    sql: str | None
    source: str  # "fence" | "text" | "none"
    outside: str  # the completion without the SQL: the explanation


def extract_sql(text: str) -> SQLExtract:
    """The query a completion proposes: the first ```sql fence, else the first fence whose
    body starts with SELECT/WITH, else the first SELECT/WITH ... statement in the text
    (up to `;`, a blank line or a fence). `outside` is the rest of the text."""
    if len(text) > MAX_SCAN:
        text = text[:MAX_SCAN]
    if "```" in text:
        for m in _FENCE.finditer(text):
            lang, body = m.group(1).lower(), m.group(2)
            if lang in _SQL_FENCE_LANGS or (not lang and _SQL_START.match(body.lstrip())):
                sql = _first_statement(body)
                if sql:
                    return SQLExtract(sql, "fence", text[: m.start()] + " " + text[m.end():])
    for tries, m in enumerate(_SQL_START.finditer(text)):
        if tries >= 20:  # bounded: prose full of "with" must not cost quadratic time
            break
        end = _SQL_END.search(text, m.end())
        stop = end.start() if end else len(text)
        sql = text[m.start():stop].strip()
        # Prose such as "with care" is not a query: a statement must select something.
        if not _SELECT.search(sql):
            continue
        after = end.end() if end and end.group() == ";" else stop
        return SQLExtract(sql, "text", text[: m.start()] + " " + text[after:])
    return SQLExtract(None, "none", text)


def _first_statement(body: str) -> str:
    # Only the first statement is ever executed; the rest is dropped here so that
    # "SELECT ...; DROP TABLE x" runs (and fails) as one harmless SELECT.
    return _UNTIL_SEMICOLON.match(body.strip()).group().strip()
