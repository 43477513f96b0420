"""Rollouts (engineers): every completion in the store with its reward and its human scores,
filtered by task, model or checkpoint, reward range, human score and flags; open one to
read it with its prompt, reward breakdown and every score and comment."""

import pandas as pd
import streamlit as st

from audit_app.ui.context import get_store, page_guard
from audit_app.ui.navigation import page_button
from audit_app.ui.render import render_completion, render_messages
from audit_app.ui.team import number
from data.store.browse import BASE_CHECKPOINT, SORTS, RolloutFilter
from rewards.types import TASKS

PAGE_SIZE = 25
SORT_LABELS = {"newest": "newest first", "reward_high": "highest reward", "reward_low": "lowest reward",
               "disagreement": "reward vs humans, largest gap"}
HUMAN_LABELS = {"any": "any", "unscored": "not scored yet", "scored": "scored", "range": "mean score in a range"}

user = page_guard("engineer")
store = get_store()
st.title("Rollouts")

facets = store.rollout_facets(user)
if not facets:
    st.info("No rollouts yet: sample some from the base model, or import completions made elsewhere "
            "(Users & settings → Import, for admins).")
    page_button("sample.py", "Sample rollouts", ":material/casino:")
    st.stop()

sources = {None: "any model"} | {(f["model_id"], f["checkpoint_id"]): f"{f['model_id']} · "
                                 f"{f['checkpoint_id'] or 'base'} ({f['rollouts']})" for f in facets}
c1, c2, c3 = st.columns([1, 2, 2])
task = c1.selectbox("Task", [None, *TASKS], format_func=lambda t: t or "any task", key="rollouts_task")
source = c2.selectbox("Model / checkpoint", list(sources), format_func=sources.get, key="rollouts_source")
low, high = c3.slider("Reward", 0.0, 1.0, (0.0, 1.0), 0.05, key="rollouts_reward")
c4, c5, c6 = st.columns([2, 1, 2])
human = c4.selectbox("Human score", list(HUMAN_LABELS), format_func=HUMAN_LABELS.get, key="rollouts_human")
if human == "range":
    human = c4.slider("Mean human score", 1.0, 5.0, (1.0, 2.0), 0.5, key="rollouts_human_range")
flagged = c5.selectbox("Flagged", [None, True, False], key="rollouts_flagged",
                       format_func=lambda f: {None: "any", True: "flagged", False: "not flagged"}[f])
sort = c6.selectbox("Sort", list(SORTS), format_func=SORT_LABELS.get, key="rollouts_sort")

filters = RolloutFilter(task=task, model_id=source[0] if source else None,
                        checkpoint_id=(source[1] or BASE_CHECKPOINT) if source else None,
                        reward_min=low, reward_max=high, human=human, flagged=flagged)
total = store.count_browse(user, filters)
pages = max(1, -(-total // PAGE_SIZE))
page = st.columns([1, 3])[0].number_input(f"Page (of {pages}; {total:,} rollouts)", 1, pages, 1,
                                          key="rollouts_page")
rows = store.browse_rollouts(user, filters, sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
if not rows:
    st.info("No rollout matches these filters.")
    st.stop()
st.dataframe(pd.DataFrame([{
    "id": r["id"], "task": r["task"], "model": r["model_id"], "checkpoint": r["checkpoint_id"] or "base",
    "reward": number(r["reward_total"], 3), "scores": r["scores"], "mean human": number(r["mean_score"], 1),
    "flags": r["flags"], "completion": r["preview"],
} for r in rows]), hide_index=True, width="stretch", key="rollouts_table")

# -- one rollout ------------------------------------------------------------------------------
chosen = st.selectbox("Open rollout", [r["id"] for r in rows], key="rollouts_open",
                      format_func=lambda i: next(f"#{r['id']} · {r['task']} · reward {number(r['reward_total'], 3)}"
                                                 for r in rows if r["id"] == i))
detail = store.rollout_detail(user, chosen)
left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader(f"Rollout {detail['id']}")
    st.caption(f"{detail['task']} · prompt {detail['prompt_id']} · {detail['model_id']} · "
               f"{detail['checkpoint_id'] or 'base'} · sample {detail['sample_index']} · {detail['source']} "
               f"{detail['batch_id'] or ''}")
    with st.expander("Prompt"):
        render_messages(detail["prompt"]["prompt"] if detail["prompt"] else [])
    render_completion(detail["completion"])
with right:
    st.markdown(f"**Reward {number(detail['reward_total'], 3)}** · `{detail['reward_name']}` "
                f"version `{detail['reward_version']}`")
    comps = detail["reward_components"]
    if comps:
        st.table(pd.DataFrame({"component": list(comps), "points": [number(v, 3) for v in comps.values()]}),
                 hide_index=True)
    for note in detail["reward_notes"]:
        st.text(f"• {note}")
    st.markdown("**Human scores**")
    if detail["annotations"]:
        st.table(pd.DataFrame([{
            "annotator": a["annotator"], "round": "repeat" if a["round"] else "first",
            "score": "(flag only)" if a["score"] is None else a["score"], "flag": "yes" if a["flag_reward_wrong"] else "",
            "seconds": number(a["seconds"], 1), "comment": a["comment"] or "",
        } for a in detail["annotations"]]), hide_index=True)
    else:
        st.caption("Nobody has scored it yet.")
