"""Annotate page: one completion at a time, scored 1-5 from the keyboard, blind.

The item comes from `store.next_item` (prompt and completion only: the reward, the model
and other people's scores never reach this page). Keys 1-5 save the score and show the
next item; S skips; U undoes my last score (its item comes back); F flags "the reward
looks wrong here" and puts the cursor in the comment box (Esc leaves it). Time per item
runs from the moment the server hands the item out to the moment the score arrives.
"""

import time

import streamlit as st

from audit_app import keyboard
from audit_app.errors import StoreError
from audit_app.guidelines import GENERAL_EN, GENERAL_PT, guideline_for
from audit_app.render import render_completion, render_messages
from audit_app.ui import get_store, page_guard

ITEM = "annotate_item"
SHOWN_AT = "annotate_shown_at"
NOTICE = "annotate_notice"
FOCUS = "annotate_focus"

user = page_guard("annotator")
store = get_store()
state = st.session_state


def flag_key(rollout_id: int) -> str:
    return f"annotate_flag_{rollout_id}"


def comment_key(rollout_id: int) -> str:
    return f"annotate_comment_{rollout_id}"


def act(call, *args, **kwargs):
    """Run a store call from a button; a refusal becomes the notice instead of a traceback."""
    try:
        return call(*args, **kwargs)
    except (StoreError, ValueError, LookupError, PermissionError) as exc:
        state[NOTICE] = ("error", str(exc))
        raise _Refused from exc


class _Refused(Exception):
    pass


def next_item() -> None:
    """Forget the item shown; the page run asks the store for the next one."""
    state.pop(ITEM, None)
    state.pop(SHOWN_AT, None)


def on_score(score: int) -> None:
    item = state.get(ITEM)
    if not item:
        return
    rid = item["rollout_id"]
    flagged = bool(state.get(flag_key(rid)))
    seconds = time.monotonic() - state.get(SHOWN_AT, time.monotonic())
    try:
        saved = act(store.record_annotation, user, rid, score, flag=flagged,
                    comment=state.get(comment_key(rid)) or None, seconds=round(seconds, 2))
    except _Refused:
        return
    what = "updated your earlier score" if saved.updated else "saved"
    state[NOTICE] = ("success", f"Item {rid}: {what} {score}{' with a flag' if flagged else ''}.")
    next_item()


def on_skip() -> None:
    item = state.get(ITEM)
    if not item:
        return
    rid = item["rollout_id"]
    try:
        act(store.skip, user, rid, state.get(comment_key(rid)) or None)
    except _Refused:
        return
    state[NOTICE] = ("info", f"Item {rid} skipped.")
    next_item()


def on_undo() -> None:
    try:
        undone = act(store.undo_last, user)
    except _Refused:
        return
    if undone is None:
        state[NOTICE] = ("info", "Nothing to undo.")
        return
    if undone["removed"]:
        state[NOTICE] = ("info", f"Score of item {undone['rollout_id']} undone: score it again.")
    else:
        state[NOTICE] = ("info", f"Item {undone['rollout_id']} is back to score {undone['score']}.")
    next_item()


def on_flag(rollout_id: int) -> None:
    state[flag_key(rollout_id)] = not state.get(flag_key(rollout_id), False)
    if state[flag_key(rollout_id)]:
        state[FOCUS] = state.get(FOCUS, 0) + 1


# -- the item ---------------------------------------------------------------------------
if ITEM not in state or state[ITEM] is None:
    state[ITEM] = store.next_item(user)
    state[SHOWN_AT] = time.monotonic()
item = state[ITEM]

notice = state.pop(NOTICE, None)
if notice and notice[0] == "error":
    st.error(notice[1])
elif notice:
    st.toast(notice[1])  # a toast does not push the item down the page

if item is None:
    st.title("Annotate")
    st.success("Nothing left to score for you right now. Thank you!")
    keyboard.key_button("Undo my last score", keyboard.UNDO_KEY, key="annotate_undo", on_click=on_undo)
else:
    rid, task = item["rollout_id"], item["task"]
    guideline = guideline_for(task)
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader(guideline.title)
        st.caption(f"Item {rid} · task {task}")
        with st.expander("Prompt", expanded=True):
            render_messages(item["messages"])
        st.markdown("**Completion** (shown as plain text)")
        render_completion(item["completion"])
    with right:
        st.markdown("**Score**")
        buttons = st.columns(5)
        for score, col in zip(keyboard.SCORE_KEYS, buttons, strict=True):
            with col:
                keyboard.key_button(str(score), keyboard.SCORE_KEYS[score], key=f"annotate_score_{score}",
                                    on_click=on_score, args=(score,), type="primary", width="stretch")
        actions = st.columns(3)
        with actions[0]:
            keyboard.key_button("Skip", keyboard.SKIP_KEY, key="annotate_skip", on_click=on_skip,
                                width="stretch")
        with actions[1]:
            keyboard.key_button("Undo", keyboard.UNDO_KEY, key="annotate_undo", on_click=on_undo,
                                width="stretch")
        with actions[2]:
            keyboard.key_button("Flag", keyboard.FLAG_KEY, key="annotate_flag_toggle", on_click=on_flag,
                                args=(rid,), width="stretch")
        st.checkbox("Reward looks wrong here", key=flag_key(rid),
                    help="Saved with your score. Say why in the comment.")
        st.text_area("Comment", key=comment_key(rid), height=80, max_chars=5000,
                     placeholder="Why does the reward look wrong? (Esc leaves this box)")
        if state.pop(FOCUS, None):
            keyboard.focus_text_area(comment_key(rid), nonce=time.monotonic_ns())
        with st.container(border=True):
            st.markdown(guideline.to_markdown())
            st.caption(f"{GENERAL_PT} — *{GENERAL_EN}*")

# -- progress ---------------------------------------------------------------------------
st.divider()
progress = store.progress(user)
mine, team = progress["mine"], progress["team"]
cols = st.columns(4)
cols[0].metric("My scores", mine["scored"], help=f"{mine['flagged']} flagged, {mine['skipped']} skipped")
cols[1].metric("Team: items scored", f"{team['items_scored']} / {team['items_total']}",
               help=f"{team['annotations']} scores by {team['annotators']} annotators; "
                    f"{team['items_complete']} items have all the scores they need")
median = progress["median_seconds"]
cols[2].metric("My median time per item", "—" if median is None else f"{median:.1f} s")
cols[3].metric("Items fully scored", team["items_complete"])
with st.expander("Progress per task"):
    st.dataframe(
        [{"task": task, "items": t["items"], "scored": t["scored"], "complete": t["complete"],
          "audit minimum": t["minimum"], "minimum reached": t["reached"], "mine": mine["by_task"].get(task, 0)}
         for task, t in progress["per_task"].items()],
        hide_index=True,
    )
with st.expander("Keyboard shortcuts"):
    st.markdown(keyboard.help_markdown())
