"""Store methods for training runs, their metrics, checkpoints and the seed queue (mixed into audit_app.store.Store)."""

from __future__ import annotations


class RunsMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""
