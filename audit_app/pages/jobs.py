"""Jobs (engineers): every background job (sampling, training, comparison) with status and
progress, the end of a job's log, and a cancel button (SIGTERM, then SIGKILL)."""

import streamlit as st

from audit_app.jobs.runner import cancel_job, job_summary, log_tail, progress_view, reconcile_jobs
from audit_app.ui.context import get_store, keep_session, page_guard
from audit_app.ui.job_view import REFRESH_S, progress_panel
from audit_app.ui.navigation import page_button
from data.store.jobs import ACTIVE as ACTIVE_JOB_STATUSES

user = page_guard("engineer")
store = get_store()
reconcile_jobs(store)

st.title("Jobs")
show_finished = st.toggle("Show finished jobs", value=True, key="jobs_show_finished")
jobs = store.list_jobs(active=None if show_finished else True, limit=200)

if not jobs:
    st.info("No jobs yet. Sampling, training and comparisons started from their pages run as jobs "
            "and appear here. Start with a first batch of rollouts for the annotators:")
    page_button("sample.py", "Sample rollouts", ":material/casino:")
else:
    st.dataframe([job_summary(j) for j in jobs], hide_index=True, key="jobs_table")
    ids = [j["id"] for j in jobs]
    selected = st.selectbox("Job", ids, key="jobs_selected",
                            format_func=lambda i: next(f"#{j['id']} {j['kind']} ({j['status']})"
                                                       for j in jobs if j["id"] == i))
    active = store.get_job(selected)["status"] in ACTIVE_JOB_STATUSES

    @st.fragment(run_every=REFRESH_S if active else None)
    def detail(job_id: int) -> None:
        keep_session(user)
        job = store.get_job(job_id)
        view = progress_view(job)
        st.subheader(f"Job {job_id}: {job['status']}")
        st.caption("tucano-audit " + " ".join(job["argv"]))
        if view["total"]:
            progress_panel(view, job["kind"])
        if job.get("error"):
            st.error(job["error"])
        if job["status"] in ("queued", "running"):
            if st.button("Cancel job", key="jobs_cancel"):
                cancel_job(store, user, job_id)
                st.rerun()
        st.code(log_tail(job) or "(no output yet)", language="text")

    detail(selected)
