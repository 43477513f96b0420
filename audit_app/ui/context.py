"""Helpers every page uses: the cached store, the logged-in user, and the role guard.

Pages stay declarative: `user = page_guard("engineer")` at the top, then widgets in and
calls to audit_app / rewards / train functions out.

Who is logged in, on every run (full or fragment): this tab's own record in
`st.session_state` (set at log-in), else the session cookie the browser sent when the tab
connected (a reload, a bookmark, a link opened in a new tab; see audit_app.auth.cookies).
Either way the store checks the session and re-reads the account each time
(`store.check_session`): logged out, expired, disabled or given another role, the user is
logged out here and the next run shows the log-in page with the reason.
"""

from __future__ import annotations

import streamlit as st

from audit_app.auth import cookies
from data import paths
from data.store import Store
from data.store.errors import PermissionDenied
from data.store.roles import User, require_role

SESSION_USER = "auth_user"
SESSION_ID = "auth_session"
HANDOFF = "auth_handoff"  # the one-time code still to trade for the cookie
CLEAR_COOKIE = "auth_clear_cookie"
ENDED = "auth_ended"  # why the last session ended, for the log-in page
COOKIE_SEEN = "auth_cookie_seen"  # the cookie value already tried in this tab


def store_path() -> str:
    return str(paths.store_path())


@st.cache_resource
def _store(path: str):
    return Store(path)


def get_store():
    """The one Store of this server process (cached; SQLite WAL handles concurrency)."""
    return _store(store_path())


def client_address() -> str:
    """The browser's address as the server sees it (for throttling and the session record);
    "local" for a browser on this machine (Streamlit gives no address for localhost)."""
    try:
        return st.context.ip_address or "local"
    except Exception:  # no server context (a bare script run)
        return "local"


def log_in(user: User) -> None:
    """Start a session for `user` (just authenticated): this tab knows it at once, and the
    page hands the cookie over so that other tabs and reloads know it too."""
    session_id, code = get_store().open_session(user, client=client_address())
    st.session_state[SESSION_USER] = user
    st.session_state[SESSION_ID] = session_id
    st.session_state[HANDOFF] = code
    st.session_state.pop(ENDED, None)


def log_out(reason: str | None = None) -> None:
    """End this tab's session in the store, forget every page's state, and have the
    browser drop its cookie; `reason` is shown on the log-in page."""
    session_id = st.session_state.get(SESSION_ID)
    if session_id is not None:
        get_store().end_session(session_id, reason=reason or "logged out")
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[CLEAR_COOKIE] = True
    if reason:
        st.session_state[ENDED] = reason


def _resume_from_cookie(store) -> None:
    """Take over the session the browser's cookie names, when it is valid."""
    value = st.context.cookies.get(cookies.COOKIE)
    if not value or st.session_state.get(COOKIE_SEEN) == value:
        return
    st.session_state[COOKIE_SEEN] = value  # a dead cookie is looked up once per tab
    token = cookies.unsign(store.session_key(), value)
    if token is None:
        return
    check = store.check_session(token=token)
    if check.user is not None:
        st.session_state[SESSION_USER] = check.user
        st.session_state[SESSION_ID] = check.session_id
    elif check.ended not in ("logged out", "unknown session"):
        st.session_state[ENDED] = check.ended  # e.g. expired, or the role changed meanwhile


def current_user() -> User | None:
    """The logged-in user of this browser tab as stored now, or None (see the module
    docstring); a session that is no longer valid is logged out here."""
    store = get_store()
    if st.session_state.get(SESSION_USER) is None:
        _resume_from_cookie(store)
    user = st.session_state.get(SESSION_USER)
    if user is None:
        return None
    session_id = st.session_state.get(SESSION_ID)
    if session_id is not None:
        check = store.check_session(session_id)
        fresh, ended = check.user, check.ended
        if fresh is not None and check.cookie_issued:
            st.session_state.pop(HANDOFF, None)
    else:
        # Single sign-on keeps its own cookie; only the account is checked.
        fresh = store.get_user(user.username)
        ended = ("the account was disabled" if fresh is None or not fresh.active
                 else f"the account's role changed to {fresh.role}" if fresh.role != user.role else None)
    if ended is not None or fresh is None:
        log_out(ended)
        return None
    st.session_state[SESSION_USER] = fresh
    return fresh


def page_guard(*roles: str) -> User:
    """Stop the page unless a user with one of `roles` (or admin) is logged in."""
    user = current_user()
    try:
        return require_role(user, *roles, action="this page")
    except PermissionDenied as exc:
        st.error(str(exc))
        st.stop()
        raise  # unreachable: st.stop raises


def keep_session(user: User) -> User:
    """For a fragment's run: the account as stored now, or a rerun of the whole app (to the
    log-in page) when the session ended or the role changed since the page was drawn."""
    fresh = current_user()
    if fresh is None or fresh.role != user.role:
        st.rerun(scope="app")
    return fresh


def session_scripts() -> None:
    """The browser side of log-in and log-out, once per full run: trade a fresh log-in's
    code for the cookie, or delete the cookie after a log-out (hidden, no layout)."""
    code = st.session_state.get(HANDOFF)
    clear = st.session_state.pop(CLEAR_COOKIE, False)
    if code is None and not clear:
        return
    script = cookies.handoff_script(code) if code is not None else cookies.logout_script(reload=False)
    with st.container(key="auth_scripts"):
        st.html(cookies.HIDDEN_STYLE + script, unsafe_allow_javascript=True)
