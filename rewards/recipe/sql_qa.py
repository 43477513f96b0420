"""The recipe's sql_qa rewards: `sql_qa_heuristic` (the recipe's four tiers) and `sql_qa_recipe`
(the previous default: execution on one database + the tiers, scaled).

The recipe's four heuristic tiers (`sql_qa_heuristic`, weights 0.30/0.25/0.25/0.20):
- sql_structure: SQL keywords (SELECT, FROM, WHERE, JOIN, GROUP, ...), full at >= 3 distinct;
- query_explanation: a query *and* at least 10 words of explanation outside it (a query
  alone earns half);
- concrete_numbers: the explanation (outside the SQL) states at least one number;
- domain_coherence: distinct Portuguese business terms from a 50-term vocabulary (the
  recipe asks for a vocabulary of >= 30 words), full at >= 3 distinct terms.

The recipe could not tell "mentions SQL" from "writes correct SQL", so `sql_qa_recipe`
executes the query (rewards/sql_exec.py sandbox) and compares the result with the
prompt's reference answer (rewards/sql_compare.py):
- sql_runs 0.10: the query ran read-only to the end within the time limit;
- sql_correct 0.40: its rows match the reference answer;
- the four tiers scaled down to sql_structure 0.10, query_explanation 0.15,
  concrete_numbers 0.10, domain_coherence 0.15.
It is gameable: `SELECT 50.0` (the answer typed in) or a wrong filter whose result happens
to coincide scores 0.9-1.0, and any digit earns the numbers tier. The grounded default is
rewards.sql_qa.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from rewards import sql_compare, sql_exec
from rewards.lexicon import BUSINESS_STEMS, SQL_KEYWORDS, words
from rewards.parsing import MAX_SCAN
from rewards.sql_extract import extract_sql
from rewards.types import Reward, RewardBreakdown

HEURISTIC_WEIGHTS = {"sql_structure": 0.30, "query_explanation": 0.25, "concrete_numbers": 0.25,
                     "domain_coherence": 0.20}
EXECUTION_WEIGHTS = {"sql_runs": 0.10, "sql_correct": 0.40, "sql_structure": 0.10, "query_explanation": 0.15,
                     "concrete_numbers": 0.10, "domain_coherence": 0.15}
MIN_KEYWORDS = 3
MIN_EXPLANATION_WORDS = 10
MIN_BUSINESS_TERMS = 3
_DIGIT = re.compile(r"\d")


def _heuristics(text: str, weights: dict[str, float], notes: list[str]) -> tuple[dict[str, float], Any]:
    scan = text[:MAX_SCAN]
    extract = extract_sql(scan)
    tokens = words(scan)
    token_set = set(tokens)

    keywords = SQL_KEYWORDS & token_set
    structure = weights["sql_structure"] * (min(len(keywords), MIN_KEYWORDS) / MIN_KEYWORDS)
    if len(keywords) < MIN_KEYWORDS:
        notes.append(f"sql_structure: {len(keywords)} SQL keyword(s), {MIN_KEYWORDS} expected")

    explanation_words = len(words(extract.outside)) if extract.sql else len(tokens)
    if extract.sql and explanation_words >= MIN_EXPLANATION_WORDS:
        explanation = weights["query_explanation"]
    elif extract.sql:
        explanation = weights["query_explanation"] / 2
        notes.append(f"query_explanation: only {explanation_words} word(s) of explanation")
    else:
        explanation = 0.0
        notes.append("query_explanation: no SQL query found")

    numbers = weights["concrete_numbers"] if _DIGIT.search(extract.outside) else 0.0
    if not numbers:
        notes.append("concrete_numbers: the explanation states no number")

    terms = BUSINESS_STEMS.matches(token_set)
    domain = weights["domain_coherence"] * (min(len(terms), MIN_BUSINESS_TERMS) / MIN_BUSINESS_TERMS)
    if len(terms) < MIN_BUSINESS_TERMS:
        notes.append(f"domain_coherence: {len(terms)} business term(s), {MIN_BUSINESS_TERMS} expected")
    comps = {"sql_structure": structure, "query_explanation": explanation, "concrete_numbers": numbers,
             "domain_coherence": domain}
    return comps, extract


@lru_cache(maxsize=1024)
def _reference_rows_from_sql(db_key: tuple, reference_sql: str, budget_ops: int, max_rows: int):
    result = sql_exec.run_readonly(db_key[0], reference_sql, budget_ops=budget_ops * 5, max_rows=max_rows)
    if not result.ok:
        raise ValueError(f"reference_sql does not run on {db_key[0]}: {result.error}")
    return tuple(result.rows)


def _execution(extract, meta: dict[str, Any], params: dict[str, Any], notes: list[str]) -> dict[str, float]:
    w = EXECUTION_WEIGHTS
    out = {"sql_runs": 0.0, "sql_correct": 0.0}
    reference_sql = meta.get("reference_sql")
    ref_rows = None
    if "reference_answer" in meta:
        ref = meta["reference_answer"]
        ref_rows = sql_compare.parse_reference_answer(ref) if isinstance(ref, str) else sql_compare.rows_from_json(ref)
    if extract.sql is None:
        notes.append("sql_runs: nothing to execute")
        return out
    if "db_path" not in meta:
        notes.append("sql_runs: no database given (db_path), query not run")
        return out
    db_path = Path(meta["db_path"])
    if not db_path.is_file():
        notes.append(f"sql_runs: database not found at {db_path} (run `tucano-audit data build`)")
        return out
    result = sql_exec.run_readonly(db_path, extract.sql, budget_ops=params["budget_ops"],
                                   max_rows=params["max_rows"], cache=True)
    if not result.ok:
        notes.append(f"sql_runs: {result.error}")
        return out
    if result.truncated:
        notes.append(f"sql_runs: more than {params['max_rows']} rows; result cut")
    out["sql_runs"] = w["sql_runs"]
    if ref_rows is None and reference_sql:
        st = db_path.stat()
        ref_rows = _reference_rows_from_sql((str(db_path), st.st_mtime_ns, st.st_size), str(reference_sql),
                                            params["budget_ops"], params["max_rows"])
    if ref_rows is None:
        notes.append("sql_correct: no reference answer, correctness not judged")
        return out
    if result.truncated:
        notes.append("sql_correct: result too large to compare")
        return out
    ok, reason = sql_compare.compare_results(
        result.rows, ref_rows, ordered=sql_compare.is_ordered(reference_sql),
        rel_tol=params["rel_tol"], abs_tol=params["abs_tol"],
    )
    if ok:
        out["sql_correct"] = w["sql_correct"]
        if reason != "match":
            notes.append(f"sql_correct: {reason}")
    else:
        notes.append(f"sql_correct: wrong answer ({reason})")
    return out


def make_sql_recipe_reward(
    *,
    execute: bool = True,
    budget_ops: int = sql_exec.DEFAULT_BUDGET_OPS,
    max_rows: int = sql_exec.DEFAULT_MAX_ROWS,
    rel_tol: float = sql_compare.REL_TOL,
    abs_tol: float = sql_compare.ABS_TOL,
    name: str | None = None,
) -> Reward:
    """`execute=True`: `sql_qa_recipe` (execution + scaled tiers); `execute=False`: the
    recipe's heuristic tiers only (`sql_qa_heuristic`)."""
    if budget_ops <= 0 or max_rows <= 0:
        raise ValueError("budget_ops and max_rows must be positive")
    params = {"execute": bool(execute), "budget_ops": int(budget_ops), "max_rows": int(max_rows),
              "rel_tol": float(rel_tol), "abs_tol": float(abs_tol)}
    weights = EXECUTION_WEIGHTS if execute else HEURISTIC_WEIGHTS

    def fn(text: str, meta: dict[str, Any]) -> RewardBreakdown:
        notes: list[str] = []
        comps, extract = _heuristics(text, weights, notes)
        if execute:
            comps = {**_execution(extract, meta, params, notes), **comps}
        return RewardBreakdown.make(sum(comps.values()), comps, notes)

    return Reward(
        name=name or ("sql_qa_recipe" if execute else "sql_qa_heuristic"),
        task="sql_qa",
        components=tuple(weights),
        weights=dict(weights),
        params=params,
        meta_keys=("reference_sql", "reference_answer", "db_path") if execute else (),
        source_modules=(__name__, "rewards.sql_exec", "rewards.sql_compare", "rewards.parsing", "rewards.sql_extract",
                        "rewards.lexicon", "rewards.types"),
        fn=fn,
    )
