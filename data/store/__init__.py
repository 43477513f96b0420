"""The store: every rollout, annotation, gate decision, job, training run and comparison,
in one SQLite file (see core.Store; one module per table family, migrations in schema/).

    from data.store import Store
    store = Store(data.paths.store_path())
"""

from data.store.core import Store

__all__ = ["Store"]
