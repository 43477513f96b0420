"""Fixtures: one user of each role in a store (password "pw-<role>")."""

from __future__ import annotations

import pytest


@pytest.fixture
def users(store):
    """Role -> User, one account per role in the in-memory `store`: annotator, engineer,
    reviewer and admin, each logging in with the password "pw-<role>"."""
    from audit_app.auth import ROLES

    return {role: store.add_user(role, role, f"pw-{role}") for role in ROLES}
