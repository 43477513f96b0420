"""Shared fixtures: an isolated home folder, in-memory and file stores.

Fixtures that belong to one area live in tests/fixtures_*.py (loaded below) so each
stays beside the code it builds: small commerce data, the tiny model, users, the browser.
"""

from __future__ import annotations

import pytest

from data import paths

pytest_plugins = [
    "tests.fixtures_data",
    "tests.fixtures_models",
    "tests.fixtures_users",
    "tests.fixtures_browser",
]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh TUCANO_AUDIT_HOME for one test."""
    monkeypatch.setenv(paths.ENV_HOME, str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture
def store():
    """An in-memory store with every migration applied."""
    from data.store import Store

    s = Store(":memory:")
    yield s
    s.close()


@pytest.fixture
def file_store(tmp_path):
    """A store in a real file (WAL mode, as the app uses)."""
    from data.store import Store

    s = Store(tmp_path / "store.db")
    yield s
    s.close()
