"""Streamlit entry point: `tucano-audit app` runs this file.

Builds the menu from audit_app.ui.navigation for the logged-in user's role; pages live in
audit_app/pages/ and hold no business logic. This file sits in ui/, not beside pages/:
Streamlit treats a `pages/` folder next to the entry script as its older, automatic
multipage app, which st.navigation replaces.
"""

import importlib
import threading

import streamlit as st

from audit_app.ui.context import session_scripts
from audit_app.ui.navigation import build_navigation

# Modules whose first import takes a second or two (scipy, krippendorff, plotly, pandas,
# every command for the sampling offers).
WARM_MODULES = ("pandas", "audit_app.audit.cache", "audit_app.audit.charts", "audit_app.jobs.shortfall")


def _warm() -> None:
    for name in WARM_MODULES:
        importlib.import_module(name)
    # The reward versions are hashes of the rewards' source, computed on first use.
    importlib.import_module("rewards.versions").current_versions()


@st.cache_resource  # once per server process
def warm_up() -> threading.Thread:
    """Import the audit's statistics and charts and compute the reward versions in the
    background while the first visitor logs in, so the first Audit & gate page of this
    server does not wait for them."""
    thread = threading.Thread(target=_warm, name="warm-up", daemon=True)
    thread.start()
    return thread


st.set_page_config(page_title="tucano-audit", page_icon=":bird:", layout="wide")
warm_up()
page = build_navigation()
session_scripts()
page.run()
