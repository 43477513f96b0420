"""Blind review (reviewers): two completions of one prompt, base and tuned in random
left/right order with no model names; choose with the keyboard (← left, → right, T tie).
The store keeps the side that was on the left; win rates with a 95% CI per task below.

Like the annotate page, a judgement belongs to the pair on screen: each pair drawn gets a
number its buttons carry, a press meant for an earlier pair is dropped, and the browser's
key guard ignores held keys and keys pressed before the next pair is drawn.
"""

import time

import pandas as pd
import streamlit as st

from audit_app.ui import keyguard
from audit_app.ui.context import current_user, get_store, page_guard
from audit_app.ui.navigation import page_button
from audit_app.ui.render import render_completion, render_messages
from train.compare import blind_review

user = page_guard("reviewer")
store = get_store()
st.title("Blind review")
st.caption("Which answer is better for this prompt? The two sides are shuffled for every pair "
           "and never named. Keys: **←** left · **→** right · **T** tie.")

comparisons = store.list_comparisons()
if not comparisons:
    st.info("No comparison to review yet. Engineers run one on Base vs tuned after a training run; its pairs "
            "appear here for blind judging as soon as its results are stored.")
    page_button("compare.py", "Base vs tuned", ":material/compare:")
    st.stop()
by_id = {c["id"]: c for c in comparisons}
cid = st.selectbox("Comparison", list(by_id), key="blind_comparison",
                   format_func=lambda i: f"#{i} ({by_id[i]['created_at'][:16]}, {by_id[i]['n_prompts']} prompts)")
labels = by_id[cid]["side_labels"]
# Several tuned sides (seeds) are reviewed one at a time; they are numbered, not named.
side = labels[0] if len(labels) == 1 else st.selectbox(
    "Tuned run", labels, key="blind_side", format_func=lambda s: f"run {labels.index(s) + 1}")

PAIR_MARKER = "blind_pair_"  # the pair on screen: blind_pair_<number drawn in this tab>
CHOICE_PREFIX = "blind_choice_"  # its buttons: blind_choice_<number>_<choice>
SHOWN = "blind_shown"  # that number
pair_key = f"blind_pair_{cid}_{labels.index(side)}"
pair = st.session_state.get(pair_key)
if pair is None:
    pair = blind_review.next_pair(store, user, cid, side)
    st.session_state[pair_key] = pair
    st.session_state["blind_shown_at"] = time.monotonic()
    st.session_state[SHOWN] = st.session_state.get(SHOWN, 0) + 1
shown = st.session_state[SHOWN]


def _choose(number: int, choice: str) -> None:
    current = st.session_state.get(pair_key)
    me = current_user()
    if current is None or me is None or not keyguard.on_screen(st.session_state.get(SHOWN), number):
        return  # meant for a pair no longer on screen (or the session ended): dropped
    seconds = time.monotonic() - st.session_state.get("blind_shown_at", time.monotonic())
    blind_review.record(store, me, current, choice, seconds=round(seconds, 2))
    st.session_state[pair_key] = None  # the next run draws a new pair
    st.session_state["blind_last"] = choice


done = blind_review.progress(store, user, cid, side)
st.progress(min(1.0, done["mine"] / done["pairs"]) if done["pairs"] else 1.0,
            text=f"{done['mine']} of {done['pairs']} pairs judged by you"
                 + (f" · {done['identical']} identical pairs not shown" if done["identical"] else ""))
if st.session_state.get("blind_last"):
    st.toast(f"Saved: {st.session_state.pop('blind_last')}")

if pair is None:
    st.success("You have judged every pair of this comparison.")
else:
    keyguard.install(PAIR_MARKER, CHOICE_PREFIX, keys=["ArrowLeft", "ArrowRight", "t"],
                     advance=["ArrowLeft", "ArrowRight", "t"])
    with st.container(key=f"{PAIR_MARKER}{shown}"):
        st.markdown(f"**Task:** {pair.task}")
        with st.expander("Prompt", expanded=True):
            render_messages(pair.messages)
        left_col, right_col = st.columns(2)
        with left_col:
            st.markdown("**Left**")
            with st.container(key="blind_left"):
                render_completion(pair.left_text)
        with right_col:
            st.markdown("**Right**")
            with st.container(key="blind_right"):
                render_completion(pair.right_text)
    b1, b2, b3 = st.columns(3)  # Streamlit shows each button's key beside its label
    for col, label, choice, key in ((b1, "Left is better", "left", "Left"), (b2, "Tie", "tie", "T"),
                                    (b3, "Right is better", "right", "Right")):
        col.button(label, key=f"{CHOICE_PREFIX}{shown}_{choice}", on_click=_choose, args=(shown, choice),
                   shortcut=key, width="stretch")

st.subheader("Win rate of the tuned model")
st.caption("Tuned wins among decisive judgements (ties left out), Wilson 95% CI; all reviewers. "
           "\"Left chosen\" near 50% means no position bias.")
rates = blind_review.win_rates(store, cid, side)
st.dataframe(pd.DataFrame([{
    "task": w.task, "judgements": w.judgements, "tuned wins": w.tuned_wins, "base wins": w.base_wins,
    "ties": w.ties, "win rate": None if w.win_rate is None else round(w.win_rate, 3),
    "95% CI": None if w.ci_low is None else f"[{w.ci_low:.2f}, {w.ci_high:.2f}]",
    "left chosen": None if w.left_chosen is None else f"{100 * w.left_chosen:.0f}%",
} for w in rates.values()]), hide_index=True, width="stretch")
