"""What a sql_qa completion's query returns, for the annotator beside the completion.

The guideline asks annotators for "the right result", so they need to see what the query
gives: it runs exactly as the reward runs it (`rewards.sql_exec.run_readonly`: read-only
connection, authorizer, time limit, row cap) on the database the reward uses for that
prompt (`data.prompts.reward_meta`). The reference answer is never read here: the review
stays blind, and the annotator judges the result against the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from data.prompts import reward_meta
from rewards import sql_exec
from rewards.sql_extract import extract_sql

SHOW_ROWS = 10
SUMMARY_CHARS = 160
_QUESTION = re.compile(r"pergunta(?: de negócio)?\s*:\s*(.+)", re.IGNORECASE)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


@dataclass(frozen=True)
class SqlPreview:
    """`sql` is None when the completion holds no query; else `error` or the result."""

    sql: str | None
    columns: tuple[str, ...] = ()
    rows: tuple[tuple, ...] = ()  # the first SHOW_ROWS rows
    row_count: int = 0  # rows fetched (at most the sandbox's cap)
    capped: bool = False  # the query returns more rows than the sandbox fetches
    error: str | None = None
    elapsed_ms: float = 0.0

    @property
    def count_text(self) -> str:
        n = f"{self.row_count:,}{'+' if self.capped else ''}"
        return f"{n} row{'' if self.row_count == 1 and not self.capped else 's'}"


def preview(completion: str, task: str = "sql_qa") -> SqlPreview:
    """Run the query `completion` proposes, as the reward would; never raises."""
    extract = extract_sql(completion or "")
    if extract.sql is None:
        return SqlPreview(sql=None)
    db_path = reward_meta({"task": task})["db_path"]
    result = sql_exec.run_readonly(db_path, extract.sql, cache=True)
    if not result.ok:
        return SqlPreview(sql=extract.sql, error=result.error, elapsed_ms=result.elapsed_ms)
    rows = tuple(tuple(r) for r in result.rows or ())
    return SqlPreview(sql=extract.sql, columns=tuple(result.columns), rows=rows[:SHOW_ROWS],
                      row_count=len(rows), capped=result.truncated, elapsed_ms=result.elapsed_ms)


def question_summary(messages) -> str:
    """One line saying what the prompt asks: its "Pergunta: ..." line, else the first line
    of the last user message, cut to SUMMARY_CHARS."""
    users = [m for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
    text = str(users[-1].get("content") or "") if users else ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    found = next((m.group(1) for line in lines if (m := _QUESTION.match(line))), None)
    line = found or (lines[0] if lines else "(no question)")
    return line if len(line) <= SUMMARY_CHARS else line[:SUMMARY_CHARS - 1] + "…"


def escape_markdown(text: str) -> str:
    """Text from a prompt shown inside a Markdown label (an expander's), literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def render(result: SqlPreview) -> None:
    """The result panel: first rows and row count, the SQL error, or "no query"."""
    import pandas as pd
    import streamlit as st

    st.markdown("**What the query returns**")
    if result.sql is None:
        st.warning("No SQL query found in the completion.")
        return
    if result.error is not None:
        st.error("The query does not run:")
        st.code(result.error, language=None, wrap_lines=True)
        return
    st.caption(f"{result.count_text} · read-only, as the reward runs it · {result.elapsed_ms:.0f} ms")
    if result.columns:
        names = [c or f"column {i + 1}" for i, c in enumerate(result.columns)]
        # Duplicate column names (SELECT a, a) would collide in a DataFrame: number them.
        seen: dict[str, int] = {}
        unique = []
        for name in names:
            seen[name] = seen.get(name, 0) + 1
            unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
        cells = [["NULL" if v is None else str(v) for v in row] for row in result.rows]
        # A plain table (at most SHOW_ROWS rows): text the annotator reads, and the page can search.
        st.table(pd.DataFrame(cells, columns=unique), hide_index=True)
    if result.row_count > SHOW_ROWS:
        st.caption(f"First {SHOW_ROWS} of {result.count_text}.")
