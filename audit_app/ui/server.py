"""The app server `tucano-audit app` starts: Streamlit serving streamlit_app.py, plus the
routes that move a log-in into an HTTP-only session cookie and out again
(audit_app.auth.routes). `streamlit run` finds `app` here and serves it (st.App).

The server's start also starts the warm-up (audit_app.ui.warmup), so the first visitor of
a server that has been up a while finds the audit computed.
"""

from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st

from audit_app.auth.routes import routes
from audit_app.ui import warmup


@asynccontextmanager
async def lifespan(_app):
    warmup.start()
    yield


app = st.App(Path(__file__).with_name("streamlit_app.py"), routes=routes(), lifespan=lifespan)
