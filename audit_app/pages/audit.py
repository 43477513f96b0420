"""Audit & gate page: do the rewards rank completions the way people do?

Engineers and reviewers (and admins) see, per task, Spearman rho with its prompt-bootstrap
CI, Kendall tau-b, ties, the human agreement ceiling, within-prompt ranking and the gate
verdict; the charts; the disagreement queue with a click-through to each rollout; and
record a gate decision. Admins also edit the thresholds (every change is kept).
Statistics live in audit_app.audit.stats / audit_app.gate; this page only shows them.
"""

import pandas as pd
import streamlit as st

from audit_app.audit import charts as audit_charts
from audit_app.audit import gate
from audit_app.audit.report import AuditReport, audit_report
from audit_app.ui.context import get_store, page_guard
from audit_app.ui.render import render_completion, render_messages
from data.store.errors import StoreError
from rewards.types import TASKS

user = page_guard("engineer", "reviewer")
store = get_store()

st.title("Audit & gate")
st.caption("A GRPO run may start only for tasks whose reward ranks completions the way people do.")

with st.sidebar:
    tasks = st.multiselect("Tasks", TASKS, default=list(TASKS), key="audit_tasks")
    n_boot = st.select_slider("Bootstrap resamples", [500, 1000, 2000, 5000], value=2000, key="audit_boot")
    seed = st.number_input("Bootstrap seed", 0, 2**31 - 1, 0, key="audit_seed")
    refresh = st.button("Recompute", key="audit_refresh")
if not tasks:
    st.info("Pick at least one task in the sidebar.")
    st.stop()

# -- the gate decision in force -------------------------------------------------------------
if "audit_flash" in st.session_state:
    st.info(st.session_state.pop("audit_flash"))
try:
    current = gate.current_decision(store, tasks)
except (ImportError, StoreError, ValueError, LookupError) as exc:
    st.error(f"Cannot read the gate: {exc}")
    st.stop()
if current is None:
    st.warning("No gate decision for the current reward versions of these tasks: training is blocked "
               "until one is recorded and passes.")
elif current.passed(tasks):
    st.success(f"Gate decision #{current.id} ({current.computed_by}, {current.computed_at}) passes "
               f"{', '.join(tasks)}.")
else:
    st.error(f"Gate decision #{current.id} ({current.computed_by}, {current.computed_at}) blocks training:")
    for reason in current.reasons(tasks):
        st.markdown(f"- {reason}")

# -- the audit (recomputed when the annotations, thresholds or settings change) --------------
snapshot = store.annotation_snapshot(tasks)[0]
key = (tuple(tasks), int(n_boot), int(seed), snapshot, store.gate_thresholds()["revision"])
if refresh or st.session_state.get("audit_key") != key:
    try:
        with st.spinner("Computing the audit..."):
            st.session_state["audit_report"] = audit_report(store, tasks, n_boot=int(n_boot), seed=int(seed))
        st.session_state["audit_key"] = key
    except (ImportError, StoreError, ValueError, LookupError) as exc:
        st.error(f"The audit could not be computed: {exc}")
        st.stop()
report: AuditReport = st.session_state["audit_report"]

if st.button("Record gate decision", type="primary", key="audit_record",
             help="Stores the verdicts with the reward versions, thresholds and annotation snapshot."):
    decision = gate.compute_decision(store, user, tasks, n_boot=int(n_boot), seed=int(seed))
    st.session_state["audit_flash"] = f"Recorded gate decision #{decision.id}: " + \
        ("PASS" if decision.passed() else "FAIL")
    st.rerun()  # so the decision in force above shows the new one

# -- per-task table and verdicts -------------------------------------------------------------
st.subheader("Per task")
table = pd.DataFrame(report.rows()).set_index("task")
st.dataframe(table, key="audit_table", column_config={
    "rho": st.column_config.NumberColumn("rho", format="%.2f"),
    "ci_low": st.column_config.NumberColumn("CI low", format="%.2f"),
    "ci_high": st.column_config.NumberColumn("CI high", format="%.2f"),
    "p_value": st.column_config.NumberColumn("p", format="%.3g"),
    "tau_b": st.column_config.NumberColumn("tau-b", format="%.2f"),
    "reward_ties": st.column_config.NumberColumn("tied pairs", format="percent"),
    "alpha": st.column_config.NumberColumn("alpha", format="%.2f"),
    "alpha_ci_low": st.column_config.NumberColumn("alpha low", format="%.2f"),
    "alpha_ci_high": st.column_config.NumberColumn("alpha high", format="%.2f"),
    "within_prompt_tau": st.column_config.NumberColumn("in-prompt tau", format="%.2f"),
})
for t in report.tasks:
    verdict = report.verdicts[t]
    (st.success if verdict.passed else st.error)(("PASS  " if verdict.passed else "FAIL  ") + verdict.reason)
    for level, text in report.notes(t):
        (st.warning if level == "warning" else st.caption)(f"{t}: {text}")

# -- charts -----------------------------------------------------------------------------------
left, right = st.columns(2)
with left:
    st.markdown("**Reward vs people, and people vs people**")
    st.plotly_chart(audit_charts.rho_figure(report.stats, report.thresholds), key="audit_rho_chart")
with right:
    st.markdown("**Reward components vs people**")
    st.plotly_chart(audit_charts.components_figure(report.stats), key="audit_comp_chart")
st.markdown("**Human score vs reward** (click a point to open the rollout)")
event = st.plotly_chart(audit_charts.scatter_figure(report.items, seed=int(seed)), key="audit_scatter",
                        on_select="rerun", selection_mode="points")
# A clicked point carries its rollout id as customdata (a scalar, or a one-element list).
clicked = [c[0] if isinstance(c, list | tuple) else c
           for c in (p.get("customdata") for p in (event.selection.points if event else [])) if c]

with st.expander("Human ceiling: self-consistency on repeated items"):
    rows = [{"task": t, **r} for t in report.tasks for r in report.stats[t].self_consistency]
    if rows:
        st.dataframe(pd.DataFrame(rows), key="audit_selfcons")
    else:
        st.caption("No annotator has scored a repeated item yet.")

# -- disagreement queue with click-through ----------------------------------------------------
st.subheader("Disagreement queue")
st.caption("Where reward rank and human rank differ most; items flagged 'reward looks wrong' first.")
q_task = st.selectbox("Task", report.tasks, key="audit_queue_task")
queue = report.queue(q_task, limit=50)
if not queue:
    st.info(f"No scored {q_task} items yet.")
else:
    st.dataframe(pd.DataFrame([{
        "rollout": r["rollout_id"], "reward": r["reward_total"], "human": r["human_score"],
        "rank gap": r["rank_diff"], "flags": r["flags"], "comments": len(r["comments"]), "direction": r["direction"],
    } for r in queue]).set_index("rollout"), key="audit_queue_table")
    ids = [r["rollout_id"] for r in queue]
    pick = st.selectbox("Open rollout", [None, *ids], key="audit_queue_pick",
                        format_func=lambda v: "choose a rollout..." if v is None else f"rollout {v}")
by_id = {it["rollout_id"]: it for t in report.tasks for it in report.items[t]}
pick = st.session_state.get("audit_queue_pick")
opened = [r for r in dict.fromkeys([pick, *clicked[:1]]) if r in by_id]
for rid in opened:
    item = by_id[rid]
    row = next(r for r in report.queue(item["task"], limit=None) if r["rollout_id"] == rid)
    with st.expander(f"Rollout {rid} · {item['task']} · prompt {item['prompt_id']}", expanded=True):
        st.markdown(f"reward **{item['reward_total']:.3f}** · human **{row['human_score']:.2f}** · "
                    f"rank gap {row['rank_diff']:+.2f} ({row['direction']})")
        st.markdown("Prompt")
        render_messages(item.get("prompt"))
        st.markdown("Completion")
        render_completion(item.get("completion"))
        st.markdown("Reward breakdown")
        st.json({"components": item.get("reward_components"), "notes": item.get("reward_notes")})
        st.markdown("Scores, flags and comments")
        st.dataframe(pd.DataFrame(item["annotations"]).drop(columns=["annotator_id"], errors="ignore"),
                     key=f"audit_scores_{rid}")

# -- thresholds (admins edit) and decision history --------------------------------------------
with st.expander("Gate thresholds"):
    th = store.gate_thresholds()
    st.caption(f"Revision {th['revision']} by {th['changed_by']}" + (f" at {th['changed_at']}" if th["changed_at"] else ""))
    st.json(th["config"])
    if user.role == "admin":
        with st.form("audit_thresholds_form"):
            d = th["config"]["defaults"]
            new = {
                "min_items": st.number_input("Scored items per task, at least", 3, 100000, d["min_items"],
                                             key="audit_th_items"),
                "min_annotators": st.number_input("Annotators per task, at least", 1, 1000, d["min_annotators"],
                                                  key="audit_th_people"),
                "min_rho": st.number_input("Spearman rho, at least", -1.0, 1.0, float(d["min_rho"]), 0.05,
                                           key="audit_th_rho"),
                "min_ci_low": st.number_input("CI lower bound, above", -1.0, 1.0, float(d["min_ci_low"]), 0.05,
                                              key="audit_th_ci"),
            }
            note = st.text_input("Why the change", key="audit_th_note")
            if st.form_submit_button("Save thresholds"):
                try:
                    rev = store.set_gate_thresholds(user, {"version": th["config"]["version"], "defaults": new,
                                                           "tasks": th["config"]["tasks"]}, note=note or None)
                    st.success(f"Saved thresholds revision {rev}.")
                except (StoreError, ValueError) as exc:
                    st.error(str(exc))
    history = store.gate_threshold_history()
    if history:
        st.dataframe(pd.DataFrame([{**{k: h[k] for k in ("revision", "changed_by", "changed_at", "note")},
                                    **h["config"]["defaults"]} for h in history]), key="audit_th_history")

with st.expander("Decision history"):
    decisions = store.gate_decisions(limit=50)
    if decisions:
        st.dataframe(pd.DataFrame([{
            "id": d["id"], "when": d["computed_at"], "by": d["computed_by"], "passed": d["passed"],
            "tasks": ", ".join(d["tasks"]), "in force": current is not None and d["id"] == current.id,
            "reward versions": ", ".join(f"{t}={v[:8]}" for t, v in d["reward_versions"].items()),
        } for d in decisions]).set_index("id"), key="audit_history")
    else:
        st.caption("No gate decision recorded yet.")
