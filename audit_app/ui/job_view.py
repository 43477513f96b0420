"""A running job's progress, as the Sample and Jobs pages show it (refreshed in place).

The job writes its progress into its row after every decoding step (at most twice a
second, data.store.progress); a page shows it from a fragment that reruns every
REFRESH_S seconds on its own, so the rest of the page stays usable meanwhile.
"""

from __future__ import annotations

import streamlit as st

REFRESH_S = 1.0
UNITS = {"sample": "completions", "compare": "results", "train": "steps"}


def progress_text(view: dict, kind: str) -> str:
    """"3 / 16 completions · batch 1/2, token 57/160" (done/total, then where the batch is)."""
    text = f"{view['done']} / {view['total'] or 0} {UNITS.get(kind, '')}".rstrip()
    if view["where"]:
        text += f" · {view['where']}"
    elif view["message"] and kind not in UNITS:
        text += f" · {view['message']}"
    return text


def progress_panel(view: dict, kind: str) -> None:
    """Progress bar (share done, moving within a batch), then tokens, tokens/s and ETA."""
    st.progress(view["fraction"], text=progress_text(view, kind))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(UNITS.get(kind, "done").capitalize(), f"{view['done']} / {view['total'] or 0}")
    m2.metric("Tokens", "-" if view["tokens"] is None else f"{view['tokens']:,}")
    rate = view["tokens_per_s"]
    m3.metric("Tokens/s", "-" if rate is None else f"{rate:.1f}")
    m4.metric("ETA", view["eta"] or "-")
