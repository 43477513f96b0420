"""The item on the annotate page: prompt and completion, laid out for the task.

Most tasks show the prompt open above the completion (an extraction's review is needed to
judge it). A sql_qa prompt is mostly a table schema, so its completion comes first: the
prompt sits behind a one-line summary (the business question), and beside the completion
is what its query returns, run read-only exactly as the reward runs it (ui.sql_preview).
"""

from __future__ import annotations

import streamlit as st

from audit_app.ui import sql_preview
from audit_app.ui.render import render_completion, render_messages


def prompt_and_completion(item: dict) -> None:
    """Show `item` (a store.next_item dict: task, messages, completion) for scoring."""
    if item["task"] == "sql_qa":
        _sql_item(item)
        return
    with st.expander("Prompt", expanded=True):
        render_messages(item["messages"])
    st.markdown("**Completion** (shown as plain text)")
    render_completion(item["completion"])


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
