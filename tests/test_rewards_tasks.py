"""The four task rewards: components, weights, the recipe's rules and its planted bugs."""

from __future__ import annotations

import json
import math

import pytest

from rewards import schema
from rewards.extraction import make_extraction_reward
from rewards.insights import make_insights_reward
from rewards.probe_db import build_probe_db
from rewards.push import length_score, make_push_reward
from rewards.registry import REWARDS, default_reward_name, get_reward, score
from rewards.sql_compare import compare_results, is_ordered, parse_reference_answer
from rewards.sql_qa import make_sql_reward
from rewards.types import TASKS, RewardBreakdown

GOOD = schema.example_json()


@pytest.fixture(scope="module")
def probe_db(tmp_path_factory):
    return build_probe_db(tmp_path_factory.mktemp("rewards-db") / "commerce.db")


# ---------------------------------------------------------------- registry


def test_registry_names_defaults_and_unknown():
    assert set(REWARDS) == {"extraction", "sql_qa", "sql_qa_heuristic", "insights", "push"}
    for task in TASKS:
        assert default_reward_name(task) == task
        assert get_reward(task).task == task
    with pytest.raises(KeyError, match="valid rewards: extraction, sql_qa, sql_qa_heuristic, insights, push"):
        get_reward("sql")
    with pytest.raises(ValueError, match="valid tasks"):
        default_reward_name("chat")
    b = score("push", "Seu pedido chegou! Avalie e ganhe 10% 📦")
    assert isinstance(b, RewardBreakdown) and set(b.components) == set(get_reward("push").components)


def test_breakdown_total_is_clamped_and_components_sum_before_clamp():
    assert RewardBreakdown(1.7, {}).total == 1.0
    assert RewardBreakdown(-0.2, {}).total == 0.0
    assert RewardBreakdown(float("nan"), {}).total == 0.0
    assert RewardBreakdown.make(-0.1, {"a": -0.1}, ["x"]).total == 0.0
    for name, reward in REWARDS.items():
        assert abs(sum(w for w in reward.weights.values() if w > 0) - 1.0) < 1e-9, name


# ---------------------------------------------------------------- extraction


def test_schema_has_ten_fields_nine_checked():
    assert len(schema.EXTRACTION_FIELDS) == 10 and len(set(schema.FIELD_NAMES)) == 10
    assert len(schema.CHECKED_FIELDS) == 9
    for f in schema.EXTRACTION_FIELDS:
        assert {"name", "type", "allowed", "checked", "description"} <= set(f)
    assert "sentiment_score" in schema.describe_schema()


def test_extraction_perfect_partial_and_missing():
    r = get_reward("extraction")
    perfect = r.score(json.dumps(GOOD), rating=2)
    assert perfect.total == pytest.approx(1.0) and perfect.notes == ()
    partial = {k: v for k, v in GOOD.items() if k not in ("summary", "confidence")}
    b = r.score(json.dumps(partial))
    assert b.components["completeness"] == pytest.approx(0.30 * 8 / 10)
    assert b.components["value_validity"] == pytest.approx(0.40 * 7 / 9)
    assert any("missing summary, confidence" in n for n in b.notes)
    none = r.score("O cliente gostou do produto.")
    assert none.total == 0.0 and "json_valid: no JSON object found" in none.notes


def test_extraction_integer_and_string_echo_rules():
    r = get_reward("extraction")
    as_bool = r.score(json.dumps({**GOOD, "sentiment_score": True}))
    assert as_bool.components["value_validity"] == pytest.approx(0.40 * 8 / 9)
    as_float = r.score(json.dumps({**GOOD, "sentiment_score": 4.5}))
    assert as_float.components["value_validity"] == pytest.approx(0.40 * 8 / 9)
    echo = r.score(json.dumps({**GOOD, "delivery_issue": "delivery_issue", "summary": "summary"}))
    assert echo.components["value_validity"] == pytest.approx(0.40 * 7 / 9)
    assert any("echoes the schema" in n for n in echo.notes)
    # Enum values are accent- and case-insensitive; booleans must be JSON booleans.
    ok = r.score(json.dumps({**GOOD, "main_topic": "Preço", "sentiment": "NEGATIVO"}))
    assert ok.components["value_validity"] == pytest.approx(0.40)
    assert r.score(json.dumps({**GOOD, "would_recommend": "false"})).components["value_validity"] < 0.40


def test_extraction_rating_penalty_only_on_contradiction():
    r = get_reward("extraction")
    positive = json.dumps({**GOOD, "sentiment": "positivo"})
    assert r.score(positive, rating=1).components["rating_penalty"] == -0.20
    assert r.score(positive, rating=5).components["rating_penalty"] == 0.0
    assert r.score(json.dumps(GOOD), rating=5).components["rating_penalty"] == -0.20  # negativo vs 5 stars
    assert r.score(json.dumps({**GOOD, "sentiment": "neutro"}), rating=1).components["rating_penalty"] == 0.0
    assert r.score(positive).components["rating_penalty"] == 0.0  # no rating given
    with pytest.raises(ValueError, match="rating must be an integer from 1 to 5"):
        r.score(positive, rating=7)
    with pytest.raises(ValueError, match="rating"):
        r.score(positive, rating=True)


def test_extraction_planted_bugs_change_scores_and_versions():
    good, buggy = get_reward("extraction"), make_extraction_reward(normalise_decimals=False, strict_int=False)
    decimal = json.dumps(GOOD).replace('"confidence": 0.9', '"confidence": 0,9')
    assert good.score(decimal).total == pytest.approx(1.0)
    assert buggy.score(decimal).total < 0.9
    as_bool = json.dumps({**GOOD, "sentiment_score": True})
    assert buggy.score(as_bool).components["value_validity"] == pytest.approx(0.40)
    assert good.score(as_bool).components["value_validity"] < 0.40
    assert buggy.version != good.version
    assert make_extraction_reward().version == good.version


def test_extraction_array_wrapped_object_gets_half_json_credit():
    b = get_reward("extraction").score(json.dumps([GOOD]))
    assert b.components["json_valid"] == 0.15 and b.components["completeness"] == pytest.approx(0.30)


# ---------------------------------------------------------------- sql_qa

EXPLANATION = ("A consulta conta os pedidos entregues aos clientes. O resultado mostra 23 pedidos, a maior "
               "parte das vendas do período.")
COUNT_SQL = "SELECT COUNT(*) FROM orders WHERE order_status = 'delivered'"


def test_sql_heuristic_tiers():
    r = get_reward("sql_qa_heuristic")
    assert r.components == ("sql_structure", "query_explanation", "concrete_numbers", "domain_coherence")
    full = r.score(f"```sql\n{COUNT_SQL};\n```\n{EXPLANATION}")
    assert full.total == pytest.approx(1.0)
    bare = r.score(f"```sql\n{COUNT_SQL}\n```")
    assert bare.components["query_explanation"] == pytest.approx(0.125)
    assert bare.components["concrete_numbers"] == 0.0
    prose = r.score("Use SQL para descobrir isso.")
    assert prose.components["query_explanation"] == 0.0 and prose.components["sql_structure"] == 0.0


def test_sql_execution_right_wrong_and_broken(probe_db):
    r = get_reward("sql_qa")
    meta = {"reference_sql": COUNT_SQL, "reference_answer": "[[23]]", "db_path": str(probe_db)}
    right = r.score(f"```sql\n{COUNT_SQL}\n```\n{EXPLANATION}", **meta)
    assert right.components["sql_runs"] == 0.10 and right.components["sql_correct"] == 0.40
    assert right.total == pytest.approx(1.0)
    wrong = r.score(f"```sql\n{COUNT_SQL.replace('delivered', 'shipped')}\n```\n{EXPLANATION}", **meta)
    assert wrong.components["sql_runs"] == 0.10 and wrong.components["sql_correct"] == 0.0
    assert any("wrong answer" in n for n in wrong.notes)
    broken = r.score(f"```sql\nSELEC COUNT(*) FROM orders\n```\n{EXPLANATION}", **meta)
    assert broken.components["sql_runs"] == 0.0 and any("syntax error" in n for n in broken.notes)
    assert right.total > wrong.total > broken.total


def test_sql_reference_from_reference_sql_and_missing_reference(probe_db):
    r = get_reward("sql_qa")
    text = f"```sql\n{COUNT_SQL}\n```\n{EXPLANATION}"
    from_sql = r.score(text, reference_sql=COUNT_SQL, db_path=str(probe_db))
    assert from_sql.components["sql_correct"] == 0.40
    unjudged = r.score(text, db_path=str(probe_db))
    assert unjudged.components["sql_runs"] == 0.10 and unjudged.components["sql_correct"] == 0.0
    assert any("no reference answer" in n for n in unjudged.notes)
    with pytest.raises(ValueError, match="reference_answer is not valid JSON"):
        r.score(text, reference_answer="[[23]", db_path=str(probe_db))
    with pytest.raises(ValueError, match="reference_sql does not run"):
        r.score(text, reference_sql="SELECT nope FROM nada", db_path=str(probe_db))


def test_sql_missing_database_is_a_note_not_an_exception(tmp_path):
    text = f"```sql\n{COUNT_SQL}\n```"
    b = get_reward("sql_qa").score(text, reference_answer="[[23]]", db_path=str(tmp_path / "nada.db"))
    assert b.components["sql_runs"] == 0.0
    assert any("database not found" in n and "data build" in n for n in b.notes)
    from rewards.sql_exec import DatabaseMissing, check_database

    with pytest.raises(DatabaseMissing, match="tucano-audit data build"):
        check_database(tmp_path / "nada.db")


def test_sql_reward_is_pure_the_database_comes_as_an_argument(tmp_path):
    # No home folder, no default path: without db_path the query is not run, and the note says why.
    b = get_reward("sql_qa").score(f"```sql\n{COUNT_SQL}\n```", reference_answer="[[23]]")
    assert b.components["sql_runs"] == 0.0 and b.components["sql_correct"] == 0.0
    assert any("no database given" in n for n in b.notes)
    db = build_probe_db(tmp_path / "probe.db")
    b = get_reward("sql_qa").score(f"```sql\n{COUNT_SQL}\n```", reference_answer="[[23]]", db_path=str(db))
    assert b.components["sql_correct"] == 0.40


def test_compare_results_rules():
    # Order-insensitive without ORDER BY; order-sensitive with it (outside subqueries).
    assert compare_results([(1,), (2,)], [(2,), (1,)], ordered=False)[0]
    ok, reason = compare_results([(1,), (2,)], [(2,), (1,)], ordered=True)
    assert not ok and "wrong order" in reason
    assert is_ordered("SELECT a FROM t ORDER BY a") and not is_ordered("SELECT a FROM (SELECT a FROM t ORDER BY a)")
    assert not is_ordered(None)
    # Numeric tolerance: rounding to cents matches; 1% off does not.
    assert compare_results([(123.4567,)], [(123.46,)], ordered=False)[0]
    assert not compare_results([(124.7,)], [(123.46,)], ordered=False)[0]
    # Numbers written as text, case and whitespace in text.
    assert compare_results([("12.50", " SP ")], [(12.5, "sp")], ordered=False)[0]
    # Extra columns are ignored, missing ones are not; columns may come in any order.
    ok, reason = compare_results([("beleza", 10, 3.5)], [(10,)], ordered=False)
    assert ok and "extra column" in reason
    assert not compare_results([(10,)], [("beleza", 10)], ordered=False)[0]
    assert compare_results([(10, "beleza"), (7, "moveis")], [("moveis", 7), ("beleza", 10)], ordered=False)[0]
    # Row pairing matters, not only column contents.
    assert not compare_results([("a", 1), ("b", 2)], [("a", 2), ("b", 1)], ordered=False)[0]
    assert not compare_results([(1,)], [(1,), (1,)], ordered=False)[0]
    assert compare_results([], [], ordered=False)[0]
    assert compare_results([(None,)], [(None,)], ordered=False)[0]
    assert not compare_results([(None,)], [(0,)], ordered=False)[0]
    with pytest.raises(ValueError, match="row 0 is not a list"):
        parse_reference_answer("[1, 2]")


def test_sql_reward_parameters_are_validated():
    with pytest.raises(ValueError):
        make_sql_reward(time_limit_ms=0)
    assert make_sql_reward(execute=False).name == "sql_qa_heuristic"
    assert make_sql_reward(time_limit_ms=100).version != get_reward("sql_qa").version


# ---------------------------------------------------------------- insights

ANALYSIS = "\n".join(
    ["## Diagnóstico", ""]
    + ["As vendas de beleza cresceram e os clientes de São Paulo compraram mais produtos no trimestre."] * 6
    + ["", "## Recomendações", "",
       "- Priorizar transportadoras mais rápidas.",
       "- Implementar cupons de recompra.",
       "- Recomendamos monitorar a nota média por vendedor."]
)


def test_insights_components():
    r = get_reward("insights")
    b = r.score(ANALYSIS)
    assert b.components == {"action_words": 0.40, "length": 0.30, "structure": 0.20, "domain": 0.10}
    flat = r.score(ANALYSIS.replace("## ", "").replace("- ", ""))
    assert flat.components["structure"] == 0.0
    bold = r.score(ANALYSIS.replace("## Diagnóstico", "**Diagnóstico**"))
    assert bold.components["structure"] == 0.20


def test_insights_length_is_in_words():
    r = get_reward("insights")
    sentence = "Recomendamos priorizar e melhorar a entrega dos pedidos aos clientes. "
    n = len(sentence.split())  # 10 words
    assert r.score(sentence * 5).components["length"] == pytest.approx(0.30 * 5 * n / 100)
    assert r.score(sentence * 50).components["length"] == 0.30  # 500 words
    assert r.score(sentence * 120).components["length"] == pytest.approx(0.30 * (1 - 400 / 800))
    assert r.score(sentence * 170).components["length"] == 0.0
    # Markdown symbols and numbers are not words.
    assert r.score("## - ** 123 456 **").components["length"] == 0.0
    with pytest.raises(ValueError):
        make_insights_reward(min_words=900)


# ---------------------------------------------------------------- push


def _push_of(n: int) -> str:
    base = "Ana, seu tênis favorito está com 15% de desconto e frete grátis só hoje. Corra! "
    text = (base * 4)[: n - 1] + "!"
    assert len(text.strip()) == n
    return text


def test_push_length_component():
    r = get_reward("push")
    assert r.score(_push_of(120)).components["length"] == 0.50
    assert r.score(_push_of(121)).components["length"] == pytest.approx(0.50 * math.exp(-1 / 16), abs=1e-6)
    assert r.score(_push_of(200)).components["length"] > 0.0
    assert r.score(_push_of(201)).components["length"] == 0.0
    assert length_score(140, 120, 200) < 0.3  # steep
    # Characters are code points after NFC: a decomposed accent counts once.
    assert r.score("e\u0301" * 120).components["length"] == 0.50
    # Per-prompt max_chars from meta.
    assert r.score(_push_of(100), max_chars=90).components["length"] < 0.50
    with pytest.raises(ValueError, match="max_chars must be a positive integer"):
        r.score("oi", max_chars=0)


def test_push_portuguese_creativity_and_formality():
    r = get_reward("push")
    good = r.score("Seu pedido chegou! Avalie sua compra e ganhe R$ 10 de desconto na próxima 📦")
    assert good.total == pytest.approx(1.0)
    generic = r.score("Confira nossas ofertas")
    assert generic.components["creativity"] == 0.0  # identical to a template, no hook
    repeated = r.score("Oferta oferta oferta para você hoje! 50% de desconto")
    assert repeated.components["creativity"] == 0.0
    english = r.score("Your order has arrived! Rate it and get $10 off")
    assert english.components["portuguese"] == 0.0
    formal = r.score("Prezado cliente, seu pedido foi enviado. Atenciosamente, equipe.")
    assert formal.components["formal_penalty"] == -0.20
    assert r.score("Ei, seu pedido foi enviado!").components["formal_penalty"] == 0.0


def test_push_length_penalty_bug():
    buggy = make_push_reward(length_penalty=False)
    assert buggy.score(_push_of(121)).total == pytest.approx(buggy.score(_push_of(120)).total, abs=0.05)
    assert buggy.score(_push_of(300)).components["length"] == 0.50
    assert buggy.version != get_reward("push").version
    with pytest.raises(ValueError):
        make_push_reward(max_chars=120, hard_limit=100)
