"""Store methods for jobs (detached CLI subprocesses) and their progress (mixed into audit_app.store.Store)."""

from __future__ import annotations


class JobsMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""
