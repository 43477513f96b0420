"""Fixtures: the small commerce database and prompt sets (built once per session).

`small_data` is the output of `data.build.build(dir, size="small")`: a dict of paths
{"db", "db_b", "train", "eval", "card", "dir"}; tests must not write into it.
`small_data_home` copies it into the `home` fixture's TUCANO_AUDIT_HOME, so code that reads
data.paths.commerce_db() / commerce_db_b() / train_prompts() / eval_prompts() finds it there.
"""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def small_data(tmp_path_factory):
    """Paths of a small synthetic build (3k orders, seed 42): db, db_b, train, eval, card, dir."""
    from data.build import build

    out = tmp_path_factory.mktemp("small_data")
    built = build(out, size="small", seed=42)
    return {**built, "dir": out}


@pytest.fixture
def small_data_home(small_data, home):
    """The small build copied into this test's home folder; returns the same keys."""
    from data import paths

    shutil.copy2(small_data["db"], paths.commerce_db())
    shutil.copy2(small_data["db_b"], paths.commerce_db_b())
    paths.prompts_dir().mkdir(parents=True, exist_ok=True)
    for key, target in (("train", paths.train_prompts()), ("eval", paths.eval_prompts()),
                        ("card", paths.prompts_dir() / "README.md")):
        shutil.copy2(small_data[key], target)
    return {"db": paths.commerce_db(), "db_b": paths.commerce_db_b(), "train": paths.train_prompts(),
            "eval": paths.eval_prompts(),
            "card": paths.prompts_dir() / "README.md", "dir": paths.home()}
