"""Prompt rows: what each task's prompt contains, reading and validating JSONL files,
the metadata handed to rewards, and that Hugging Face `datasets` reads the files."""

from __future__ import annotations

import json

import pytest

from data import paths
from data.prompts import FIELDS, dumps, load_prompts, make_row, normalise, reward_meta


@pytest.fixture(scope="module")
def rows(small_data):
    return load_prompts(small_data["train"]) + load_prompts(small_data["eval"])


def _user(row):
    return row["prompt"][1]["content"]


def test_chat_format_in_portuguese(rows):
    for r in rows:
        assert [m["role"] for m in r["prompt"]] == ["system", "user"]
        assert set(r) == set(FIELDS)
    assert all(any(w in _user(r).lower() for w in (" de ", " que ", " para ", " com ")) for r in rows)


def test_extraction_prompts_describe_the_reward_schema(rows):
    from rewards.schema import FIELD_NAMES

    ext = [r for r in rows if r["task"] == "extraction"]
    assert all(f'"{name}"' in _user(r) for r in ext for name in FIELD_NAMES)
    assert all("Comentário:" in _user(r) for r in ext)
    # The rating is metadata for the mismatch check, not part of the text.
    assert all(r["rating"] in range(1, 6) and "nota" not in _user(r).split("Avaliação do cliente:")[1] for r in ext)


def test_sql_prompts_carry_question_schema_and_reference(rows):
    sql = [r for r in rows if r["task"] == "sql_qa"]
    for r in sql:
        text = _user(r)
        assert text.startswith("Pergunta de negócio:") and "Tabelas que você pode usar" in text
        assert r["reference_sql"].lstrip().upper().startswith("SELECT")
        answer = json.loads(r["reference_answer"])
        assert isinstance(answer, list) and answer and all(isinstance(x, list) for x in answer)


def test_insights_cover_retention_and_reengagement(rows):
    ins = [r for r in rows if r["task"] == "insights"]
    topics = {r["topic"] for r in ins}
    assert {"reengajamento", "retencao", "logistica"} <= topics
    reeng = [r for r in ins if r["topic"] == "reengajamento"]
    assert reeng and all("reengajamento" in _user(r) and "Resumo dos dados" in _user(r) for r in reeng)
    assert all("R$" in _user(r) for r in ins)


def test_push_briefs_ask_for_120_characters(rows):
    push = [r for r in rows if r["task"] == "push"]
    assert all("no máximo 120 caracteres" in _user(r) and "Ocasião:" in _user(r) for r in push)
    assert len({r["topic"] for r in push}) >= 8


def test_reward_meta_per_task(rows, small_data):
    by_task = {r["task"]: r for r in rows}
    ext = by_task["extraction"]
    assert reward_meta(ext) == {"rating": ext["rating"]}
    sql = by_task["sql_qa"]
    # Rewards know no home folder: the row's meta names the database (the home's, unless given).
    assert reward_meta(sql) == {"reference_sql": sql["reference_sql"], "reference_answer": sql["reference_answer"],
                                "db_path": str(paths.commerce_db())}
    assert reward_meta(sql, db_path=small_data["db"])["db_path"] == str(small_data["db"])
    assert reward_meta(by_task["push"])["max_chars"] == 120
    assert reward_meta(by_task["insights"]) == {"topic": by_task["insights"]["topic"]}


def test_load_prompts_filters_and_validates(tmp_path, small_data):
    only = load_prompts(small_data["eval"], tasks=["push"])
    assert len(only) == 15 and {r["task"] for r in only} == {"push"}
    with pytest.raises(ValueError, match="unknown task.*valid tasks: extraction, sql_qa, insights, push"):
        load_prompts(small_data["eval"], tasks=["tweet"])

    good = make_row("push", "sys", "Escreva uma notificação")
    bad = dict(good, task="tweet")
    path = tmp_path / "p.jsonl"
    path.write_text(dumps([good]) + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"p\.jsonl:2: unknown task 'tweet'; valid tasks: extraction"):
        load_prompts(path)
    path.write_text(dumps([good]) + "{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"p\.jsonl:2: not valid JSON"):
        load_prompts(path)
    path.write_text(json.dumps(dict(good, rating=True)) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'rating' must be an integer 1-5"):
        load_prompts(path)
    path.write_text(json.dumps(dict(good, prompt="hello")) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'prompt' must be a list"):
        load_prompts(path)
    with pytest.raises(FileNotFoundError, match="data build"):
        load_prompts(tmp_path / "missing.jsonl")


def test_rows_from_other_sources_get_defaults(tmp_path):
    path = tmp_path / "min.jsonl"
    path.write_text(json.dumps({"prompt_id": "x1", "task": "insights",
                                "prompt": [{"role": "user", "content": "Analise"}]}) + "\n", encoding="utf-8")
    (row,) = load_prompts(path)
    assert row["stratum"] == "insights" and row["rating"] is None and set(row) == set(FIELDS)


def test_normalise_ignores_accents_case_and_punctuation():
    assert normalise("Não   RECEBI o produto!!") == normalise("nao recebi, o produto")
    assert normalise("Ação") == "acao"
    assert make_row("push", "s", "Olá, mundo")["prompt_id"] == make_row("push", "s", "ola mundo")["prompt_id"]


def test_datasets_reads_the_files(small_data, tmp_path):
    import datasets

    ds = datasets.load_dataset("json", data_files={"train": str(small_data["train"]), "eval": str(small_data["eval"])},
                               cache_dir=str(tmp_path / "hf"))
    assert ds["train"].num_rows == 1480 and ds["eval"].num_rows == 65
    first = ds["eval"][0]
    assert first["prompt"][0]["role"] == "system" and first["task"] in {"extraction", "sql_qa", "insights", "push"}


def test_reengagement_analyses_route_to_insights(rows):
    """The reason insights prompts talk about "reengajamento": the untagged-prompt router
    must send them to the insights reward, from the full chat and from the user text alone."""
    from rewards.routing import route_task

    ins = [r for r in rows if r["task"] == "insights"]
    assert sum("reengajamento" in _user(r) for r in ins) >= 20
    assert all(route_task(r["prompt"]) == "insights" for r in ins)
    assert all(route_task(_user(r)) == "insights" for r in ins)


def test_reference_sql_quotes_values_from_the_database():
    # A category name from a real CSV may hold a quote; it must stay inside its literal.
    import random
    import sqlite3

    from data import sql_questions
    from data.schema import create_schema

    ctx = sql_questions.Context(states=("SP",), seller_states=("SP",), categories=("cama_mesa'; banho",),
                                years=("2018",), months=("2018-03",), min_reviews=5)
    question = sql_questions.delivery_time_category(random.Random(0), ctx)
    assert "p.product_category_name = 'cama_mesa''; banho'" in question.sql
    conn = sqlite3.connect(":memory:")
    create_schema(conn)
    assert conn.execute(question.sql).fetchall() == []
