"""Does a query's result answer the question? Comparing it with the reference rows.

The rule (documented in README, "The reward specification"):
- Same number of rows.
- Every reference column must be matched by a distinct result column (in any position);
  extra result columns are allowed, so `SELECT category, COUNT(*)` answers a question
  whose reference selects only the count.
- Cells: numbers match within `rel_tol` (1e-4) or `abs_tol` (0.005, half a cent, so a
  value rounded to 2 decimals matches the unrounded one); a text that reads as a number
  counts as that number; other text matches case-insensitively after trimming; NULL
  matches only NULL.
- Row order matters only when the reference SQL has an ORDER BY (outside parentheses);
  otherwise rows are compared as multisets.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from itertools import product
from typing import Any

REL_TOL = 1e-4
ABS_TOL = 0.005
_MAX_ASSIGNMENTS = 256
_MAX_GREEDY_ROWS = 300
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


@lru_cache(maxsize=4096)
def parse_reference_answer(text: str) -> tuple[tuple, ...]:
    """`reference_answer` meta (JSON text: a list of rows, each a list) as a tuple of
    tuples. ValueError naming the problem when it is not that shape."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"reference_answer is not valid JSON: {exc}") from None
    return rows_from_json(data)


def rows_from_json(data: Any) -> tuple[tuple, ...]:
    if not isinstance(data, list):
        raise ValueError("reference_answer must be a JSON list of rows")
    rows = []
    for i, row in enumerate(data):
        if not isinstance(row, list):
            raise ValueError(f"reference_answer row {i} is not a list: {row!r:.40}")
        rows.append(tuple(row))
    return tuple(rows)


def is_ordered(reference_sql: str | None) -> bool:
    """True when the reference query's outermost SELECT has an ORDER BY."""
    if not reference_sql:
        return False
    depth = 0
    flat = []
    for ch in reference_sql:  # drop everything inside parentheses (subqueries, windows)
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            flat.append(ch)
    return bool(_ORDER_BY.search("".join(flat)))


def _key(v: Any) -> tuple:
    """A sortable, comparable form of a cell."""
    if v is None:
        return (0, 0.0)
    if isinstance(v, bool):
        return (1, float(v))
    if isinstance(v, int | float):
        f = float(v)
        return (1, f) if math.isfinite(f) else (2, str(f))
    if isinstance(v, bytes | bytearray):
        return (3, bytes(v).hex())
    s = str(v).strip()
    try:
        f = float(s.replace(",", ".")) if s and s[0] in "+-.0123456789" else None
    except ValueError:
        f = None
    if f is not None and math.isfinite(f):
        return (1, f)
    return (2, s.casefold())


def _same(a: tuple, b: tuple, rel_tol: float, abs_tol: float) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == 1:
        return math.isclose(a[1], b[1], rel_tol=rel_tol, abs_tol=abs_tol)
    return a[1] == b[1]


def _rows_equal(got: list[tuple], ref: list[tuple], rel_tol: float, abs_tol: float) -> bool:
    return all(
        all(_same(x, y, rel_tol, abs_tol) for x, y in zip(g, r, strict=True))
        for g, r in zip(got, ref, strict=True)
    )


def _multiset_equal(got: list[tuple], ref: list[tuple], rel_tol: float, abs_tol: float) -> bool:
    if _rows_equal(sorted(got), sorted(ref), rel_tol, abs_tol):
        return True
    # Sorting can split values that are equal within tolerance; match greedily instead.
    if len(ref) > _MAX_GREEDY_ROWS:
        return False
    left = list(got)
    for r in ref:
        for i, g in enumerate(left):
            if all(_same(x, y, rel_tol, abs_tol) for x, y in zip(g, r, strict=True)):
                del left[i]
                break
        else:
            return False
    return True


def compare_results(
    got_rows: list[tuple] | tuple,
    ref_rows: list[tuple] | tuple,
    *,
    ordered: bool,
    rel_tol: float = REL_TOL,
    abs_tol: float = ABS_TOL,
) -> tuple[bool, str]:
    """(match, reason). `reason` says why not, or which columns were matched."""
    ok, reason = _compare(got_rows, ref_rows, ordered, rel_tol, abs_tol)
    if not ok and ordered and _compare(got_rows, ref_rows, False, rel_tol, abs_tol)[0]:
        return False, "right rows in the wrong order"
    return ok, reason


def _compare(got_rows, ref_rows, ordered: bool, rel_tol: float, abs_tol: float) -> tuple[bool, str]:
    if len(got_rows) != len(ref_rows):
        return False, f"{len(got_rows)} row(s), expected {len(ref_rows)}"
    if not ref_rows:
        return True, "both empty"
    got = [tuple(_key(v) for v in row) for row in got_rows]
    ref = [tuple(_key(v) for v in row) for row in ref_rows]
    width_ref = len(ref[0])
    width_got = len(got[0])
    if any(len(r) != width_ref for r in ref) or any(len(g) != width_got for g in got):
        return False, "ragged rows"
    if width_got < width_ref:
        return False, f"{width_got} column(s), expected at least {width_ref}"

    # Candidate result columns for each reference column: same values, as a sequence
    # (ordered) or as a multiset. Cheap filter before trying whole-row matches.
    def column(rows: list[tuple], j: int) -> list[tuple]:
        return [r[j] for r in rows]

    candidates = []
    for j in range(width_ref):
        rc = [(v,) for v in column(ref, j)]
        cands = []
        for k in range(width_got):
            gc = [(v,) for v in column(got, k)]
            ok = _rows_equal(gc, rc, rel_tol, abs_tol) if ordered else _multiset_equal(gc, rc, rel_tol, abs_tol)
            if ok:
                cands.append(k)
        if not cands:
            return False, f"no result column matches reference column {j + 1}"
        candidates.append(cands)

    tried = 0
    for mapping in product(*candidates):
        if len(set(mapping)) != len(mapping):
            continue
        tried += 1
        if tried > _MAX_ASSIGNMENTS:
            break
        projected = [tuple(row[k] for k in mapping) for row in got]
        ok = _rows_equal(projected, ref, rel_tol, abs_tol) if ordered else _multiset_equal(projected, ref, rel_tol, abs_tol)
        if ok:
            extra = "" if width_got == width_ref else f" ({width_got - width_ref} extra column(s) ignored)"
            return True, "match" + extra
    return False, "columns match one by one but not as rows"
