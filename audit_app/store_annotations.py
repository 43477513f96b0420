"""Store methods for annotations, their history, and assignments (mixed into audit_app.store.Store)."""

from __future__ import annotations


class AnnotationsMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""
