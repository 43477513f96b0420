"""Bad input: any string yields a breakdown in [0, 1] and never an exception, every reward."""

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
    yield str(build_probe_db(tmp_path_factory.mktemp("prop-db") / "commerce.db"))
    sql_exec.close_all()


META = {
    "extraction": {"rating": 3},
    "sql_qa": {"reference_sql": "SELECT COUNT(*) FROM orders", "reference_answer": "[[30]]"},
    "sql_qa_heuristic": {},
    "insights": {},
    "push": {"max_chars": 120},
}


def _check(b: RewardBreakdown, reward) -> None:
    assert isinstance(b, RewardBreakdown)
    assert 0.0 <= b.total <= 1.0 and not math.isnan(b.total)
    assert set(b.components) == set(reward.components)
    assert all(isinstance(v, float | int) and math.isfinite(v) for v in b.components.values())
    assert all(isinstance(n, str) for n in b.notes)
    json.dumps(b.to_dict())  # serialisable (surrogates are escaped, not fatal)


def _score_all(text: str, db: str) -> None:
    for name, reward in REWARDS.items():
        meta = dict(META[name])
        if name == "sql_qa":
            meta["db_path"] = db
        _check(reward.score(text, **meta), reward)


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
        meta = {**META[name], **({"db_path": db} if name == "sql_qa" else {})}
        _check(reward.score(completion, **meta), reward)
