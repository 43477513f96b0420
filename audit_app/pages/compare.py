"""Base vs tuned (reviewers and engineers): the per-task table and delta chart, then every
eval prompt side by side with inline differences and reward breakdowns, filterable and
sortable by delta, with reviewer notes; engineers can start a comparison as a job.

Completions are untrusted: the diff view escapes them (audit_app.ui.diffview) and the raw
text is shown through st.code.
"""

import json

import pandas as pd
import streamlit as st

from audit_app.ui import diffview
from audit_app.ui.context import get_store, page_guard
from audit_app.ui.navigation import page_button
from audit_app.ui.render import render_messages
from data.store.compare import BASE, OUTCOMES
from train.compare import report as report_mod

PAGE_SIZE = 10
SORT_LABELS = {"delta_desc": "largest gain first", "delta_asc": "largest loss first", "position": "eval order"}

user = page_guard("reviewer", "engineer")
store = get_store()
st.title("Base vs tuned")

# -- start a comparison (engineers) ----------------------------------------------------------
if user.role in ("engineer", "admin"):
    from audit_app.cli.compare import start_compare_job
    from data import paths
    from train.compare.evaluate import (
        DEFAULT_MAX_NEW_TOKENS,
        DEFAULT_SAMPLES,
        DEFAULT_TEMPERATURE,
    )
    from train.compare.sides import list_adapters

    with st.expander("Run a comparison", expanded=not store.list_comparisons()):
        found = list_adapters()
        if not found:
            st.info("No trained adapter yet: a comparison needs the checkpoint of a finished training run. "
                    "Launch one on Train & monitor, or give an adapter folder made elsewhere below.")
            page_button("training.py", "Train & monitor", ":material/model_training:")
        with st.form("compare_new_form"):
            chosen = st.multiselect("Tuned adapters (one per seed)", [a["path"] for a in found],
                                    default=[found[0]["path"]] if found else [], key="compare_new_adapters",
                                    format_func=lambda p: next(a["label"] for a in found if a["path"] == p))
            other = st.text_input("Other adapter folder (optional)", key="compare_new_other")
            recorded = next((a["base_model"] for a in found if a["path"] in chosen and a["base_model"]), None)
            base = st.text_input("Base model (hub id, folder, `demo` or `demo-raw`)", value=recorded or "demo",
                                 key="compare_new_base")
            eval_path = st.text_input("Eval set", value=str(paths.eval_prompts()), key="compare_new_eval")
            c1, c2, c3 = st.columns(3)
            temperature = c1.number_input("Temperature", 0.0, 2.0, DEFAULT_TEMPERATURE, 0.05,
                                          key="compare_new_temperature")
            samples = c2.number_input("Samples per prompt", 1, 16, DEFAULT_SAMPLES, key="compare_new_samples")
            max_new = c3.number_input("Max new tokens", 1, 4096, DEFAULT_MAX_NEW_TOKENS,
                                      key="compare_new_max_tokens")
            start = st.form_submit_button("Start comparison", type="primary")
        if start:
            adapters = list(chosen) + ([other.strip()] if other.strip() else [])
            try:
                job_id = start_compare_job(store, user, base=base.strip(), adapters=adapters,
                                           eval_path=eval_path.strip() or None, temperature=float(temperature),
                                           samples=int(samples), max_new_tokens=int(max_new))
                st.success(f"Comparison started as job {job_id}; follow it on the Jobs page. "
                           "It appears below once its first results are stored.")
            except (ValueError, LookupError, FileNotFoundError, PermissionError) as exc:
                st.error(str(exc))

# -- choose a comparison ---------------------------------------------------------------------
comparisons = store.list_comparisons()
if not comparisons:
    if user.role in ("engineer", "admin"):
        st.info("No comparison yet: start one above once a training run has produced an adapter.")
    else:
        st.info("No comparison yet. Engineers start one on this page once a training run has produced an "
                "adapter; it appears here, with its side-by-side examples, as soon as its first results are "
                "stored. Meanwhile the audit shows how the rewards compare with human scores.")
        page_button("audit.py", "Audit & gate", ":material/query_stats:")
    st.stop()


def _describe(c: dict) -> str:
    flag = " · PARTIAL" if c["progress"]["partial"] else ""
    return f"#{c['id']} {', '.join(c['side_labels'])} vs base ({c['status']}{flag}, {c['created_at'][:16]})"


by_id = {c["id"]: c for c in comparisons}
cid = st.selectbox("Comparison", list(by_id), format_func=lambda i: _describe(by_id[i]), key="compare_id")
comparison = by_id[cid]
rep = report_mod.build_report(store, cid)
if rep["partial"]:
    st.warning(rep["status_line"])
else:
    st.caption(rep["status_line"])
sides = list(rep["sides"])
side = sides[0] if len(sides) == 1 else st.selectbox("Tuned side", sides, key="compare_side")
st.caption(f"Base `{comparison['base_model']}` · tuned `{side}` · temperature "
           f"{comparison['gen_params'].get('temperature')} · {comparison['samples']} sample(s) per prompt")

# -- table and chart -------------------------------------------------------------------------
st.subheader("Per task")
st.markdown("\n".join(report_mod.main_table(rep["sides"][side])))
st.plotly_chart(report_mod.delta_figure(rep), key="compare_chart")
with st.expander("Wilcoxon, effect size and confidence intervals"):
    st.markdown("\n".join(report_mod.detail_table(rep["sides"][side])))
if rep["seeds"]:
    with st.expander("Across seeds", expanded=True):
        st.markdown("\n".join(report_mod.seeds_table(rep["seeds"])))

# -- side by side ----------------------------------------------------------------------------
st.subheader("Side by side")
f1, f2, f3, f4 = st.columns([2, 2, 2, 2])
tasks = f1.multiselect("Task", comparison["tasks"], key="compare_tasks")
outcome = f2.selectbox("Outcome", ["all", *OUTCOMES], key="compare_outcome")
min_delta = f3.slider("|Δ reward| at least", 0.0, 1.0, 0.0, 0.05, key="compare_min_delta")
sort = f4.selectbox("Sort", list(SORT_LABELS), format_func=SORT_LABELS.get, key="compare_sort")
filters = {"tasks": tasks or None, "outcome": None if outcome == "all" else outcome, "min_abs_delta": min_delta}
total = store.count_compare_examples(cid, side, **filters)
pages = max(1, -(-total // PAGE_SIZE))
page = st.number_input(f"Page (of {pages}; {total} prompts)", 1, pages, 1, key="compare_page") if pages > 1 else 1
examples = store.compare_examples(cid, side, **filters, sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
if not examples:
    st.info("No paired prompt matches these filters.")
st.html(diffview.DIFF_CSS)


def _breakdown(result: dict) -> None:
    comps = result["reward_components"]
    tokens = "" if result["completion_tokens"] is None else f" · {result['completion_tokens']} tokens"
    st.caption(f"reward **{result['reward_total']:.3f}**{tokens}"
               + (" · hit the token limit" if result.get("truncated") else ""))
    if comps:
        st.dataframe(pd.DataFrame({"component": list(comps), "points": list(comps.values())}),
                     hide_index=True, width="stretch")
    for note in result["reward_notes"]:
        st.text(f"• {note}")


for e in examples:
    pid = e["prompt_id"]
    with st.container(border=True, key=f"compare_ex_{pid}"):
        st.markdown(f"**`{pid}`** · {e['task']} · base {e['base']:.3f} → tuned {e['tuned']:.3f} · "
                    f"Δ **{e['delta']:+.3f}** ({e['outcome']})")
        with st.expander("Prompt"):
            render_messages(e["messages"])
        n = min(len(e["base_results"]), len(e["tuned_results"]))
        s = st.radio("Sample", list(range(n)), horizontal=True, key=f"compare_sample_{pid}") if n > 1 else 0
        b, t = e["base_results"][s], e["tuned_results"][s]
        left, right = diffview.inline_diff(b["completion"], t["completion"])
        col_b, col_t = st.columns(2)
        with col_b:
            st.markdown(f"**{BASE}**")
            st.html(left)
            _breakdown(b)
        with col_t:
            st.markdown("**tuned**")
            st.html(right)
            _breakdown(t)
        if b["completion"] == t["completion"]:
            st.caption("Identical completions.")
        if e["task"] == "extraction":
            rows = diffview.field_diff(b["completion"], t["completion"])
            if rows is None:
                st.caption("Neither side holds a JSON object.")
            else:
                st.dataframe(pd.DataFrame([{"field": r.field, "base": r.left, "tuned": r.right, "": r.status}
                                           for r in rows]), hide_index=True, width="stretch")
                with st.expander("JSON, pretty-printed"):
                    jb, jt = st.columns(2)
                    jb.code(diffview.pretty_json(b["completion"]) or "(no JSON object)", language="json")
                    jt.code(diffview.pretty_json(t["completion"]) or "(no JSON object)", language="json")
        with st.expander("Raw text"):
            rb, rt = st.columns(2)
            rb.code(b["completion"] or " ", language=None, wrap_lines=True)
            rt.code(t["completion"] or " ", language=None, wrap_lines=True)
        for note in e["notes"]:
            st.text(f"📝 {note['author']}{' [' + note['side'] + ']' if note['side'] else ''}: {note['note']}")
        with st.form(f"compare_note_form_{pid}", clear_on_submit=True, border=False):
            text = st.text_input("Note on this example", key=f"compare_note_{pid}",
                                 placeholder="e.g. tuned invents a delivery date")
            if st.form_submit_button("Save note"):
                try:
                    store.add_review_note(user, cid, pid, text)
                    st.rerun()
                except (ValueError, LookupError, PermissionError) as exc:
                    st.error(str(exc))

# -- export ----------------------------------------------------------------------------------
st.subheader("Report")
st.caption("The report carries the tables above, blind review win rates and every reviewer note.")
e1, e2, e3 = st.columns(3)
e1.download_button("Download report.md", report_mod.to_markdown(rep), file_name=f"compare-{cid}.md",
                   key="compare_dl_md")
e2.download_button("Download report.json", json.dumps(rep, ensure_ascii=False, indent=2),
                   file_name=f"compare-{cid}.json", key="compare_dl_json")
if comparison["out_dir"] and e3.button("Rewrite report in the run folder", key="compare_write"):
    written = report_mod.write_report(store, cid, comparison["out_dir"], report=rep)
    st.success(f"Written: {written['md']}")
