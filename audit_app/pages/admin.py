"""Admin page: user accounts and roles, assignment settings, import and export.

Every button calls the store method that does the work; the store checks the role again
(an admin page reached some other way still cannot act for a non-admin) and records who
acted. Refusals and bad input show as one error line.
"""

import tempfile
from pathlib import Path

import streamlit as st

from audit_app.ui.context import get_store, page_guard
from data.prompts import home_prompt_sets
from data.store.assignment import SETTINGS
from data.store.errors import StoreError
from data.store.import_export import EXPORT_KINDS
from data.store.roles import ROLES
from rewards.types import TASKS

user = page_guard("admin")
store = get_store()
EXPORT = "admin_export"


def attempt(call, *args, success: str | None = None, **kwargs):
    """Run a store call; show its refusal as an error line. Returns the result or None."""
    try:
        result = call(*args, **kwargs)
    except (StoreError, ValueError, LookupError, PermissionError) as exc:
        st.error(str(exc))
        return None
    if success:
        st.success(success)
    return result


st.title("Users & settings")
users_tab, settings_tab, files_tab = st.tabs(["Users", "Assignment", "Import / export"])

# -- users ----------------------------------------------------------------------------------
with users_tab:
    users = store.list_users()
    st.dataframe(users, hide_index=True, column_order=("username", "role", "email", "active", "created_at",
                                                       "created_by"))
    names = [u["username"] for u in users]

    with st.form("admin_add_user", clear_on_submit=True):
        st.markdown("**Add a user**")
        cols = st.columns(4)
        new_name = cols[0].text_input("Username", key="admin_new_username")
        new_role = cols[1].selectbox("Role", ROLES, key="admin_new_role")
        new_password = cols[2].text_input("Password", type="password", key="admin_new_password",
                                          help="Leave empty for a single sign-on account (e-mail needed).")
        new_email = cols[3].text_input("E-mail (for single sign-on)", key="admin_new_email")
        if st.form_submit_button("Add user"):
            attempt(store.add_user, new_name, new_role, new_password or None, email=new_email.strip() or None,
                    actor=user, success=f"Added {new_name} ({new_role}).")

    with st.form("admin_change_user"):
        st.markdown("**Change a user**")
        cols = st.columns(3)
        target = cols[0].selectbox("User", names, key="admin_target")
        role = cols[1].selectbox("New role", ROLES, key="admin_target_role")
        password = cols[2].text_input("New password", type="password", key="admin_target_password")
        buttons = st.columns(4)
        set_role = buttons[0].form_submit_button("Set role", width="stretch")
        set_password = buttons[1].form_submit_button("Set password", width="stretch")
        disable = buttons[2].form_submit_button("Disable", width="stretch")
        enable = buttons[3].form_submit_button("Enable", width="stretch")
        if set_role:
            attempt(store.set_role, target, role, actor=user, success=f"{target} is now {role}.")
        if set_password:
            attempt(store.set_password, target, password, actor=user, success=f"Password of {target} changed.")
        if disable:
            attempt(store.disable_user, target, actor=user, success=f"{target} is disabled.")
        if enable:
            attempt(store.enable_user, target, actor=user, success=f"{target} is enabled again.")

    with st.expander("Account changes (who did what)"):
        st.dataframe(store.user_events(limit=100), hide_index=True)

# -- assignment settings --------------------------------------------------------------------
with settings_tab:
    current = store.get_settings()
    st.caption("How many scored items each task needs is the gate's min_items (Audit & gate page, "
               "Gate thresholds), which the annotate page reads.")
    with st.form("admin_settings"):
        values = {}
        for name, (_default, kind, low, high, help_text) in SETTINGS.items():
            if kind is int:
                values[name] = st.number_input(name, min_value=int(low), max_value=int(high),
                                               value=int(current[name]), step=1, help=help_text,
                                               key=f"admin_setting_{name}")
            else:
                values[name] = st.number_input(name, min_value=float(low), max_value=float(high),
                                               value=float(current[name]), help=help_text,
                                               key=f"admin_setting_{name}", format="%.3f")
        if st.form_submit_button("Save settings"):
            changes = {k: v for k, v in values.items() if v != current[k]}
            if changes:
                attempt(store.update_settings, changes, actor=user,
                        success="Saved: " + ", ".join(f"{k} = {v}" for k, v in changes.items()))
            else:
                st.info("Nothing changed.")
    with st.expander("Settings history"):
        st.dataframe(store.settings_history(limit=100), hide_index=True)

# -- import / export ------------------------------------------------------------------------
with files_tab:
    st.markdown("**Import rollouts (JSONL)** — one rollout per line; each is scored with the current "
                "rewards. A line may name a prompt of this home's prompt sets by its `prompt_id` alone. Bad lines "
                "are listed; the others are imported; a file imported twice adds nothing.")
    upload = st.file_uploader("JSONL file", type=["jsonl", "json"], key="admin_upload")
    if upload is not None and st.button("Import", key="admin_import", type="primary"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(upload.name).name
            path.write_bytes(upload.getbuffer())
            with st.spinner("Importing and scoring..."):
                report = attempt(store.import_rollouts, path, actor=user, batch_id=f"import:{upload.name}",
                                 prompt_sets=home_prompt_sets())
        if report is not None:
            message = (f"{upload.name}: {report.added} rollouts added, {report.duplicates} already present, "
                       f"{report.prompts_added} prompts added, {len(report.errors)} bad lines.")
            (st.warning if report.errors else st.success)(message)
            if report.errors:
                st.dataframe([{"line": n, "reason": reason} for n, reason in report.errors], hide_index=True)

    st.divider()
    st.markdown("**Export** — readable by `datasets.load_dataset(\"json\" | \"parquet\", data_files=...)`.")
    cols = st.columns(4)
    what = cols[0].selectbox("What", EXPORT_KINDS, key="admin_export_what")
    fmt = cols[1].selectbox("Format", ["jsonl", "parquet"], key="admin_export_fmt")
    task = cols[2].selectbox("Task", ["all", *TASKS], key="admin_export_task")
    with cols[3]:
        st.write("")
        if st.button("Prepare file", key="admin_export_prepare"):
            with tempfile.TemporaryDirectory() as tmp:
                name = f"{what}{'' if task == 'all' else '-' + task}.{fmt}"
                out = Path(tmp) / name
                rows = attempt(store.export, out, what=what, fmt=fmt, task=None if task == "all" else task,
                               actor=user)
                if rows is not None:
                    st.session_state[EXPORT] = (name, out.read_bytes(), rows)
    prepared = st.session_state.get(EXPORT)
    if prepared:
        name, data, rows = prepared
        st.download_button(f"Download {name} ({rows} rows)", data, file_name=name, key="admin_export_download",
                           mime="application/x-ndjson" if name.endswith(".jsonl") else "application/octet-stream")
