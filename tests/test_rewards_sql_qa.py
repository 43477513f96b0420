"""The sql_qa reward: the query runs on the prompt's database and on a second, differently
seeded copy, and must agree with the reference on both; the comparison's leniency (extra
columns, rounding, percent scale, order only when asked, ties); the explanation's tiers;
the recipe's rules kept for `sql_qa_recipe` and `sql_qa_heuristic`."""

from __future__ import annotations

import pytest

from rewards import sql_exec
from rewards.probe_db import build_probe_db
from rewards.registry import get_reward
from rewards.sql_compare import compare, compare_results, is_ordered, parse_reference_answer, sort_key
from rewards.sql_qa import BUDGET_CEILING, BUDGET_FLOOR, budget_for, make_sql_reward

COUNT_SQL = "SELECT COUNT(*) FROM orders WHERE order_status = 'delivered'"
EXPLANATION = ("A consulta conta os pedidos entregues aos clientes. O resultado mostra {n} pedidos, a maior "
               "parte das vendas do período.")


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sql-dbs")
    a, b = build_probe_db(folder / "commerce.db"), build_probe_db(folder / "commerce-b.db", variant=1)
    yield {"db_path": str(a), "db_path_b": str(b)}
    sql_exec.close_all()


def _score(sql: str, dbs, n="23", **meta):
    text = f"```sql\n{sql}\n```\n{EXPLANATION.format(n=n)}"
    return get_reward("sql_qa").score(text, **{"reference_sql": COUNT_SQL, **dbs, **meta})


def test_right_wrong_and_broken_queries(dbs):
    right = _score(COUNT_SQL, dbs)
    assert right.total == pytest.approx(1.0) and right.components["sql_correct"] == 0.45
    wrong = _score(COUNT_SQL.replace("delivered", "shipped"), dbs, n="4")
    assert wrong.components["sql_runs"] == 0.10 and wrong.components["sql_correct"] == 0.0
    assert wrong.components["concrete_numbers"] == 0.0 and 0.2 < wrong.total < 0.35  # tiers halved
    broken = _score("SELEC COUNT(*) FROM orders", dbs)
    assert broken.components["sql_runs"] == 0.0 and any("syntax error" in n for n in broken.notes)
    assert right.total > wrong.total > broken.total


def test_answers_typed_in_or_coinciding_do_not_survive_the_second_database(dbs):
    typed = _score("SELECT 23", dbs)
    assert typed.total <= 0.15 and any("reads no table" in n for n in typed.notes)
    behind_a_table = _score("SELECT 23 FROM orders LIMIT 1", dbs)
    assert behind_a_table.components["sql_correct"] == 0 and any("main database only" in n for n in behind_a_table.notes)
    # Another filter whose count happens to equal the reference's on the main database only.
    coincidence = _score("SELECT COUNT(*) FROM orders WHERE order_status != 'canceled' AND order_status != 'shipped'",
                         dbs)
    assert coincidence.components["sql_correct"] == 0.45  # equivalent here and there: not a coincidence
    same_on_a = _score("SELECT COUNT(*) - 7 + 7 FROM orders WHERE order_id <= 'o30' AND order_status = 'delivered'",
                       dbs)
    assert same_on_a.components["sql_correct"] == 0.0 and any("main database only" in n for n in same_on_a.notes)


def test_without_the_second_database_only_the_main_one_is_checked(dbs, tmp_path):
    b = _score(COUNT_SQL, {"db_path": dbs["db_path"], "db_path_b": str(tmp_path / "nada.db")})
    assert b.components["sql_correct"] == 0.45 and any("second database not found" in n for n in b.notes)
    b = _score(COUNT_SQL, {"db_path": dbs["db_path"]})
    assert any("no second database" in n for n in b.notes)


def test_extra_columns_one_free_two_half_more_nothing(dbs):
    one = "SELECT order_status, COUNT(*) FROM orders WHERE order_status = 'delivered' GROUP BY 1"
    two = "SELECT order_status, COUNT(*), MIN(order_id) FROM orders WHERE order_status = 'delivered' GROUP BY 1"
    spray = "SELECT COUNT(*), SUM(1), MIN(1), MAX(1), AVG(1) FROM orders WHERE order_status = 'delivered'"
    assert _score(one, dbs).components["sql_correct"] == 0.45
    assert _score(two, dbs).components["sql_correct"] == pytest.approx(0.225)
    sprayed = _score(spray, dbs)
    assert sprayed.components["sql_correct"] == 0 and any("column spray" in n for n in sprayed.notes)


TIES = ("SELECT payment_type, COUNT(*) AS pagamentos FROM order_payments GROUP BY payment_type "
        "ORDER BY pagamentos DESC, payment_type")


def test_row_order_binds_only_when_asked_and_ties_may_come_in_any_order(dbs):
    meta = {"reference_sql": TIES}
    other_ties = TIES + " DESC"
    reversed_ = TIES.replace("pagamentos DESC", "pagamentos ASC")
    unordered = TIES.split(" ORDER BY")[0]
    asked = {**meta, "order_matters": True}
    assert _score(other_ties, dbs, **asked).components["sql_correct"] == 0.45
    b = _score(reversed_, dbs, **asked)
    assert b.components["sql_correct"] == 0 and any("wrong order" in n for n in b.notes)
    not_asked = {**meta, "order_matters": False}
    assert _score(reversed_, dbs, **not_asked).components["sql_correct"] == 0.45
    assert _score(unordered, dbs, **not_asked).components["sql_correct"] == 0.45


def test_the_answers_own_rounding_and_a_percent_scale_are_tolerated(dbs):
    avg = {"reference_sql": "SELECT ROUND(AVG(price), 2) FROM order_items"}
    assert _score("SELECT ROUND(AVG(price), 1) FROM order_items", dbs, **avg).components["sql_correct"] == 0.45
    assert _score("SELECT ROUND(AVG(price)) FROM order_items", dbs, **avg).components["sql_correct"] == 0.45
    assert _score("SELECT ROUND(AVG(price) + 1, 1) FROM order_items", dbs, **avg).components["sql_correct"] == 0
    share = {"reference_sql": "SELECT ROUND(100.0 * SUM(order_status = 'delivered') / COUNT(*), 2) FROM orders"}
    assert _score("SELECT AVG(order_status = 'delivered') FROM orders", dbs, **share).components["sql_correct"] == 0.45


def test_numbers_pay_only_for_figures_of_the_result(dbs):
    assert _score(COUNT_SQL, dbs, n="23").components["concrete_numbers"] == 0.10
    digits_only = _score(COUNT_SQL, dbs, n="vinte e três")
    assert digits_only.components["concrete_numbers"] == 0.0
    invented = _score(COUNT_SQL, dbs, n="87")
    assert invented.total == pytest.approx(0.35) and any("neither in the question" in n for n in invented.notes)
    # A figure of the question is not invented (and not paid either).
    asked = _score(COUNT_SQL, dbs, n="23", question="Quantos pedidos de 2018 foram entregues?")
    assert asked.total == pytest.approx(1.0)


def test_explanation_must_be_portuguese_and_not_repeat_itself(dbs):
    text = f"```sql\n{COUNT_SQL}\n```\nThe query counts the delivered orders; the result shows 23 orders for the store."
    english = get_reward("sql_qa").score(text, reference_sql=COUNT_SQL, **dbs)
    assert english.total == pytest.approx(0.35) and english.components["query_explanation"] == 0
    looped = f"```sql\n{COUNT_SQL}\n```\n" + " ".join(["A consulta conta os pedidos entregues da loja."] * 6)
    assert get_reward("sql_qa").score(looped, reference_sql=COUNT_SQL, **dbs).total <= 0.35


def test_reference_and_database_problems(dbs, tmp_path):
    r = get_reward("sql_qa")
    text = f"```sql\n{COUNT_SQL}\n```\n{EXPLANATION.format(n=23)}"
    unjudged = r.score(text, db_path=dbs["db_path"])
    assert unjudged.components["sql_runs"] == 0.10 and any("no reference answer" in n for n in unjudged.notes)
    with pytest.raises(ValueError, match="reference_answer is not valid JSON"):
        r.score(text, reference_answer="[[23]", **dbs)
    with pytest.raises(ValueError, match="reference_sql does not run"):
        r.score(text, reference_sql="SELECT nope FROM nada", **dbs)
    missing = r.score(text, reference_answer="[[23]]", db_path=str(tmp_path / "nada.db"))
    assert missing.components["sql_runs"] == 0 and any("database not found" in n and "data build" in n
                                                       for n in missing.notes)
    pure = r.score(text, reference_answer="[[23]]")
    assert pure.components["sql_runs"] == 0 and any("no database given" in n for n in pure.notes)


def test_the_operation_budget_follows_the_reference(dbs):
    assert budget_for(None) == sql_exec.DEFAULT_BUDGET_OPS
    assert budget_for(1000) == BUDGET_FLOOR and budget_for(10**9) == BUDGET_CEILING
    assert budget_for(500_000) == 5_000_000
    endless = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    b = _score(endless, dbs)
    assert b.components["sql_runs"] == 0 and any("operation budget" in n for n in b.notes)
    # The same completion, the same score: the budget is counted in operations, not time.
    assert _score(endless, dbs).to_dict() == b.to_dict()
    assert make_sql_reward(max_rows=10).version != get_reward("sql_qa").version


def test_compare_rules():
    assert compare([(1,), (2,)], [(2,), (1,)], ordered=False).ok
    assert compare([(1,), (2,)], [(2,), (1,)], ordered=True).reason == "right rows in the wrong order"
    tied = [("b", 10), ("a", 10), ("c", 5)]
    assert compare([("a", 10), ("b", 10), ("c", 5)], tied, ordered=True, key=1).ok
    assert not compare([("c", 5), ("a", 10), ("b", 10)], tied, ordered=True, key=1).ok
    assert not compare([(12.3,)], [(12.34,)], ordered=False).ok
    assert compare([(12.3,)], [(12.34,)], ordered=False, lenient=True).ok
    assert compare([(0.1234,)], [(12.34,)], ordered=False, lenient=True).ok
    assert compare([("beleza", 10, 3.5)], [(10,)], ordered=False).extra == 2
    assert sort_key("SELECT a, SUM(b) AS receita FROM t GROUP BY a ORDER BY receita DESC, a", ("a", "receita")) == 1
    assert sort_key("SELECT a, COUNT(*) FROM t GROUP BY a ORDER BY 2 DESC", ("a", "COUNT(*)")) == 1
    assert sort_key("SELECT c.uf, 1 FROM t ORDER BY c.uf", ("uf", "1")) == 0


def test_the_recipes_comparison_rule_is_kept():
    assert compare_results([(1,), (2,)], [(2,), (1,)], ordered=False)[0]
    assert compare_results([(1,), (2,)], [(2,), (1,)], ordered=True) == (False, "right rows in the wrong order")
    assert is_ordered("SELECT a FROM t ORDER BY a") and not is_ordered("SELECT a FROM (SELECT a FROM t ORDER BY a)")
    assert compare_results([(123.4567,)], [(123.46,)], ordered=False)[0]
    assert compare_results([("12.50", " SP ")], [(12.5, "sp")], ordered=False)[0]
    ok, reason = compare_results([("beleza", 10, 3.5)], [(10,)], ordered=False)
    assert ok and "extra column" in reason
    assert not compare_results([("a", 1), ("b", 2)], [("a", 2), ("b", 1)], ordered=False)[0]
    assert not compare_results([(1,)], [(1,), (1,)], ordered=False)[0]
    assert compare_results([(None,)], [(None,)], ordered=False)[0]
    with pytest.raises(ValueError, match="row 0 is not a list"):
        parse_reference_answer("[1, 2]")


def test_the_recipes_sql_rewards(dbs):
    heuristic = get_reward("sql_qa_heuristic")
    assert heuristic.components == ("sql_structure", "query_explanation", "concrete_numbers", "domain_coherence")
    text = f"```sql\n{COUNT_SQL};\n```\n{EXPLANATION.format(n=23)}"
    assert heuristic.score(text).total == pytest.approx(1.0)
    recipe = get_reward("sql_qa_recipe")
    # The previous default: a typed-in answer matched the reference and scored high.
    assert recipe.score("```sql\nSELECT 23\n```\n" + EXPLANATION.format(n=23), reference_answer="[[23]]",
                        db_path=dbs["db_path"]).total >= 0.9
