"""Finding the SQL query a completion proposes, and the explanation around it.

The query is the first ```sql fence, else the first fence whose body starts with
SELECT/WITH, else the first SELECT/WITH ... statement in the text (up to `;`, a blank line
or a fence); only its first statement is ever executed. Nothing here is quadratic: the
fences are one regex pass, and at most 20 "select"/"with" starts are tried in prose.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from rewards.parsing import MAX_SCAN, fence_list

# \b(?:select|with)\b and \bselect\b, case-insensitive, written to start with a character class
# (the letters that case-insensitive s and w match: ſ is a long s): the engine skips to
# those, where a pattern starting with \b is tried at every position.
_SQL_START = re.compile(r"[SWswſ](?<!\w[SWswſ])(?i:(?<=[sſ])elect|(?<=w)ith)\b")
_SELECT = re.compile(r"[Ssſ](?<!\w[Ssſ])(?i:elect)\b")
_SQL_END = re.compile(r";|\n[ \t]*\n|```")
_SQL_FENCE_LANGS = ("sql", "sqlite", "postgresql", "mysql")


class SQLExtract(NamedTuple):
    """The query a completion proposes and the rest of it (a named tuple: one per answer)."""

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
        for f in fence_list(text):
            body = text[f.body_start:f.body_end]
            if f.lang in _SQL_FENCE_LANGS or (not f.lang and _SQL_START.match(body.lstrip())):
                sql = _first_statement(body)
                if sql:
                    return SQLExtract(sql, "fence", text[: f.start] + " " + text[f.end:])
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
    # "SELECT ...; DROP TABLE x" runs (and fails) as one harmless SELECT. A semicolon inside
    # a '...' literal ('' is a quote inside one) does not end the statement; an unclosed
    # literal ends it where it opens.
    body = body.strip()
    i = 0
    while True:
        semi, quote = body.find(";", i), body.find("'", i)
        if quote < 0 or (0 <= semi < quote):
            return (body if semi < 0 else body[:semi]).strip()
        close = body.find("'", quote + 1)
        if close < 0:
            return body[:quote].strip()
        i = close + 1
