"""Store methods for comparisons, per-prompt eval results, blind reviews and reviewer notes (mixed into audit_app.store.Store)."""

from __future__ import annotations


class CompareMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""
