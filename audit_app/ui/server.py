"""The app server `tucano-audit app` starts: Streamlit serving streamlit_app.py, plus the
routes that move a log-in into an HTTP-only session cookie and out again
(audit_app.auth.routes). `streamlit run` finds `app` here and serves it (st.App).
"""

from pathlib import Path

import streamlit as st

from audit_app.auth.routes import routes

app = st.App(Path(__file__).with_name("streamlit_app.py"), routes=routes())
