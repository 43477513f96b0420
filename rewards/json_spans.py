"""The bracket scan of rewards.parsing: where the balanced {...} and [...] of a completion are.

`spans(text)` reads the brackets, quotes and backslashes of the text in one linear pass and
returns every balanced span not nested in another (level 0) or directly inside one of those
(level 1), and where the object left open at the end starts. Quotes open strings only
inside brackets: prose quotes do not hide the JSON after them.
"""

from __future__ import annotations

import re

# The scan looks only at brackets, quotes and backslashes.
_STRUCTURE = re.compile(r'[{}\[\]"\\]')
# Unclosed brackets below a balanced span that still leave it a candidate (stray "{" in prose).
_MAX_STRAYS = 3
# Brackets, quotes and backslashes scanned at most (a ten-field answer has about fifty).
MAX_STRUCTURE = 8192


def spans(text: str) -> tuple[list[tuple[int, int, int]], int | None]:
    """One pass over the brackets: (start, end, level) of every balanced {...} or [...]
    that is not inside another (level 0) or directly inside one of those (level 1), and
    where the object left open at the end starts (None when every bracket closed).

    Quotes open strings only inside brackets: prose quotes do not hide the JSON after them.
    A closing bracket of the wrong kind is prose and ignored; so is a stray opening one
    that never closes (the object after "use { to open:" is still at level 0)."""
    stack: list[tuple[int, str]] = []
    closed: list[tuple[int, int]] = []
    in_string = False
    skip = -1
    for n, m in enumerate(_STRUCTURE.finditer(text)):
        if n >= MAX_STRUCTURE:  # a flood of brackets and quotes: no answer looks like that
            break
        i = m.start()
        if i == skip:
            continue
        c = m.group()
        if in_string:
            if c == "\\":
                skip = i + 1
            elif c == '"':
                in_string = False
            continue
        if c == '"':
            in_string = bool(stack)
        elif c in "{[":
            stack.append((i, c))
        elif c in "}]" and stack and stack[-1][1] == ("{" if c == "}" else "["):
            start = stack.pop()[0]
            if len(stack) <= _MAX_STRAYS:
                closed.append((start, i + 1))
    # Balanced spans nest or are disjoint: in start order, a span starting past the end of
    # the current level-0 span is a new level-0 span; inside one, the same rule finds level 1.
    closed.sort(key=lambda se: (se[0], -se[1]))
    spans: list[tuple[int, int, int]] = []
    top_end = child_end = -1
    for start, end in closed:
        if start >= top_end:
            spans.append((start, end, 0))
            top_end, child_end = end, start
        elif start >= child_end:
            spans.append((start, end, 1))
            child_end = end
    open_at = None
    for start, c in stack:  # the first unclosed object that reads like JSON ({"key" ...)
        if c == "{" and text[start + 1:start + 40].lstrip()[:1] in ('"', "}", ""):
            open_at = start
            break
    if open_at is None and stack:
        open_at = next((start for start, c in reversed(stack) if c == "{"), None)
    return spans, open_at
