"""The app server's warm-up: what the first Audit & gate page would otherwise wait for.

Started once per server process when the server starts (audit_app/ui/server.py's
lifespan), so a server that has been up a while is warm before anyone logs in; the entry
script starts it too (a no-op when it already ran) for `streamlit run streamlit_app.py`.
In a background thread: import the modules whose first import takes a second or two,
compute the reward versions (hashes of the rewards' source), bench the exploit families on
the store's prompts and compute the page's default audit. A visitor asking for that audit
meanwhile waits for this computation instead of repeating it (audit_app.audit.cache).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading

from data import paths
from data.store import Store

# Modules whose first import takes a second or two (scipy, krippendorff, plotly, pandas,
# every command for the sampling offers).
WARM_MODULES = ("pandas", "audit_app.audit.cache", "audit_app.audit.charts", "audit_app.jobs.shortfall")

_lock = threading.Lock()
_thread: threading.Thread | None = None


def _warm(path: str) -> None:
    # Imported here, not at the top: importing them is the slow part this thread takes off
    # the first page's path.
    for name in WARM_MODULES:
        importlib.import_module(name)
    importlib.import_module("rewards.versions").current_versions()
    if not os.path.isfile(path):
        return
    try:
        with Store(path) as store:
            importlib.import_module("audit_app.audit.exploits").warm(store)
            importlib.import_module("audit_app.audit.cache").cached_report(store)
    except Exception:  # noqa: BLE001 - a warm-up only saves time; the audit reports its own errors
        logging.getLogger("tucano.app").warning("audit not warmed up", exc_info=True)


def start() -> threading.Thread:
    """Start the warm-up of the app's store unless this process already started one; the
    thread either way."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_warm, args=(str(paths.store_path()),), name="warm-up", daemon=True)
            _thread.start()
        return _thread
