"""Streamlit entry point: `tucano-audit app` runs this file.

Builds the menu from audit_app.navigation for the logged-in user's role; pages live in
audit_app/app_pages/ and hold no business logic.
"""

import streamlit as st

from audit_app.navigation import build_navigation

st.set_page_config(page_title="tucano-audit", page_icon=":bird:", layout="wide")
build_navigation().run()
