"""Log-out page: forget this browser session's user (and its page state), end any
single sign-on session, and go back to the log-in page."""

import streamlit as st

from audit_app.auth.sso import oidc_logged_in, oidc_providers

for key in list(st.session_state.keys()):
    del st.session_state[key]
if oidc_providers() is not None and oidc_logged_in():
    st.logout()  # reruns the app itself, logged out
st.rerun()
