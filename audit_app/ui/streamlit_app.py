"""Streamlit entry point: `tucano-audit app` runs this file.

Builds the menu from audit_app.ui.navigation for the logged-in user's role; pages live in
audit_app/pages/ and hold no business logic. This file sits in ui/, not beside pages/:
Streamlit treats a `pages/` folder next to the entry script as its older, automatic
multipage app, which st.navigation replaces.
"""

import streamlit as st

from audit_app.ui import warmup
from audit_app.ui.context import session_scripts
from audit_app.ui.navigation import build_navigation

st.set_page_config(page_title="tucano-audit", page_icon=":bird:", layout="wide")
warmup.start()  # already started by the server (ui/server.py); this covers `streamlit run`
page = build_navigation()
session_scripts()
page.run()
