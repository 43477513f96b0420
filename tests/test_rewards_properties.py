"""Bad input: any string yields a breakdown in [0, 1] and never an exception, every reward;
and the same completion gets the same score every time."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewards import sql_exec
from rewards.probe_db import build_probe_db
from rewards.registry import REWARDS
from rewards.types import RewardBreakdown


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prop-db")
    build_probe_db(folder / "commerce-b.db", variant=1)
    yield str(build_probe_db(folder / "commerce.db"))
    sql_exec.close_all()


GOLD = {"sentiment": "neutro", "delivery_issue": True, "product_quality_issue": None, "customer_service_issue": False,
        "would_recommend": None, "main_topic": ["entrega"], "other_topics": []}
BRIEF = {"occasion": "natal", "occasion_label": "Natal", "product": "panela", "category": "utilidades domésticas",
         "offer": "cupom NATAL20 com 20% off", "audience": "clientes de SP", "tone": "acolhedor", "ticket": "R$ 99,90"}
SUMMARY = ["Resumo dos dados em SP (pedidos de 2017-01-01 a 2018-08-29):", "Pedidos: 1.234; ticket médio: R$ 98,70"]
SQL_META = {"reference_sql": "SELECT COUNT(*) FROM orders", "reference_answer": "[[30]]", "order_matters": False,
            "question": "Quantos pedidos existem?"}
META = {
    "extraction": {"rating": 3, "gold": GOLD, "review": "Demorou, mas chegou bem embalado."},
    "sql_qa": SQL_META,
    "sql_qa_recipe": {k: SQL_META[k] for k in ("reference_sql", "reference_answer")},
    "sql_qa_heuristic": {},
    "insights": {"data_summary": SUMMARY, "request": "Analise a recompra em SP.", "prompt_text": "Resumo"},
    "push": {"max_chars": 120, "brief": BRIEF, "prompt_text": "Briefing da campanha"},
    "extraction_recipe": {"rating": 3},
    "insights_recipe": {},
    "push_recipe": {"max_chars": 120},
}


def _check(b: RewardBreakdown, reward) -> None:
    assert isinstance(b, RewardBreakdown)
    assert 0.0 <= b.total <= 1.0 and not math.isnan(b.total)
    assert set(b.components) == set(reward.components)
    assert all(isinstance(v, float | int) and math.isfinite(v) for v in b.components.values())
    assert all(isinstance(n, str) for n in b.notes)
    json.dumps(b.to_dict())  # serialisable (surrogates are escaped, not fatal)


def _with_db(name: str, db: str) -> dict:
    meta = dict(META[name])
    if name in ("sql_qa", "sql_qa_recipe"):
        meta["db_path"] = db
        if name == "sql_qa":
            meta["db_path_b"] = db.replace("commerce.db", "commerce-b.db")
    return meta


def _score_all(text: str, db: str) -> None:
    for name, reward in REWARDS.items():
        _check(reward.score(text, **_with_db(name, db)), reward)


any_text = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(categories=["Cs", "Co", "Cc", "So", "Zs", "Lo"]), max_size=200),
    st.binary(max_size=400).map(lambda b: b.decode("latin-1")),
    st.binary(max_size=400).map(lambda b: b.decode("utf-8", errors="surrogateescape")),
)
structured = st.one_of(
    st.builds(lambda a, b, c: f"{a}```json\n{{{b}: {c}\n```", st.text(max_size=40), st.text(max_size=40),
              st.text(max_size=40)),
    st.builds(lambda a, b: f"{a}\n```sql\nSELECT {b}\n```", st.text(max_size=40), st.text(max_size=80)),
    st.builds(lambda a, b: f"SELECT {a} FROM orders WHERE {b}", st.text(max_size=40), st.text(max_size=40)),
    st.builds(lambda a, n: "{" + ('"sentiment": ' + a + ",") * n, st.text(max_size=20), st.integers(0, 30)),
    st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=10),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                 max_leaves=20).map(lambda v: json.dumps(v, allow_nan=True)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=any_text)
def test_any_string_scores_in_unit_interval(db, text):
    _score_all(text, db)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=structured)
def test_json_and_sql_shaped_garbage_scores_in_unit_interval(db, text):
    _score_all(text, db)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " " * 10,
        "x" * 1_000_000,
        ("Recomendamos priorizar clientes. " * 40_000)[:1_000_000],
        "{" * 100_000,
        "[" * 50_000 + "{",
        '{"a": ' * 20_000,
        "```sql\n" * 20_000,
        "```json\n{" * 10_000,
        "\ud800\udfff\udbff" * 1000,
        "\x00\x01\x02\xff" * 1000,
        "<html><body><script>alert('x')</script><h1>Oferta</h1><p>50% OFF</p></body></html>" * 100,
        "SELECT " + "(" * 5000 + "1" + ")" * 5000,
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
        "9" * 500_000,
        "é" * 200 + "\u0301" * 5000,
        "done with care " * 20_000,
    ],
    ids=["empty", "spaces", "1MB-x", "1MB-words", "braces", "brackets", "nested-keys", "fences",
         "json-fences", "surrogates", "binary", "html", "deep-parens", "endless-cte", "digits", "combining", "with-prose"],
)
def test_hostile_strings_score_in_unit_interval(db, text):
    _score_all(text, db)


def test_non_string_completions_are_accepted(db):
    for completion in (None, b"\xff\xfe bytes", [{"role": "assistant", "content": "oi"}], 42):
        _score_all_obj(completion, db)


def _score_all_obj(completion, db) -> None:
    for name, reward in REWARDS.items():
        _check(reward.score(completion, **_with_db(name, db)), reward)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(any_text, structured))
def test_the_same_completion_gets_the_same_score(db, text):
    for name, reward in REWARDS.items():
        meta = _with_db(name, db)
        assert reward.score(text, **meta).to_dict() == reward.score(text, **meta).to_dict()
