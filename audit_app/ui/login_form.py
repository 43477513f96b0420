"""The log-in form: what a visitor sees on any page of the app.

Username and password are checked by the store (`store.authenticate`: salted scrypt),
after the throttle allows the attempt (`store.begin_login`: a growing wait after a few
failures, per username and per client address). When `.streamlit/secrets.toml` has an
`[auth]` section, single sign-on through `st.login` is offered too; the identity
provider's e-mail must belong to an active account in the store. A failed log-in never
says whether the username or the password was wrong, nor whether the account exists.

Every page of the menu answers at its own address while logged out with this form, so
after logging in the visitor is on the page the link or bookmark asked for.
"""

from __future__ import annotations

import math

import streamlit as st

from audit_app.auth.sso import account_for_oidc_user, oidc_logged_in, oidc_providers
from audit_app.ui.context import ENDED, client_address, get_store, log_in

WRONG = "Wrong username or password."
GO_FIRST = "auth_go_first"  # after logging in, open the role's first page instead of this address


def wait_message(seconds: float) -> str:
    return (f"Too many failed log-ins. Wait {math.ceil(seconds)} s before trying again "
            "(each new failure doubles the wait).")


def attempt(store, username: str, password: str) -> str | None:
    """Log in with a password; None on success, else the message to show."""
    username = (username or "").strip()
    client = client_address()
    attempt_id, wait = store.begin_login(username, client)
    if attempt_id is None:
        return wait_message(wait)
    user = store.authenticate(username, password) if username and password else None
    if user is None:
        return WRONG
    store.login_succeeded(username)
    log_in(user)
    return None


def login_form(*, go_first: bool = False) -> None:
    store = get_store()
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("tucano-audit")
        st.caption("Human scores for GRPO reward functions, before GPU hours are spent.")
        ended = st.session_state.pop(ENDED, None)
        if ended:
            st.warning(f"You were logged out: {ended}. Log in again.")

        providers = oidc_providers()
        if providers is not None:
            _single_sign_on(store, providers)
            st.divider()

        with st.form("login_form"):
            username = st.text_input("Username", key="login_username", autocomplete="username")
            password = st.text_input("Password", key="login_password", type="password",
                                     autocomplete="current-password")
            submitted = st.form_submit_button("Log in", type="primary")

        if submitted:
            problem = attempt(store, username, password)
            if problem is None:
                if go_first:
                    st.session_state[GO_FIRST] = True
                st.rerun()  # the same address, now logged in: the page asked for
            st.error(problem)


def _single_sign_on(store, providers) -> None:
    if oidc_logged_in():
        account = account_for_oidc_user(store, st.user)
        if account is not None:
            log_in(account)
            st.rerun()
        st.error("Your single sign-on identity has no active account here. Ask an admin to add "
                 "your e-mail address to an account.")
        st.button("Sign out of single sign-on", key="login_oidc_logout", on_click=st.logout)
    else:
        for provider in providers:
            label = "Log in with single sign-on" if provider is None else f"Log in with {provider}"
            st.button(label, key=f"login_oidc_{provider or 'default'}", type="primary",
                      on_click=st.login, args=() if provider is None else (provider,))
