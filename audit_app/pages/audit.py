"""Audit & gate page: do the rewards rank completions the way people do?

Engineers and reviewers (and admins) see, per task, Spearman rho with its prompt-bootstrap
CI, the within-prompt tau (the order GRPO uses) with its CI, the inter-annotator agreement
and the ceiling it sets, ties, the gate verdict and how many more scores each task needs;
the exploit check (each family's median reward against the bar, an example each); the
charts; the disagreement queue with a click-through to each rollout; and record a gate
decision. Engineers are offered to sample what the store lacks. Admins also edit the
thresholds (every change is kept). The sections are tabs, each drawn only while it is
open, so the per-task table paints first. The audit is cached per (store revision, reward
versions) by audit_app.audit.cache; statistics live in audit_app.audit; this page only
shows them.
"""

import pandas as pd
import streamlit as st

from audit_app.audit import cache as audit_cache
from audit_app.audit import charts as audit_charts
from audit_app.audit import gate
from audit_app.audit import stats as audit_stats
from audit_app.audit.bootstrap import DEFAULT_BOOT
from audit_app.audit.format import display_rows, exploit_rows
from audit_app.jobs.shortfall import sample_missing, shortfalls
from audit_app.ui.context import get_store, page_guard
from audit_app.ui.render import render_completion, render_messages
from data.store.errors import StoreError
from data.store.thresholds import THRESHOLD_KEYS
from rewards.types import TASKS

VIA = "Audit & gate page"
THRESHOLD_LABELS = {
    "min_items": "Scored items per task, at least", "min_prompts": "Prompts among them, at least",
    "min_annotators": "Annotators per task, at least", "min_overlap": "Items scored by two people, at least",
    "min_rho": "Spearman rho, at least", "min_ci_low": "rho's 95% CI lower bound, above",
    "min_within_tau": "Within-prompt tau, at least", "min_within_ci_low": "Within-prompt tau's CI lower bound, above",
}

user = page_guard("engineer", "reviewer")
store = get_store()

st.title("Audit & gate")
st.caption("A GRPO run may start only for tasks whose reward orders completions the way people do, "
           "across prompts (rho) and within each prompt's group (what GRPO uses).")

with st.sidebar:
    tasks = st.multiselect("Tasks", TASKS, default=list(TASKS), key="audit_tasks")
    # The default is what the app's warm-up computes ahead of the first visit (audit_app.ui.warmup).
    n_boot = st.select_slider("Bootstrap resamples", [500, 1000, 2000, 5000], value=DEFAULT_BOOT, key="audit_boot")
    seed = st.number_input("Bootstrap seed", 0, 2**31 - 1, 0, key="audit_seed")
    refresh = st.button("Recompute", key="audit_refresh", help="The audit is recomputed by itself whenever a score, "
                        "a rollout, a threshold or a reward changes; this forces it.")
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
if current is not None:
    made = f"#{current.id} ({current.computed_by}{', ' + current.computed_via if current.computed_via else ''}, " \
           f"{current.computed_at[:19].replace('T', ' ')})"
if current is None:
    st.warning("No gate decision for the current reward versions of these tasks: training is blocked "
               "until one is recorded and passes.")
elif current.passed(tasks):
    st.success(f"Gate decision {made} passes {', '.join(tasks)}.")
else:
    st.error(f"Gate decision {made} blocks training:")
    for reason in current.reasons(tasks):
        st.markdown(f"- {reason}")

# -- the audit (cached per store revision and reward versions) -------------------------------
if refresh:
    audit_cache.clear()
try:
    with st.spinner("Computing the audit..."):
        report, fresh = audit_cache.cached_report(store, tasks, n_boot=int(n_boot), seed=int(seed))
except (ImportError, StoreError, ValueError, LookupError) as exc:
    st.error(f"The audit could not be computed: {exc}")
    st.stop()

if st.button("Record gate decision", type="primary", key="audit_record",
             help="Stores these verdicts under your name with the reward versions, thresholds and annotation snapshot."):
    decision = gate.compute_decision(store, user, tasks, n_boot=int(n_boot), seed=int(seed), via=VIA, report=report)
    st.session_state["audit_flash"] = f"Recorded gate decision #{decision.id}: " + \
        ("PASS" if decision.passed() else "FAIL")
    st.rerun()  # so the decision in force above shows the new one

# The page's sections are tabs drawn only while open (keyed tabs rerun on a switch): the
# browser renders hidden content too, and the charts and tables below the verdicts delayed
# the first paint of the per-task table by seconds.
GATE, EXPLOITS, CHARTS, QUEUE, SETTINGS = "Gate", "Exploit check", "Charts", "Disagreement queue", \
    "Thresholds & history"
tabs = dict(zip((GATE, EXPLOITS, CHARTS, QUEUE, SETTINGS),
                st.tabs([GATE, EXPLOITS, CHARTS, QUEUE, SETTINGS], key="audit_view", on_change="rerun"), strict=True))


def by_id() -> dict[int, dict]:
    """The audited rollouts by id (worked out once per report, and only by the tabs that open one)."""
    return report.memo("by_id", lambda: {it["rollout_id"]: it for t in report.tasks for it in report.items[t]})


def show_rollout(rid: int, row: dict | None = None) -> None:
    """One audited rollout opened from the queue or the scatter: prompt, completion, breakdown, scores."""
    item = by_id()[rid]
    with st.expander(f"Rollout {rid} · {item['task']} · prompt {item['prompt_id']}", expanded=True):
        gap = f" · rank gap {row['rank_diff']:+.2f} ({row['direction']})" if row else ""
        st.markdown(f"reward **{item['reward_total']:.3f}** · human **{audit_stats.human_score(item):.2f}**{gap}")
        st.markdown("Prompt")
        render_messages(item.get("prompt") or (store.get_prompt(item["prompt_id"]) or {}).get("prompt"))
        st.markdown("Completion")
        render_completion(item.get("completion"))
        st.markdown("Reward breakdown")
        st.json({"components": item.get("reward_components"), "notes": item.get("reward_notes")})
        st.markdown("Scores, flags and comments")
        st.dataframe(pd.DataFrame(item["annotations"]).drop(columns=["annotator_id"], errors="ignore"),
                     key=f"audit_scores_{rid}")


# -- per-task table and verdicts, what the store lacks -----------------------------------------
if tabs[GATE].open:
    with tabs[GATE]:
        st.subheader("Per task")
        # A static table: it wraps to the page's width instead of scrolling sideways.
        st.table(pd.DataFrame(display_rows(report)).set_index("task"))
        st.caption("rho: Spearman, reward vs the mean human score, 95% CI over prompts. In-prompt tau: Kendall "
                   "tau-b inside each prompt's group, averaged over prompts. Agreement α: ordinal Krippendorff alpha "
                   "between annotators (inter-annotator agreement). Ceiling: the highest rho a reward can be expected "
                   "to reach at that agreement, sqrt(k α / (1 + (k - 1) α)) with k scores per item. Tied pairs: share "
                   "of item pairs the reward scores equally. –: not measurable yet (the notes say why).")
        for t in report.tasks:
            verdict = report.verdicts[t]
            (st.success if verdict.passed else st.error)(("PASS  " if verdict.passed else "FAIL  ") + verdict.reason)
            for level, text in report.notes(t):
                (st.warning if level == "warning" else st.caption)(f"{t}: {text}")
        missing = shortfalls(store, report.tasks)
        if missing:
            st.subheader("Rollouts to sample")
            for task, short in missing.items():
                left, right = st.columns([3, 1])
                left.warning(short.message)
                if user.role in ("engineer", "admin") and right.button(f"Sample {short.missing} more {task}",
                                                                       key=f"audit_sample_{task}"):
                    try:
                        job_id, what = sample_missing(store, user, short)
                        st.session_state["audit_flash"] = f"Sampling job {job_id} started: {what}."
                        st.rerun()
                    except (ValueError, LookupError, PermissionError, FileNotFoundError, StoreError) as exc:
                        right.error(str(exc))

# -- the exploit check: can a policy game the reward? ------------------------------------------
if tabs[EXPLOITS].open:
    with tabs[EXPLOITS]:
        exploit_table = exploit_rows(report)
        st.caption("Ways of gaming each reward, built from a seeded sample of the task's prompts and scored by the "
                   "reward being audited. A family whose median reward reaches the bar fails the task: the bar is "
                   "the median reward of the items people scored 5 (0.40 before anyone has), or the good answers' "
                   "median when that is lower.")
        if not exploit_table:
            st.info("No exploit family could be built: the store has no prompts of these tasks yet.")
        else:
            st.dataframe(pd.DataFrame(exploit_table), hide_index=True, key="audit_exploits", column_config={
                "median": st.column_config.NumberColumn(format="%.2f"),
                "bar": st.column_config.NumberColumn(format="%.2f")})
        for t in report.tasks:
            check = report.exploits.get(t)
            if check is None or not check.families:
                continue
            with st.expander(f"Exploit examples, {t}: {check.summary().removeprefix('exploit check: ')}"):
                for name, fam in sorted(check.families.items(), key=lambda kv: -kv[1]["median"]):
                    example = fam["example"]
                    st.markdown(f"**{name}**{' · **FAIL**' if fam['failed'] else ''} · median {fam['median']:.2f} "
                                f"over {fam['n']} prompts · this example {example['breakdown']['total']:.2f}")
                    st.text(f"prompt {example['prompt_id']}")
                    render_completion(example["completion"])

# -- charts -----------------------------------------------------------------------------------
if tabs[CHARTS].open:
    with tabs[CHARTS]:
        left, right = st.columns(2)
        with left:
            st.markdown("**Reward vs people: rho, within-prompt tau, and the ceiling people's agreement sets**")
            st.plotly_chart(report.memo("rho", lambda: audit_charts.rho_figure(report.stats, report.thresholds)),
                            key="audit_rho_chart")
        with right:
            st.markdown("**Reward components vs people**")
            st.plotly_chart(report.memo("components", lambda: audit_charts.components_figure(report.stats)),
                            key="audit_comp_chart")
        st.markdown("**Human score vs reward** (click a point to open the rollout)")
        event = st.plotly_chart(report.memo(("scatter", int(seed)),
                                            lambda: audit_charts.scatter_figure(report.items, seed=int(seed))),
                                key="audit_scatter", on_select="rerun", selection_mode="points")
        # A clicked point's customdata is its row, starting with the rollout id (charts.scatter_figure).
        clicked = [int(c[0]) for c in (p.get("customdata") for p in (event.selection.points if event else []))
                   if isinstance(c, list | tuple) and c]
        if clicked and clicked[0] in by_id():
            show_rollout(clicked[0])

# -- disagreement queue with click-through, annotators' self-consistency ----------------------
if tabs[QUEUE].open:
    with tabs[QUEUE]:
        st.caption("Where reward rank and human rank differ most; items flagged 'reward looks wrong' first.")
        q_task = st.selectbox("Task", report.tasks, key="audit_queue_task")
        queue = report.queue(q_task, limit=50)
        if not queue:
            st.info(f"No scored {q_task} items yet.")
        else:
            st.dataframe(pd.DataFrame([{
                "rollout": r["rollout_id"], "reward": r["reward_total"], "human": r["human_score"],
                "rank gap": r["rank_diff"], "flags": r["flags"], "comments": len(r["comments"]),
                "direction": r["direction"],
            } for r in queue]), hide_index=True, key="audit_queue_table", column_config={
                "reward": st.column_config.NumberColumn(format="%.3f"),
                "human": st.column_config.NumberColumn(format="%.2f"),
                "rank gap": st.column_config.NumberColumn(format="%+.2f")})
            pick = st.selectbox("Open rollout", [None, *(r["rollout_id"] for r in queue)], key="audit_queue_pick",
                                format_func=lambda v: "choose a rollout..." if v is None else f"rollout {v}")
            if pick in by_id():
                show_rollout(pick, next((r for r in queue if r["rollout_id"] == pick), None))
        st.subheader("Annotators: self-consistency on repeated items")
        rows = [{"task": t, **r} for t in report.tasks for r in report.stats[t].self_consistency]
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, key="audit_selfcons", column_config={
                "exact": st.column_config.NumberColumn("same score", format="percent"),
                "within_one": st.column_config.NumberColumn("within one point", format="percent"),
                "mean_abs_diff": st.column_config.NumberColumn("mean |difference|", format="%.2f")})
        else:
            st.caption("No annotator has scored a repeated item yet.")

# -- thresholds (admins edit) and decision history --------------------------------------------
if tabs[SETTINGS].open:
    with tabs[SETTINGS]:
        st.subheader("Gate thresholds")
        th = store.gate_thresholds()
        st.caption(f"Revision {th['revision']} by {th['changed_by']}" + (f" at {th['changed_at']}" if th["changed_at"] else ""))
        st.json(th["config"])
        if user.role == "admin":
            with st.form("audit_thresholds_form"):
                d = th["config"]["defaults"]
                new = {}
                for name, (kind, low, high) in THRESHOLD_KEYS.items():
                    if kind is int:
                        new[name] = st.number_input(THRESHOLD_LABELS[name], int(low), int(high), int(d[name]),
                                                    key=f"audit_th_{name}")
                    else:
                        new[name] = st.number_input(THRESHOLD_LABELS[name], float(low), float(high), float(d[name]), 0.05,
                                                    key=f"audit_th_{name}")
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
            st.dataframe(pd.DataFrame([{**{k: h[k] or "-" for k in ("revision", "changed_by", "changed_at", "note")},
                                        **{k: str(h["config"]["defaults"].get(k, "-")) for k in THRESHOLD_KEYS}}
                                       for h in history]), hide_index=True, key="audit_th_history")

        st.subheader("Decision history")
        decisions = store.gate_decisions(limit=50)
        if decisions:
            st.dataframe(pd.DataFrame([{
                "id": d["id"], "when": d["computed_at"][:19].replace("T", " "), "by": d["computed_by"],
                "via": d.get("computed_via") or "-", "passed": d["passed"],
                "tasks": ", ".join(d["tasks"]), "in force": current is not None and d["id"] == current.id,
                "reward versions": ", ".join(f"{t}={v[:8]}" for t, v in d["reward_versions"].items()),
            } for d in decisions]).set_index("id"), key="audit_history")
        else:
            st.caption("No gate decision recorded yet.")
