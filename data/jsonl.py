"""One JSON value per line, read defensively: whatever a line holds, it either parses into
a value every later step can handle or fails with one reason, so a caller can report that
line and carry on with the next.

What a line can break with, besides not being JSON: bytes that are not UTF-8; nesting so
deep that the parser (or any later recursive step) runs out of stack; and text holding a
lone UTF-16 surrogate ("\\ud83d", what a JavaScript tool leaves when it cuts an emoji in
half), which JSON allows but UTF-8, and so SQLite, cannot store.

    value = parse_line(raw_bytes)        # None for a blank line; ValueError(reason) otherwise
"""

from __future__ import annotations

import json

# Prompt rows and rollouts nest four levels at most; anything far deeper is not data.
MAX_DEPTH = 64


def parse_line(raw: bytes | str):
    """The JSON value on one line (None when the line is blank); ValueError naming the reason."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    else:
        text = raw
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    check_value(value)
    return value


def check_value(value) -> None:
    """ValueError unless every text in `value` is valid Unicode and it nests at most MAX_DEPTH deep."""
    stack = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            _check_text(item, where or "the value")
        elif isinstance(item, dict):
            for key, sub in item.items():
                _check_text(key, f"a key in {where or 'the object'}")
                stack.append((sub, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(item, list):
            stack.extend((sub, f"{where}[{i}]", depth + 1) for i, sub in enumerate(item))


def _check_text(text: str, where: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise ValueError(f"{where} holds a lone surrogate {ascii(bad)} at character {exc.start} (half of an "
                         "emoji cut by the tool that wrote the file); it cannot be stored as UTF-8") from None
