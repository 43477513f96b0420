"""Streamlit entry point: `tucano-audit app` runs this file.

Builds the menu from audit_app.ui.navigation for the logged-in user's role; pages live in
audit_app/pages/ and hold no business logic. This file sits in ui/, not beside pages/:
Streamlit treats a `pages/` folder next to the entry script as its older, automatic
multipage app, which st.navigation replaces.
"""

import importlib
import logging
import os
import threading

import streamlit as st

from audit_app.ui.context import session_scripts, store_path
from audit_app.ui.navigation import build_navigation
from data.store import Store

# Modules whose first import takes a second or two (scipy, krippendorff, plotly, pandas,
# every command for the sampling offers).
WARM_MODULES = ("pandas", "audit_app.audit.cache", "audit_app.audit.charts", "audit_app.jobs.shortfall")


def _warm() -> None:
    for name in WARM_MODULES:
        importlib.import_module(name)
    # The reward versions are hashes of the rewards' source, computed on first use.
    importlib.import_module("rewards.versions").current_versions()
    # The gate's exploit benches of the store's prompts (seconds of SQL on a full-size build),
    # kept per reward version and prompt for every audit of this process.
    path = store_path()
    if os.path.isfile(path):
        try:
            with Store(path) as store:
                importlib.import_module("audit_app.audit.exploits").warm(store)
        except Exception:  # noqa: BLE001 - a warm-up only saves time; the audit reports its own errors
            logging.getLogger("tucano.app").warning("exploit benches not warmed up", exc_info=True)


@st.cache_resource  # once per server process
def warm_up() -> threading.Thread:
    """Import the audit's statistics and charts, compute the reward versions and bench the
    exploit families on the store's prompts in the background while the first visitor logs
    in, so the first Audit & gate page of this server does not wait for them."""
    thread = threading.Thread(target=_warm, name="warm-up", daemon=True)
    thread.start()
    return thread


st.set_page_config(page_title="tucano-audit", page_icon=":bird:", layout="wide")
warm_up()
page = build_navigation()
session_scripts()
page.run()
