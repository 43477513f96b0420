"""The rewards on the prompt rows data/ builds: every row's metadata is accepted, and
every sql_qa row's reference SQL, executed by the reward, matches its reference answer."""

from __future__ import annotations

import pytest

from data import prompts
from rewards import sql_exec
from rewards.registry import get_reward, score


@pytest.fixture(scope="module")
def rows(small_build_dir):
    out = []
    for split in ("train.jsonl", "eval.jsonl"):
        out += prompts.load_prompts(small_build_dir / "prompts" / split)
    yield out
    sql_exec.close_all()


def test_reference_sql_scores_correct_on_its_own_database(rows, small_build_dir):
    from data.prompts import reward_meta

    reward = get_reward("sql_qa")
    sql_rows = [r for r in rows if r["task"] == "sql_qa"]
    assert sql_rows
    for row in sql_rows:
        meta = {**reward_meta(row), "db_path": str(small_build_dir / "commerce.db")}
        b = reward.score(f"```sql\n{row['reference_sql']}\n```", **meta)
        assert b.components["sql_runs"] > 0 and b.components["sql_correct"] > 0, (row["prompt_id"], b.notes)


def test_every_row_meta_is_accepted_by_its_reward(rows, small_build_dir):
    from data.prompts import reward_meta

    for row in rows:
        meta = reward_meta(row)
        if row["task"] == "sql_qa":
            meta["db_path"] = str(small_build_dir / "commerce.db")
        b = score(row["task"], "Recomendamos priorizar os clientes. {\"sentiment\": \"neutro\"}", **meta)
        assert 0.0 <= b.total <= 1.0
