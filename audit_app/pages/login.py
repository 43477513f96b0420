"""Log-in page, the only page a visitor sees.

Username and password are checked by the store (`store.authenticate`: salted scrypt).
When `.streamlit/secrets.toml` has an `[auth]` section, single sign-on through
`st.login` is offered too; the identity provider's e-mail must belong to an active
account in the store (an admin adds it with `tucano-audit users add ... --email`).
A failed log-in never says whether the username or the password was wrong.
"""

import streamlit as st

from audit_app.auth.sso import account_for_oidc_user, oidc_logged_in, oidc_providers
from audit_app.ui.context import SESSION_USER, get_store

store = get_store()
_, middle, _ = st.columns([1, 2, 1])

with middle:
    st.title("tucano-audit")
    st.caption("Human scores for GRPO reward functions, before GPU hours are spent.")

    providers = oidc_providers()
    if providers is not None:
        if oidc_logged_in():
            account = account_for_oidc_user(store, st.user)
            if account is not None:
                st.session_state[SESSION_USER] = account
                st.rerun()
            st.error("Your single sign-on identity has no active account here. Ask an admin to add "
                     "your e-mail address to an account.")
            st.button("Sign out of single sign-on", key="login_oidc_logout", on_click=st.logout)
        else:
            for provider in providers:
                label = "Log in with single sign-on" if provider is None else f"Log in with {provider}"
                st.button(label, key=f"login_oidc_{provider or 'default'}", type="primary",
                          on_click=st.login, args=() if provider is None else (provider,))
        st.divider()

    with st.form("login_form"):
        username = st.text_input("Username", key="login_username", autocomplete="username")
        password = st.text_input("Password", key="login_password", type="password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary")

    if submitted:
        user = store.authenticate(username.strip(), password) if username.strip() and password else None
        if user is None:
            st.error("Wrong username or password.")
        else:
            st.session_state[SESSION_USER] = user
            st.rerun()
