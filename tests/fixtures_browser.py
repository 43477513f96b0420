"""Fixtures: Debian chromium through Playwright and a live Streamlit server."""
