"""Where tucano-audit keeps its files: one home folder holding the commerce database,
prompt sets, cached models, the store, run folders and job logs.

The home is `$TUCANO_AUDIT_HOME` when set, else `.tucano/` under the current directory,
so a checkout is self-contained and tests point it at a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "TUCANO_AUDIT_HOME"
# The store file, when it is not the home's store.db (the app and its jobs set it).
ENV_STORE = "TUCANO_AUDIT_STORE"


def home() -> Path:
    return Path(os.environ.get(ENV_HOME) or Path.cwd() / ".tucano").resolve()


def commerce_db() -> Path:
    """The Olist-schema SQLite database that the SQL reward executes queries on."""
    return home() / "commerce.db"


def second_db(db: str | Path) -> Path:
    """The second, differently seeded commerce database built beside `db` (commerce.db ->
    commerce-b.db): the sql_qa reward checks that an answer agrees there too."""
    db = Path(db)
    return db.with_name(f"{db.stem}-b{db.suffix}")


def commerce_db_b() -> Path:
    """The home's second commerce database (`second_db(commerce_db())`)."""
    return second_db(commerce_db())


def prompts_dir() -> Path:
    return home() / "prompts"


def train_prompts() -> Path:
    return prompts_dir() / "train.jsonl"


def eval_prompts() -> Path:
    return prompts_dir() / "eval.jsonl"


def models_dir() -> Path:
    """Converted models (the demo model's HF folder, the tiny test model)."""
    return home() / "models"


def store_path() -> Path:
    """`$TUCANO_AUDIT_STORE` when set, else the home's store.db."""
    return Path(os.environ.get(ENV_STORE) or home() / "store.db")


def runs_dir() -> Path:
    """One folder per training run or comparison."""
    return home() / "runs"


def jobs_dir() -> Path:
    """Job logs."""
    return home() / "jobs"
