"""Store methods for prompts and rollouts, JSONL/Parquet import and export (mixed into audit_app.store.Store)."""

from __future__ import annotations


class RolloutsMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""
