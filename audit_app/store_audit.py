"""Store methods for audit inputs, gate thresholds and gate decisions (mixed into audit_app.store.Store)."""

from __future__ import annotations


class AuditMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""
