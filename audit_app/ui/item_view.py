"""The item on the annotate page: prompt and completion, laid out for the task.

The completion is always in the first screen. A prompt is mostly instructions that are the
same for every item of its task (the extraction schema's ten fields, the SQL schema); what
is particular to the item comes last in the user message (the review, the campaign brief,
the data summary and the request). So the item shows that last part (`item_excerpt`)
above the completion, and the whole prompt behind a collapsed expander. A sql_qa prompt
shows its business question as the summary line, and beside the completion what its
query returns, run read-only exactly as the reward runs it (ui.sql_preview).
"""

from __future__ import annotations

import streamlit as st

from audit_app.ui import sql_preview
from audit_app.ui.render import render_completion, render_messages

# Enough for a review, a campaign brief, or a data summary with its request.
EXCERPT_CHARS = 900


def prompt_and_completion(item: dict) -> None:
    """Show `item` (a store.next_item dict: task, messages, completion) for scoring."""
    if item["task"] == "sql_qa":
        _sql_item(item)
        return
    excerpt = item_excerpt(item["messages"])
    if excerpt:
        with st.container(border=True):
            st.caption("This item (the end of the prompt)")
            st.text(excerpt)
    with st.expander("Whole prompt (instructions and fields)", expanded=not excerpt):
        render_messages(item["messages"])
    st.markdown("**Completion** (shown as plain text)")
    render_completion(item["completion"])


def item_excerpt(messages, max_chars: int = EXCERPT_CHARS) -> str:
    """The item-specific end of the last user message: whole paragraphs from its end, as
    many as fit in `max_chars` (at least the last one, clipped). Empty without a user message."""
    users = [m for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
    text = str(users[-1].get("content") or "").strip() if users else ""
    if not text:
        return ""
    kept: list[str] = []
    for paragraph in reversed([p for p in text.split("\n\n") if p.strip()]):
        if kept and sum(len(k) + 2 for k in kept) + len(paragraph) > max_chars:
            break
        kept.insert(0, paragraph)
    out = "\n\n".join(kept)
    return out if len(out) <= max_chars else "…" + out[-max_chars:]


def _sql_item(item: dict) -> None:
    question = sql_preview.escape_markdown(sql_preview.question_summary(item["messages"]))
    with st.expander(f"**Question:** {question} · *prompt and schema*", expanded=False):
        render_messages(item["messages"])
    completion, result = st.columns([3, 2], gap="medium")
    with completion:
        st.markdown("**Completion** (shown as plain text)")
        render_completion(item["completion"])
    with result:
        sql_preview.render(sql_preview.preview(item["completion"], item["task"]))
