"""Train & monitor page: launch a GRPO run once the audit gate passes, then watch it learn.

Engineers (and admins) pick a recipe, seeds and tasks to leave out; the launch button is
enabled only when audit_app.jobs.launch.check_launch allows it, and otherwise the reasons are
listed in words. The monitor refreshes every few seconds while a run is active: status,
alerts, live charts, checkpoints with their eval scores (best marked), and the log tail.
Rules live in audit_app.jobs.launch and the store; alerts and charts in audit_app.jobs.monitor.
"""

import pandas as pd
import streamlit as st

from audit_app.jobs import launch, monitor
from audit_app.ui.context import get_store, page_guard
from audit_app.ui.navigation import page_button
from data.store.errors import StoreError
from train.grpo.recipe import list_recipes, load_recipe

user = page_guard("engineer")
store = get_store()
launch.refresh(store)  # a killed run shows as failed now; the next queued seed starts

st.title("Train & monitor")
st.caption("GRPO runs start only on rewards the audit passed; the best evaluation, not the last step, "
           "decides which adapter a run hands back.")
if "train_flash" in st.session_state:
    st.success(st.session_state.pop("train_flash"))

# -- launch ---------------------------------------------------------------------------------
st.subheader("Launch")
left, mid, right = st.columns([2, 1, 2])
recipe_name = left.selectbox("Recipe", list_recipes(), key="train_recipe",
                             index=list_recipes().index("tucano2-0.5b-l4") if "tucano2-0.5b-l4" in list_recipes()
                             else 0)
try:
    recipe = load_recipe(recipe_name)
except ValueError as exc:
    st.error(str(exc))
    st.stop()
seeds_text = mid.text_input("Seeds", value=str(recipe.grpo.seed), key="train_seeds",
                            help="Several seeds (e.g. 42, 123, 456) queue and run one after another.")
exclude = right.multiselect("Leave out of the mix", recipe.data.tasks, key="train_exclude",
                            help="Tasks whose reward failed the audit can be excluded; the exclusion is recorded.")
try:
    chosen = recipe.with_overrides(exclude_tasks=exclude)
    seeds = launch.parse_seeds(seeds_text)
    check = launch.check_launch(store, user, chosen)
except (ValueError, LookupError, StoreError) as exc:
    st.error(str(exc))
    st.stop()
st.markdown(f"**{chosen.name}** — {chosen.description}  \nMix: {', '.join(chosen.tasks)}; "
            f"{chosen.grpo.max_steps} steps at most, evaluation every {chosen.grpo.eval_steps}, "
            f"{chosen.grpo.prompts_per_step} prompts x {chosen.grpo.num_generations} completions per step.")
if check.failing_tasks:
    st.info(f"The gate fails {', '.join(check.failing_tasks)}: leave them out to train on the other tasks.")
for reason in check.reasons:
    st.warning(reason)
if st.button("Launch training", type="primary", disabled=not check.allowed, key="train_launch"):
    try:
        ids = launch.launch(store, user, chosen, seeds)
    except (ValueError, LookupError, OSError, PermissionError, StoreError) as exc:
        st.error(f"Not launched: {exc}")
    else:
        queued = f"; runs {', '.join(map(str, ids[1:]))} queued after it" if len(ids) > 1 else ""
        st.session_state["train_flash"] = f"Run {ids[0]} started{queued}."
        st.rerun()

# -- runs -----------------------------------------------------------------------------------
st.subheader("Runs")
runs = store.list_runs(limit=30)
if not runs:
    st.info("No training run yet. The launch button above opens once the audit gate passes for the "
            "recipe's tasks; the gate needs human scores on sampled rollouts first.")
    page_button("audit.py", "Audit & gate", ":material/query_stats:")
    st.stop()
st.dataframe(pd.DataFrame([{
    "id": r["id"], "name": r["name"], "status": r["status"], "step": f"{r['step']}/{r['max_steps']}",
    "best step": r["best_step"], "best eval": r["best_score"], "tasks": ", ".join(r["tasks"]),
    "excluded": ", ".join(r["excluded_tasks"]), "gate": "skipped" if r["gate_skipped"] else f"#{r['gate_decision_id']}",
    "by": r["created_by"], "created": r["created_at"][:19],
} for r in runs]), hide_index=True, key="train_runs")
active = store.active_run()
ids = [r["id"] for r in runs]
run_id = st.selectbox("Run to watch", ids, index=ids.index(active["id"]) if active else 0, key="train_run",
                      format_func=lambda i: next(f"{r['id']}: {r['name']} ({r['status']})" for r in runs if r["id"] == i))


@st.fragment(run_every=5 if active else None)
def run_monitor(run_id: int) -> None:
    launch.refresh(store)
    view = monitor.run_view(store, run_id)
    run = view.run
    {"failed": st.error, "cancelled": st.warning, "finished": st.success}.get(run["status"], st.info)(view.headline)
    for alert in view.alerts:
        st.warning(f"**{alert.kind.replace('_', ' ')}** (step {alert.step}): {alert.message}")
        if alert.examples:
            with st.expander(f"What the policy wrote for {alert.task} (step {alert.examples[0]['step']})"):
                # Completions are model text: shown as dataframe cells, never as Markdown or HTML.
                st.dataframe(pd.DataFrame(monitor.example_rows(alert)), hide_index=True,
                             key=f"train_{alert.kind}_{run_id}_{alert.task}")
    buttons = st.columns(4)
    if run["status"] in ("queued", "starting", "running") and buttons[0].button("Cancel run", key="train_cancel"):
        try:
            launch.cancel(store, user, run_id)
        except (ValueError, LookupError, PermissionError, StoreError) as exc:
            st.error(str(exc))
        st.rerun(scope="app")
    if run["status"] in ("failed", "cancelled") and buttons[0].button("Resume run", key="train_resume"):
        try:
            launch.resume(store, user, run_id)
        except (ValueError, LookupError, PermissionError, OSError, StoreError) as exc:
            st.error(str(exc))
        else:
            st.rerun(scope="app")
    charts = st.columns(2)
    for i, (_title, fig) in enumerate(view.figures):
        charts[i % 2].plotly_chart(fig, key=f"train_chart_{run_id}_{i}", width="stretch")
    if not view.figures:
        st.caption("No metrics yet: the first logging step is on its way.")
    st.markdown("**Checkpoints** (eval score = eval reward at that step; ★ the best, kept in best_checkpoint/)")
    if view.checkpoints:
        st.dataframe(pd.DataFrame(view.checkpoints), hide_index=True, key=f"train_ckpts_{run_id}")
    else:
        st.caption("No checkpoint yet.")
    with st.expander("Log tail", expanded=run["status"] in ("running", "failed")):
        st.code(view.log or "(empty)", language=None)
    with st.expander("Run record"):
        st.json({k: run[k] for k in ("recipe_name", "seed", "tasks", "excluded_tasks", "gate_decision_id",
                                     "gate_skipped", "reward_versions", "git_commit", "created_by", "run_dir",
                                     "job_id", "resumes")})
        st.dataframe(pd.DataFrame(view.events), hide_index=True, key=f"train_events_{run_id}")


run_monitor(run_id)
