"""The object json-repair recovers from a JSON answer cut off mid-way, read without it for
the common case.

A completion stopped at the token limit ends inside its object: `{"sentiment": "positivo",
"summary": "Chegou r`. json-repair (rewards.parsing hands it such text) reads it one
character at a time in Python, ~100 us for a ten-field answer. For the plain shape such a
cut leaves, what it returns is known: the complete members, plus

- nothing more when the text stops after a member, its comma, inside a key or after a key;
- the key with "" when it stops after the key's colon;
- the key with the value read so far, trailing whitespace removed, when it stops inside a
  string value.

`read_truncated(text)` returns that object for text of this shape (simple keys, values that
are strings without escapes, numbers, true, false or null; a string cut short holding no
quote, backslash, bracket, brace, colon or backtick, and not ending on a comma, where
json-repair's own heuristics start) and None for anything else, which goes to json-repair.
tests/test_rewards_parsing.py checks the two agree on every cut of real answers.
"""

from __future__ import annotations

import json
import re
from typing import Any

_WS = r"[ \t\n\r]*"
_KEY = r'"[A-Za-z_][A-Za-z0-9_]*"'
_VALUE = r'(?:"[^"\\\x00-\x1f]*"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)'
_MEMBER = _KEY + _WS + ":" + _WS + _VALUE
_TRUNCATED = re.compile(
    r"\{" + _WS + r"(?P<members>(?:" + _MEMBER + _WS + "," + _WS + r")*+)"
    + r"(?:(?P<last>" + _MEMBER + r")" + _WS
    + r'|"(?P<key>[A-Za-z_][A-Za-z0-9_]*)"' + _WS + r"(?P<colon>:" + _WS
    + r'(?:"(?P<partial>[^"\'“”„\\{}\[\]`:\x00-\x08\x0b\x0c\x0e-\x1f]*))?)?'
    + r'|"[A-Za-z0-9_]*)?\Z'
)
_TRAILING_COMMA = re.compile(r",\s*\Z")


def read_truncated(text: str) -> dict[str, Any] | None:
    """The object json-repair makes of `text` (a JSON object cut off), for the plain shape
    described above; None otherwise."""
    m = _TRUNCATED.match(text)
    if m is None or not (m.group("members") or m.group("last") or m.group("colon")):
        return None  # no member yet: json-repair reads the start of a key as a list
    members = m.group("last") or ""
    members = m.group("members") + members if members else m.group("members").rstrip(" \t\n\r").removesuffix(",")
    pairs = json.loads("{" + members + "}", object_pairs_hook=list)
    obj = dict(pairs)
    key = m.group("key")
    if key is not None and m.group("colon") is not None:
        partial = m.group("partial")
        if key in obj or (partial is not None and _TRAILING_COMMA.search(partial)):
            return None  # a repeated key, or a comma json-repair reads as the member's end
        obj[key] = "" if partial is None else partial.rstrip()
    if len(obj) < len(pairs):
        return None  # a repeated key
    return obj
