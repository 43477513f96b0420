"""The sql_qa reward: a business question answered with a SQL query and a Portuguese
explanation, judged by running the query.

Components (positive weights sum to 1):
- sql_runs 0.10: the query ran read-only to the end within its operation budget and
  read a table of the schema (an answer typed in as `SELECT 50.0` reads none).
- sql_correct 0.45: its rows match the reference answer (rewards.sql_compare, lenient:
  the answer's own rounding and a percent/fraction scale are fine) on the prompt's
  database *and* on a second, differently seeded copy (meta `db_path_b`), where the
  reference query runs too. An answer typed in, or a wrong filter whose result happens
  to coincide, does not survive the second database. One extra result column is free, two
  earn half, more earn nothing (a query spraying columns hoping one matches). Row order
  counts only when the question asks for an order (meta `order_matters`), and then only
  the order of the sort key: tied rows may come in any order.
- sql_structure 0.05 (three SQL keywords), query_explanation 0.15 (ten words of Portuguese
  explanation outside the query, not a copy of the question), concrete_numbers 0.10 (the
  explanation restates a figure of the result; any digit no longer pays), domain_coherence
  0.15 (three business terms). When the query is wrong these earn half, and
  concrete_numbers nothing.
- cap (penalty): the total is capped when the query reads no table (0.15), or the
  explanation is in English (0.35), repeats a quarter of its sentences (0.35), stops
  mid-sentence (0.35: a completion cut at the token limit), or states figures that are
  neither in the question, the query nor the result (0.35).

Meta: `reference_answer` (JSON rows; else `reference_sql` is run to get them),
`reference_sql`, `db_path` (without it the query is not run and the note says so),
`db_path_b` (without it, or when the file is missing, only the first database is checked
and the note says so), `order_matters`, `question`, `prompt_text`. Budget: ten times the
operations the reference query needs, at most 10 million, and at least enough for a
plain scan-and-join of the database's largest table (50 operations a row, between 100,000
and 2 million: a correct query that ignores an index still runs) (`budget_for`; a
reference query on the full-size database needs 1,000-1,830,000 operations, median
20,000; on the small build at most 53,000). With the budget goes a CPU-time limit
(`rewards.sql_exec.cpu_limit_for`, 300 ns an operation, at least 50 ms), so a query whose
every step works hard cannot take longer than its budget's worth of ordinary steps. The
reference itself runs once per process and file (cached).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from rewards import figures, sql_compare, sql_exec
from rewards.lexicon import SQL_KEYWORDS, letters_table, tokens, tokens_table, words
from rewards.parsing import MAX_SCAN
from rewards.prompt_cache import prompt_cache
from rewards.sql_extract import extract_sql
from rewards.text import cut_off, ngram_share, ngrams, repeated_lines
from rewards.types import Reward, RewardBreakdown, capped
from rewards.wordclass import Profile

WEIGHTS = {"sql_runs": 0.10, "sql_correct": 0.45, "sql_structure": 0.05, "query_explanation": 0.15,
           "concrete_numbers": 0.10, "domain_coherence": 0.15, "cap": -1.0}
COMPONENTS = tuple(WEIGHTS)
_LETTERS, _TOKENS = letters_table(), tokens_table()
_NO_FIGURES = figures.Source(())
CAPS = {"typed": 0.15, "english": 0.35, "invented": 0.35, "repeats": 0.35, "cut": 0.35}
MIN_EXPLANATION_WORDS = 10
BUDGET_FACTOR, BUDGET_FLOOR, BUDGET_CEILING = 10, 2_000_000, 10_000_000
# The floor follows the database's size: about 50 operations per row of its largest table
# pay for a scan joined to another table by key, never less than MIN_FLOOR.
OPS_PER_ROW, MIN_FLOOR = 50, 100_000
_REFERENCE_BUDGET = 500_000_000


def budget_for(reference_ops: int | None, largest_table_rows: int | None = None) -> int:
    """VM operations a candidate may use on a prompt whose reference needs `reference_ops`
    (None: no reference query to measure), on a database whose largest table has
    `largest_table_rows` rows (None: unknown, the floor for the full-size build)."""
    if reference_ops is None:
        return sql_exec.DEFAULT_BUDGET_OPS
    floor = BUDGET_FLOOR if largest_table_rows is None else \
        min(BUDGET_FLOOR, max(MIN_FLOOR, OPS_PER_ROW * largest_table_rows))
    return max(floor, min(BUDGET_CEILING, BUDGET_FACTOR * reference_ops))


def _file_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path), st.st_ino, st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=2048)
def _reference(file_key: tuple, sql: str, max_rows: int) -> sql_exec.QueryResult:
    return sql_exec.run_readonly(file_key[0], sql, budget_ops=_REFERENCE_BUDGET, deadline_ms=60_000,
                                 max_rows=max_rows)


def _reference_run(file_key: tuple, sql: str, max_rows: int) -> sql_exec.QueryResult:
    result = _reference(file_key, sql, max_rows)
    if not result.ok:
        raise ValueError(f"reference_sql does not run on {file_key[0]}: {result.error}")
    return result


@lru_cache(maxsize=64)
def _schema_tables(file_key: tuple) -> frozenset[str]:
    result = sql_exec.run_readonly(file_key[0], "SELECT name FROM sqlite_master WHERE type = 'table'")
    return frozenset(r[0] for r in result.rows or ())


def query_budget(db_a: str | Path, db_b: str | Path | None = None, reference_sql: str | None = None, *,
                 max_rows: int = sql_exec.DEFAULT_MAX_ROWS) -> int:
    """The operation budget the reward gives an answer's query on a prompt whose reference is
    `reference_sql`, on its database and second database (what benchmarks print)."""
    keys = [_file_key(Path(db)) for db in (db_a, db_b) if db is not None]
    refs = [_reference_run(k, reference_sql, max_rows) for k in keys] if reference_sql else []
    return _budget(refs, keys)


def _budget(refs: list[sql_exec.QueryResult], keys: list[tuple]) -> int:
    """budget_for the references run on these files (their file keys)."""
    sizes = [n for n in map(_largest_table_rows, keys) if n is not None]
    return budget_for(max(r.ops for r in refs) if refs else None, max(sizes) if sizes else None)


@lru_cache(maxsize=64)
def _largest_table_rows(file_key: tuple) -> int | None:
    tables = sorted(_schema_tables(file_key))
    if not tables:
        return None
    counts = " UNION ALL ".join(f'SELECT count(*) AS c FROM "{t.replace(chr(34), chr(34) * 2)}"' for t in tables)
    result = sql_exec.run_readonly(file_key[0], f"SELECT max(c) FROM ({counts})", budget_ops=_REFERENCE_BUDGET,
                                   deadline_ms=60_000)
    return int(result.rows[0][0]) if result.ok and result.rows and result.rows[0][0] is not None else None


def _correct(result, ref_rows, order_matters: bool, key, params, where: str, notes: list[str]) -> float:
    c = sql_compare.compare(result.rows, ref_rows, ordered=order_matters, key=key, rel_tol=params["rel_tol"],
                            abs_tol=params["abs_tol"], lenient=True)
    if not c.ok:
        notes.append(f"sql_correct: wrong answer on the {where} ({c.reason})")
        return 0.0
    if c.extra >= 2:
        notes.append(f"sql_correct: {c.extra} extra columns" + (" (column spray)" if c.extra > 2 else ""))
    return 1.0 if c.extra <= 1 else 0.5 if c.extra == 2 else 0.0


def _execution(sql: str | None, meta: dict[str, Any], params: dict, notes: list[str], caps: list,
               values: list, counts: list) -> tuple[float, float, bool | None]:
    """(runs, correct, judged-correct or None when not judged); `values` gets the result's
    cells, `counts` its number of rows (an explanation may say how many rows there are)."""
    if sql is None:
        notes.append("sql_runs: nothing to execute")
        return 0.0, 0.0, False
    if "db_path" not in meta:
        notes.append("sql_runs: no database given (db_path), query not run")
        return 0.0, 0.0, None
    db_a = Path(meta["db_path"])
    if not db_a.is_file():
        notes.append(f"sql_runs: database not found at {db_a} (run `tucano-audit data build`)")
        return 0.0, 0.0, None
    reference_sql = meta.get("reference_sql")
    db_b = Path(meta["db_path_b"]) if meta.get("db_path_b") else None
    if db_b is not None and not db_b.is_file():
        notes.append(f"sql_correct: second database not found at {db_b}: checked on the main one only")
        db_b = None
    if db_b is None and reference_sql:
        notes.append("sql_correct: no second database: an answer typed in cannot be told from a query")
    # Each file's key (path, inode, size, mtime) once: the cached facts of the file hang on it.
    key_a, key_b = _file_key(db_a), _file_key(db_b) if db_b is not None else None
    ref_a = _reference_run(key_a, str(reference_sql), params["max_rows"]) if reference_sql else None
    ref_b = _reference_run(key_b, str(reference_sql), params["max_rows"]) if reference_sql and key_b else None
    budget = _budget([r for r in (ref_a, ref_b) if r], [k for k in (key_a, key_b) if k])
    got_a, got_b = sql_exec.run_pair(db_a, db_b if ref_b else None, sql, budget_ops=budget,
                                     max_rows=params["max_rows"], cache=True)
    for got, where in ((got_a, "main database"), (got_b, "second database")):
        if got is not None and not got.ok:
            notes.append(f"sql_runs: {got.error}" + ("" if where == "main database" else f" (on the {where})"))
            return 0.0, 0.0, False
    if not got_a.tables & _schema_tables(key_a):
        notes.append("sql_runs: the query reads no table of the schema")
        caps.append(("typed", "the answer is typed in, not queried"))
        return 0.0, 0.0, False
    values.extend(v for row in got_a.rows for v in row)
    counts.append(len(got_a.rows))
    if "reference_answer" in meta:
        ref = meta["reference_answer"]
        ref_rows = sql_compare.parse_reference_answer(ref) if isinstance(ref, str) else sql_compare.rows_from_json(ref)
    else:
        ref_rows = tuple(ref_a.rows) if ref_a else None
    if ref_rows is None:
        notes.append("sql_correct: no reference answer, correctness not judged")
        return 1.0, 0.0, None
    values.extend(v for row in ref_rows for v in row)
    counts.append(len(ref_rows))
    if got_a.truncated or (got_b is not None and got_b.truncated):
        notes.append("sql_correct: result too large to compare")
        return 1.0, 0.0, False
    order = meta.get("order_matters")
    order_matters = sql_compare.is_ordered(reference_sql) if order is None else bool(order)
    key = sql_compare.sort_key(reference_sql, ref_a.columns) if ref_a else None
    correct = _correct(got_a, ref_rows, order_matters, key, params, "main database", notes)
    if correct and ref_b is not None:
        on_b = _correct(got_b, ref_b.rows, order_matters, key, params, "second database", notes)
        if not on_b:
            notes.append("sql_correct: agrees on the main database only (a coincidence, or the answer typed in)")
        correct = min(correct, on_b)
    return 1.0, correct, correct > 0


@prompt_cache()
def _question(question: str) -> tuple[frozenset, frozenset]:
    toks = tokens(question)
    return frozenset(toks), frozenset(ngrams(toks, 4))


def _restates(explanation_tokens: list[bytes], question: str) -> bool:
    """Most of the explanation's 4-grams are the question's (checked only when most of its
    words are)."""
    vocabulary, grams = _question(question)
    unique = set(explanation_tokens)
    if len(vocabulary & unique) < 0.6 * len(unique):
        return False
    return ngram_share(explanation_tokens, grams, 4) >= 0.6


def _text_tiers(text: str, extract, meta: dict, values: list, counts: list, judged: bool | None,
                notes: list[str], caps: list) -> dict[str, float]:
    explanation = extract.outside if extract.sql else text
    encoded = explanation.encode("latin-1", "ignore")  # lexicon.words and tokens read these bytes
    expl_words = encoded.translate(_LETTERS).split()
    profile = Profile(expl_words)
    keywords = SQL_KEYWORDS.intersection(words(extract.sql)) if extract.sql else ()
    structure = min(len(keywords), 3) / 3
    if len(keywords) < 3:
        notes.append(f"sql_structure: {len(keywords)} SQL keyword(s), 3 expected")
    pt, en = profile.language()
    share = pt / (pt + en) if pt + en >= 3 else None
    portuguese = share is None or share >= 0.5
    if not portuguese:
        caps.append(("english", f"the explanation is not Portuguese ({share:.0%} Portuguese function words)"))
    repeats, line = repeated_lines(explanation)
    if repeats > 0.25:
        caps.append(("repeats", f"the explanation repeats itself ({line[:40]!r})"))
    if cut_off(explanation):
        caps.append(("cut", "the explanation stops mid-sentence"))
    question = str(meta.get("question") or meta.get("prompt_text") or "")
    copied = bool(question) and _restates(encoded.translate(_TOKENS).split(), question)
    if copied:
        notes.append("query_explanation: restates the question instead of explaining")
    if extract.sql and len(expl_words) >= MIN_EXPLANATION_WORDS and portuguese and not copied and repeats <= 0.25:
        explanation_credit = 1.0
    elif extract.sql:
        explanation_credit = 0.5 if portuguese and not copied else 0.0
        notes.append(f"query_explanation: {len(expl_words)} word(s) of Portuguese explanation")
    else:
        explanation_credit = 0.0
        notes.append("query_explanation: no SQL query found")
    found = [f for f in figures.figures(explanation) if not f.generic]
    restated = invented = []
    if found:
        # The result's cells and row counts (none without a database), and the question.
        source = figures.Source(figures.numeric_values(values)) if values else _NO_FIGURES
        rows, asked = figures.Source(counts) if counts else _NO_FIGURES, figures.source_of(question)
        restated = [f for f in found if source.has(f)] if source else []
        invented = [f for f in found if not (source.has(f) or rows.has(f) or asked.has(f))]
        if invented:  # the query's own figures (read from this answer, so not cached) are not invented
            queried = figures.Source(v for f in figures.figures(extract.sql or "") for v, _ in f.readings)
            invented = [f for f in invented if not queried.has(f)]
    if invented and (values or question):
        caps.append(("invented", f"figure(s) neither in the question nor the result: "
                                 f"{', '.join(f.text for f in invented[:3])}"))
    numbers = 1.0 if restated and judged else 0.0
    if not numbers:
        notes.append("concrete_numbers: no figure of a correct result restated")
    terms = profile.stems("business") if portuguese else set()
    domain = min(len(terms), 3) / 3
    if len(terms) < 3:
        notes.append(f"domain_coherence: {len(terms)} business term(s), 3 expected")
    tiers = {"sql_structure": structure, "query_explanation": explanation_credit, "concrete_numbers": numbers,
             "domain_coherence": domain}
    if judged is False:
        tiers = {k: v * 0.5 for k, v in tiers.items()}
    return {k: WEIGHTS[k] * v for k, v in tiers.items()}


def make_sql_reward(
    *,
    max_rows: int = sql_exec.DEFAULT_MAX_ROWS,
    rel_tol: float = sql_compare.REL_TOL,
    abs_tol: float = sql_compare.ABS_TOL,
    name: str = "sql_qa",
) -> Reward:
    """The sql_qa reward (execution on both databases + grounded explanation tiers)."""
    if max_rows <= 0:
        raise ValueError("max_rows must be positive")
    params = {"max_rows": int(max_rows), "rel_tol": float(rel_tol), "abs_tol": float(abs_tol),
              "budget": [BUDGET_FACTOR, BUDGET_FLOOR, BUDGET_CEILING, OPS_PER_ROW, MIN_FLOOR,
                         sql_exec.CPU_NS_PER_OP, sql_exec.CPU_FLOOR_MS]}

    def fn(text: str, meta: dict[str, Any]) -> RewardBreakdown:
        notes: list[str] = []
        caps: list[tuple[str, str]] = []
        scan = text[:MAX_SCAN]
        extract = extract_sql(scan)
        values: list = []
        counts: list = []
        runs, correct, judged = _execution(extract.sql, meta, params, notes, caps, values, counts)
        components = {"sql_runs": WEIGHTS["sql_runs"] * runs, "sql_correct": WEIGHTS["sql_correct"] * correct,
                      **_text_tiers(scan, extract, meta, values, counts, judged, notes, caps)}
        return capped(components, [(CAPS[kind], f"cap: {why}") for kind, why in caps] if caps else [], notes)

    return Reward(
        name=name,
        task="sql_qa",
        components=COMPONENTS,
        weights=dict(WEIGHTS),
        params=params,
        meta_keys=("reference_sql", "reference_answer", "db_path", "db_path_b", "order_matters", "question",
                   "prompt_text"),
        source_modules=(__name__, "rewards.sql_exec", "rewards.sql_compare", "rewards.figures", "rewards.parsing",
                        "rewards.sql_extract", "rewards.lexicon", "rewards.text", "rewards.types", "rewards.wordclass"),
        fn=fn,
    )
