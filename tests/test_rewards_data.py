"""The rewards on the prompt rows data/ builds: every row's metadata is accepted, every
sql_qa row's reference SQL, executed by the reward, matches its reference answer on the
main database and agrees with the reference on the second one, and every row's good
answer (data.gold) scores high."""

from __future__ import annotations

import statistics

import pytest

from data import prompts
from data.gold import gold_answer
from rewards import sql_exec
from rewards.registry import get_reward, score


@pytest.fixture(scope="module")
def rows(small_build_dir):
    out = []
    for split in ("train.jsonl", "eval.jsonl"):
        out += prompts.load_prompts(small_build_dir / "prompts" / split)
    yield out
    sql_exec.close_all()


def test_reference_sql_scores_correct_on_both_databases(rows, small_build_dir):
    reward = get_reward("sql_qa")
    sql_rows = [r for r in rows if r["task"] == "sql_qa"]
    assert sql_rows
    for row in sql_rows:
        meta = prompts.reward_meta(row, db_path=small_build_dir / "commerce.db")
        b = reward.score(f"```sql\n{row['reference_sql']}\n```", **meta)
        assert b.components["sql_runs"] > 0 and b.components["sql_correct"] == 0.45, (row["prompt_id"], b.notes)
        assert not any("second database" in n for n in b.notes)


def test_every_row_meta_is_accepted_by_its_reward(rows, small_build_dir):
    for row in rows:
        meta = prompts.reward_meta(row, db_path=small_build_dir / "commerce.db")
        b = score(row["task"], "Recomendamos priorizar os clientes. {\"sentiment\": \"neutro\"}", **meta)
        assert 0.0 <= b.total <= 1.0


@pytest.mark.parametrize("task", ["extraction", "sql_qa", "insights", "push"])
def test_good_answers_score_high_on_every_row(rows, small_build_dir, task):
    mine = [r for r in rows if r["task"] == task]
    scores = []
    for row in mine:
        answer = gold_answer(row)
        assert answer, row["prompt_id"]
        meta = prompts.reward_meta(row, db_path=small_build_dir / "commerce.db")
        scores.append(score(task, answer, **meta).total)
    assert statistics.median(scores) >= 0.95 and min(scores) >= 0.75, (task, min(scores))
