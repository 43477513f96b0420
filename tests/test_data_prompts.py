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
    # The rating is metadata for the mismatch check, not part of the text (customers may
    # write "nota 10" in a comment; the prompt never adds a rating line of its own).
    assert all(r["rating"] in range(1, 6) for r in ext)
    assert not any(line.startswith(("Nota", "Estrelas", "Avaliação:")) for r in ext for line in _user(r).splitlines())
    # The review's text and the labels it was composed from go into the row for the reward.
    for r in ext:
        assert r["review"] and r["review"].split(". ")[-1][:20] in _user(r)
        assert set(r["gold"]) >= {"sentiment", "delivery_issue", "product_quality_issue", "customer_service_issue",
                                  "would_recommend", "main_topic", "other_topics", "themes"}
        assert r["gold"]["sentiment"] == ("negativo" if r["rating"] <= 2 else "neutro" if r["rating"] == 3
                                          else "positivo")


def test_sql_prompts_carry_question_schema_and_reference(rows):
    from data.prompt_facts import asks_for_order

    sql = [r for r in rows if r["task"] == "sql_qa"]
    assert {r["order_matters"] for r in sql} == {True, False}
    for r in sql:
        text = _user(r)
        assert text.startswith("Pergunta de negócio:") and "Tabelas que você pode usar" in text
        # The question's words say whether it asks for an order; the row's flag agrees.
        assert r["question"] in text and asks_for_order(r["question"]) == r["order_matters"]
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
    for r in ins:
        assert r["data_summary"][0].startswith("Resumo dos dados") and r["request"] in _user(r)
        assert all(line in _user(r) for line in r["data_summary"])


def test_push_briefs_ask_for_120_characters(rows):
    push = [r for r in rows if r["task"] == "push"]
    assert all("no máximo 120 caracteres" in _user(r) and "Ocasião:" in _user(r) for r in push)
    assert len({r["topic"] for r in push}) >= 8
    for r in push:
        brief = r["brief"]
        assert brief["occasion"] == r["topic"] and f"Oferta: {brief['offer']}" in _user(r)
        assert f"Produto em destaque: {brief['product']} ({brief['category']})" in _user(r)


def test_reward_meta_per_task(rows, small_data):
    by_task = {r["task"]: r for r in rows}
    ext = by_task["extraction"]
    assert reward_meta(ext) == {"rating": ext["rating"], "gold": ext["gold"], "review": ext["review"]}
    sql = by_task["sql_qa"]
    # Rewards know no home folder: the meta names the databases (the home's, unless given),
    # the second one beside the first.
    meta = reward_meta(sql)
    assert meta["db_path"] == str(paths.commerce_db()) and meta["db_path_b"] == str(paths.commerce_db_b())
    assert {k: meta[k] for k in ("reference_sql", "reference_answer", "question", "order_matters")} == \
        {k: sql[k] for k in ("reference_sql", "reference_answer", "question", "order_matters")}
    given = reward_meta(sql, db_path=small_data["db"])
    assert given["db_path"] == str(small_data["db"]) and given["db_path_b"] == str(small_data["db_b"])
    push = reward_meta(by_task["push"])
    assert push["max_chars"] == 120 and push["brief"] == by_task["push"]["brief"] and "Briefing" in push["prompt_text"]
    ins = reward_meta(by_task["insights"])
    assert ins["data_summary"] == by_task["insights"]["data_summary"] and ins["request"] == by_task["insights"]["request"]


def test_rows_that_lost_their_grounding_get_it_back_from_their_text(rows):
    by_task = {r["task"]: r for r in rows}
    for task, fields in (("extraction", ("review",)), ("push", ("brief",)), ("insights", ("data_summary", "request")),
                         ("sql_qa", ("question", "order_matters"))):
        row = by_task[task]
        bare = {**row, **dict.fromkeys(fields)}
        meta = reward_meta(bare)
        for field in fields:
            if field == "brief":  # the occasion's key comes from the topic, the rest from the text
                assert {k: meta["brief"][k] for k in ("offer", "product", "category", "tone")} == \
                    {k: row["brief"][k] for k in ("offer", "product", "category", "tone")}
            elif field == "review":
                assert meta["review"].split(". ")[-1] == row["review"].split(". ")[-1]
            else:
                assert meta[field] == row[field], (task, field)
    # Gold labels are in no text: a row without them stays without them.
    assert "gold" not in reward_meta({**by_task["extraction"], "gold": None})


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
    path.write_text(json.dumps(dict(good, brief="Natal")) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'brief' must be dict or null"):
        load_prompts(path)
    with pytest.raises(ValueError, match="unknown prompt field"):
        make_row("push", "sys", "Escreva", briefing={})
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
