"""Log-out page: end this session in the store (so its cookie no longer opens anything),
forget this tab's page state, end any single sign-on session, then delete the cookie and
open the log-in page (a small script; the link below does the same without it)."""

import streamlit as st

from audit_app.auth import cookies
from audit_app.auth.sso import oidc_logged_in, oidc_providers
from audit_app.ui.context import CLEAR_COOKIE, log_out

log_out()
if oidc_providers() is not None and oidc_logged_in():
    st.logout()  # reruns the app itself, logged out; the log-in page then deletes the cookie
st.session_state.pop(CLEAR_COOKIE, None)  # deleted here, just below
st.info("You are logged out. [Log in again](/)")
st.html(cookies.logout_script(reload=True), unsafe_allow_javascript=True)
