"""Store methods for users, login and roles (mixed into audit_app.store.Store)."""

from __future__ import annotations


class UsersMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""
