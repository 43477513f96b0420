"""Safe display of untrusted text: model completions and imported prompts.

Completions come from a model (or from a JSONL file someone uploaded), so they may hold
HTML, scripts, Markdown image links that call out to a server, or megabytes of text.
They are only ever shown through `st.code` / `st.text`, which display characters as
characters: nothing is interpreted as HTML or Markdown. `unsafe_allow_html` is never used
with model text anywhere in the app.

The pure helpers (`clip`, `guess_language`, `invisible_count`) are separate from the
Streamlit calls so they can be tested without a page.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass

# A browser stays responsive with this much text in one code block; longer completions
# are cut for display (the store keeps them whole) and the cut is announced.
MAX_DISPLAY_CHARS = 20_000


@dataclass(frozen=True)
class Clipped:
    text: str
    total_chars: int
    clipped: bool


def clip(text: str | None, max_chars: int = MAX_DISPLAY_CHARS) -> Clipped:
    """`text` cut to `max_chars` characters for display (None shows as empty)."""
    text = "" if text is None else str(text)
    if len(text) <= max_chars:
        return Clipped(text, len(text), False)
    return Clipped(text[:max_chars], len(text), True)


def guess_language(text: str) -> str | None:
    """Syntax-highlighting hint for st.code: "json" when the text parses as JSON, else None.

    Highlighting is cosmetic; st.code escapes the text whatever the language.
    """
    stripped = text.strip()
    if stripped[:1] in "{[" and len(stripped) < MAX_DISPLAY_CHARS:
        try:
            json.loads(stripped)
            return "json"
        except ValueError:
            return None
    return None


# Characters that change how text looks without being visible (bidi overrides, zero-width
# joiners): an annotator should know they are there, since they can hide content.
_INVISIBLE_CATEGORIES = {"Cf"}


def invisible_count(text: str) -> int:
    """How many format characters (bidi overrides, zero-width spaces...) `text` holds."""
    return sum(1 for ch in text if unicodedata.category(ch) in _INVISIBLE_CATEGORIES)


def render_completion(text: str | None, *, max_chars: int = MAX_DISPLAY_CHARS) -> None:
    """Show a completion as literal text, with notes on length and hidden characters."""
    import streamlit as st

    shown = clip(text, max_chars)
    if not shown.text.strip():
        st.warning("The completion is empty.")
        return
    st.code(shown.text, language=guess_language(shown.text), wrap_lines=True, line_numbers=False)
    notes = [f"{shown.total_chars:,} characters"]
    if shown.clipped:
        notes.append(f"showing the first {max_chars:,}: score what a reader would get from all of it")
    hidden = invisible_count(shown.text)
    if hidden:
        notes.append(f"{hidden} invisible formatting character(s)")
    st.caption(" · ".join(notes))


def render_messages(messages: list[dict] | str | None, *, max_chars: int = MAX_DISPLAY_CHARS) -> None:
    """Show a prompt's chat messages as literal text, one chat bubble per message."""
    import streamlit as st

    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except ValueError:
            messages = [{"role": "user", "content": messages}]
    for message in messages or []:
        role = str(message.get("role", "user"))
        with st.chat_message(role, avatar=":material/settings:" if role == "system" else None):
            shown = clip(message.get("content"), max_chars)
            st.text(shown.text)
            if shown.clipped:
                st.caption(f"showing {max_chars:,} of {shown.total_chars:,} characters")
