"""Annotate page: one completion at a time, scored 1-5 from the keyboard, blind.

The item comes from `store.next_item` (prompt and completion only: the reward, the model
and other people's scores never reach this page). Keys 1-5 save the score and show the
next item; S skips; U undoes my last score (its item comes back); F flags "the reward
looks wrong here" and puts the cursor in the comment box (Esc leaves it). Time per item
runs from the moment the server hands the item out to the moment the score arrives.

Every action button is keyed by the item it was drawn for, and its callback drops a press
meant for an item that is no longer the one on screen; in the browser a key guard ignores
auto-repeat and further keys until the next item is drawn (audit_app.ui.keyguard). So a
score always belongs to an item the annotator saw.

The item (with my own figures) and the team's progress are separate fragments: a key
press reruns only the item panel (save, next item, render), and the team panel
refreshes on its own every few seconds. Each fragment run re-reads the account: a user
disabled or given another role meanwhile goes back to the log-in page.
"""

import time

import streamlit as st

from audit_app.ui import item_view, keyboard, keyguard
from audit_app.ui.context import current_user, get_store, keep_session, page_guard
from audit_app.ui.guidelines import GENERAL_EN, GENERAL_PT, guideline_for
from data.store.errors import StoreError

ITEM = "annotate_item"
SHOWN_AT = "annotate_shown_at"
NOTICE = "annotate_notice"
FOCUS = "annotate_focus"
PANEL_MS = "annotate_panel_ms"
PROGRESS_REFRESH_S = 10
ITEM_MARKER = "annotate_item_"  # the container of the item on screen: annotate_item_<rollout id>
SCORE_PREFIX = "annotate_score_"  # its score buttons: annotate_score_<rollout id>_<score>

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


def shown_id() -> int | None:
    item = state.get(ITEM)
    return item["rollout_id"] if item else None


def acting_on(rid: int):
    """The user, when a press drawn for item `rid` may act now; None drops it silently
    (another item is on screen, or the session ended: the panel then leaves the page)."""
    if not keyguard.on_screen(shown_id(), rid):
        return None
    return current_user()


def on_score(rid: int, score: int) -> None:
    me = acting_on(rid)
    if me is None:
        return
    flagged = bool(state.get(flag_key(rid)))
    seconds = time.monotonic() - state.get(SHOWN_AT, time.monotonic())
    try:
        saved = act(store.record_annotation, me, rid, score, flag=flagged,
                    comment=state.get(comment_key(rid)) or None, seconds=round(seconds, 2))
    except _Refused:
        return
    what = "updated your earlier score" if saved.updated else "saved"
    state[NOTICE] = ("success", f"Item {rid}: {what} {score}{' with a flag' if flagged else ''}.")
    next_item()


def on_skip(rid: int) -> None:
    me = acting_on(rid)
    if me is None:
        return
    try:
        act(store.skip, me, rid, state.get(comment_key(rid)) or None)
    except _Refused:
        return
    state[NOTICE] = ("info", f"Item {rid} skipped.")
    next_item()


def on_undo() -> None:
    me = current_user()
    if me is None:
        return
    try:
        undone = act(store.undo_last, me)
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
    if acting_on(rollout_id) is None:
        return
    state[flag_key(rollout_id)] = not state.get(flag_key(rollout_id), False)
    if state[flag_key(rollout_id)]:
        state[FOCUS] = state.get(FOCUS, 0) + 1


# -- the item (a fragment: a key press reruns only this part) ----------------------------
@st.fragment
def item_panel() -> None:
    started = time.perf_counter()
    me = keep_session(user)
    if state.get(ITEM) is None:
        try:
            state[ITEM] = store.next_item(me)
        except (StoreError, PermissionError) as exc:
            st.error(str(exc))
            return
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
        show_unreachable()
        keyboard.key_button("Undo my last score", keyboard.UNDO_KEY, key="annotate_undo", on_click=on_undo)
        show_my_progress(me)
    else:
        show_item(item, me)
    # Server-side time of this panel (save callback excluded), kept for the benchmark.
    state[PANEL_MS] = (time.perf_counter() - started) * 1000


def show_unreachable() -> None:
    """Tasks whose audit goal the rollouts in the store cannot reach: say so, and who can help."""
    try:
        per_task = store.progress()["per_task"]
    except (StoreError, PermissionError):
        return
    for task, t in per_task.items():
        if t["short_of_rollouts"]:
            st.warning(f"{task}: the audit needs {t['goal']} scored items, but the store holds only "
                       f"{max(t['items'], t['scored'])} {task} completions. An engineer must sample "
                       f"{t['short_of_rollouts']} more (Sample rollouts page) before this task can be audited.")


def show_my_progress(me) -> None:
    """My own figures, fresh after every key press (counter rows: a millisecond)."""
    try:
        progress = store.progress(me)
    except (StoreError, PermissionError) as exc:
        st.error(str(exc))
        return
    mine, median = progress["mine"], progress["median_seconds"]
    cols = st.columns(3)
    cols[0].metric("My scores", mine["scored"])
    cols[1].metric("My median time per item", "—" if median is None else f"{median:.1f} s")
    cols[2].metric("Flagged / skipped", f"{mine['flagged']} / {mine['skipped']}")


def show_item(item: dict, me) -> None:
    rid, task = item["rollout_id"], item["task"]
    guideline = guideline_for(task)
    left, right = st.columns([3, 2], gap="large")
    with left, st.container(key=f"{ITEM_MARKER}{rid}"):
        st.subheader(guideline.title)
        st.caption(f"Item {rid} · task {task}")
        item_view.prompt_and_completion(item)
        st.write("")
        show_my_progress(me)
    with right:
        st.markdown("**Score**")
        buttons = st.columns(5)
        for score, col in zip(keyboard.SCORE_KEYS, buttons, strict=True):
            with col:
                keyboard.key_button(str(score), keyboard.SCORE_KEYS[score], key=f"{SCORE_PREFIX}{rid}_{score}",
                                    on_click=on_score, args=(rid, score), type="primary", width="stretch")
        actions = st.columns(3)
        with actions[0]:
            keyboard.key_button("Skip", keyboard.SKIP_KEY, key=f"annotate_skip_{rid}", on_click=on_skip,
                                args=(rid,), width="stretch")
        with actions[1]:
            keyboard.key_button("Undo", keyboard.UNDO_KEY, key="annotate_undo", on_click=on_undo,
                                width="stretch")
        with actions[2]:
            keyboard.key_button("Flag", keyboard.FLAG_KEY, key=f"annotate_flag_toggle_{rid}", on_click=on_flag,
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


# -- team progress (its own fragment on a timer: scoring never waits for it) ---------------
@st.fragment(run_every=PROGRESS_REFRESH_S)
def team_panel() -> None:
    me = keep_session(user)
    try:
        progress = store.progress(me)
    except (StoreError, PermissionError) as exc:
        st.error(str(exc))
        return
    mine, team = progress["mine"], progress["team"]
    cols = st.columns(3)
    cols[0].metric("Team: items scored", f"{team['items_scored']} / {team['items_total']}")
    cols[1].metric("Team: items fully scored", team["items_complete"],
                   help="Items with all the annotators they need (agreement items need more than one).")
    cols[2].metric("Team: scores", team["annotations"], help=f"by {team['annotators']} annotators")
    st.markdown("**Per task** (the audit needs this many scored items in every task)")
    st.dataframe(
        [{"task": task, "items": t["items"], "scored": t["scored"], "complete": t["complete"],
          "audit needs": t["goal"], "reached": t["reached"],
          "reachable": "yes" if not t["short_of_rollouts"] else f"no: {t['short_of_rollouts']} more to sample",
          "mine": mine["by_task"].get(task, 0)}
         for task, t in progress["per_task"].items()],
        hide_index=True,
    )
    st.caption(f"Team figures refresh every {PROGRESS_REFRESH_S} s.")


keyguard.install(ITEM_MARKER, SCORE_PREFIX, keys=keyboard.page_keys(), advance=keyboard.advancing_keys())
item_panel()
st.divider()
team_panel()
with st.expander("Keyboard shortcuts"):
    st.markdown(keyboard.help_markdown())
