"""data.build: counts and strata, the split's no-duplicate guarantee, byte-for-byte
reproducibility, atomic writes, the dataset card and the `data build` command."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

import pytest

from audit_app.cli import main
from data.build import EVAL_MIX, TRAIN_MIX, build, split_counts
from data.prompts import load_prompts, normalise, prompt_text


@pytest.fixture(scope="module")
def sets(small_data):
    return load_prompts(small_data["train"]), load_prompts(small_data["eval"])


def test_default_counts_and_mix(sets):
    train, evals = sets
    assert len(train) == 1480 and len(evals) == 65
    assert Counter(r["task"] for r in train) == {"extraction": 592, "sql_qa": 370, "insights": 370, "push": 148}
    assert Counter(r["task"] for r in evals) == {"extraction": 20, "sql_qa": 15, "insights": 15, "push": 15}
    assert {r["split"] for r in train} == {"train"} and {r["split"] for r in evals} == {"eval"}


def test_eval_extraction_is_stratified_by_rating(sets):
    train, evals = sets
    strata = Counter(r["stratum"] for r in evals if r["task"] == "extraction")
    assert strata == {f"extraction:rating={k}": 4 for k in range(1, 6)}
    assert all(r["stratum"] == f"extraction:rating={r['rating']}" for r in train + evals if r["task"] == "extraction")
    # Every other stratum is the task itself, and the rating is only set for extraction.
    assert all(r["stratum"] == r["task"] and r["rating"] is None for r in train + evals if r["task"] != "extraction")


def test_no_prompt_text_in_both_splits(sets):
    train, evals = sets
    t = {normalise(prompt_text(r)) for r in train}
    e = {normalise(prompt_text(r)) for r in evals}
    assert len(t) == len(train) and len(e) == len(evals)
    assert not t & e
    ids = [r["prompt_id"] for r in train + evals]
    assert len(set(ids)) == len(ids) and all(i.startswith(r["task"] + "-") for i, r in zip(ids, train + evals, strict=True))


def test_same_seed_same_bytes_other_seed_differs(small_data, tmp_path):
    again = build(tmp_path / "again", size="small", seed=42, train=1480, eval=65)
    for key in ("db", "db_b", "train", "eval", "card"):
        assert again[key].read_bytes() == small_data[key].read_bytes(), key
    other = build(tmp_path / "other", size="small", seed=7, train=40, eval=8)
    assert other["train"].read_bytes() != again["train"].read_bytes()


def test_split_counts_rounds_to_the_total():
    assert split_counts(1480, TRAIN_MIX) == {"extraction": 592, "sql_qa": 370, "insights": 370, "push": 148}
    assert split_counts(65, EVAL_MIX) == {"extraction": 20, "sql_qa": 15, "insights": 15, "push": 15}
    assert sum(split_counts(101, TRAIN_MIX).values()) == 101
    with pytest.raises(ValueError, match="unknown task.*valid tasks"):
        split_counts(10, {"extract": 1.0})


def test_too_many_prompts_fails_without_writing(small_data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "commerce.db").write_bytes(b"previous")
    with pytest.raises(ValueError, match="distinct extraction prompts"):
        build(out, size="small", train=20000, eval=8)
    # The previous file is untouched and no temporary file is left behind.
    assert (out / "commerce.db").read_bytes() == b"previous"
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["commerce.db"]


def test_dataset_card_counts(small_data, sets):
    card = small_data["card"].read_text(encoding="utf-8")
    assert "| extraction | 592 | 40.0% | 20 |" in card
    assert "| extraction:rating=2 |" in card and "| push | 148 | 15 |" in card
    assert "| insights | reengajamento |" in card
    assert "repeated" not in card or "share their exact text" in card
    assert card.count("| train.jsonl | 1480 |") == 1


def test_reference_answers_match_the_database(small_data, sets):
    train, evals = sets
    conn = sqlite3.connect(f"file:{small_data['db']}?mode=ro", uri=True)
    rows = [r for r in evals + train[:300] if r["task"] == "sql_qa"]
    assert len({r["topic"] for r in rows}) >= 10  # at least ten question templates in use
    for r in rows:
        got = json.loads(json.dumps([list(x) for x in conn.execute(r["reference_sql"]).fetchall()]))
        assert got == json.loads(r["reference_answer"]) and got, r["prompt_id"]


def test_the_second_database_is_another_seed_of_the_same_data(small_data):
    from data import paths
    from data.schema import TABLES

    assert small_data["db_b"] == paths.second_db(small_data["db"]) == small_data["dir"] / "commerce-b.db"
    a = sqlite3.connect(f"file:{small_data['db']}?mode=ro", uri=True)
    b = sqlite3.connect(f"file:{small_data['db_b']}?mode=ro", uri=True)
    schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    assert a.execute(schema).fetchall() == b.execute(schema).fetchall()
    count = "SELECT COUNT(*) FROM orders"
    assert a.execute(count).fetchone() == b.execute(count).fetchone() == (3000,)
    # Same shape, other rows: the answers to the same question differ.
    revenue = "SELECT customer_state, ROUND(SUM(price), 2) FROM order_items JOIN orders USING (order_id) " \
              "JOIN customers USING (customer_id) GROUP BY 1 ORDER BY 1"
    assert a.execute(revenue).fetchall() != b.execute(revenue).fetchall()
    assert {t for (t,) in b.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == set(TABLES)
    card = small_data["card"].read_text(encoding="utf-8")
    assert "Second database `commerce-b.db`: synthetic, seed `42:second`" in card
    assert "612 of 612 reviews carry the gold labels" in card


def test_cli_builds_and_reports(tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(["data", "build", "--size", "small", "--out", str(out), "--train", "40", "--eval", "8",
               "--mix", "extraction=0.5,sql_qa=0.5", "--seed", "3"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "train: extraction 20, sql_qa 20, insights 0, push 0" in text
    assert "comments:" in text and (out / "prompts" / "README.md").exists()
    assert len(load_prompts(out / "prompts" / "train.jsonl")) == 40


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert main(["data", "build", "--size", "small", "--out", str(tmp_path), "--mix", "sql=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown task(s) in mix: sql") and err.count("\n") == 1
    assert main(["data", "build", "--olist-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "Olist folder not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing created for a build that could not start
    (tmp_path / "a-file").write_text("x")
    assert main(["data", "build", "--size", "small", "--out", str(tmp_path / "a-file"), "--train", "8",
                 "--eval", "4"]) == 2
    err = capsys.readouterr().err
    assert "a-file is not a folder" in err and err.count("\n") == 1
    with pytest.raises(SystemExit):
        main(["data", "build", "--mix", "extraction:0.4"])


def test_default_home_layout(home):
    from data import paths

    built = build(size="small", train=12, eval=6)
    assert built["db"] == paths.commerce_db() and built["train"] == paths.train_prompts()
    assert built["eval"] == paths.eval_prompts() and built["card"] == paths.prompts_dir() / "README.md"


def test_small_data_home_fixture(small_data_home):
    from data import paths

    assert paths.commerce_db().exists() and len(load_prompts(paths.eval_prompts())) == 65
