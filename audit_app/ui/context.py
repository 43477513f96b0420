"""Helpers every page uses: the cached store, the logged-in user, and the role guard.

Pages stay declarative: `user = page_guard("engineer")` at the top, then widgets in and
calls to audit_app / rewards / train functions out.
"""

from __future__ import annotations

import streamlit as st

from data import paths
from data.store import Store
from data.store.errors import PermissionDenied
from data.store.roles import User, require_role

SESSION_USER = "auth_user"


def store_path() -> str:
    return str(paths.store_path())


@st.cache_resource
def _store(path: str):
    return Store(path)


def get_store():
    """The one Store of this server process (cached; SQLite WAL handles concurrency)."""
    return _store(store_path())


def current_user() -> User | None:
    """The logged-in user of this browser session, re-read from the store so a disabled
    account or a changed role takes effect on the next interaction."""
    user = st.session_state.get(SESSION_USER)
    if user is None:
        return None
    fresh = get_store().get_user(user.username)
    if fresh is None or not fresh.active:
        st.session_state.pop(SESSION_USER, None)
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
