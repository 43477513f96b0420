"""Does a query's result answer the question? Comparing it with the reference rows.

The rule (documented in README, "The reward specification"):
- Same number of rows.
- Every reference column must be matched by a distinct result column (in any position);
  extra result columns are reported (`Comparison.extra`): the sql_qa reward pays one in
  full and caps more (a query that sprays eight columns hoping one matches).
- Cells: numbers match within `rel_tol` (1e-4) or `abs_tol` (0.005, half a cent); with
  `lenient=True` also within the answer's own rounding (12.3 stands for 12.34, 12.0 from
  ROUND(x) for 11.5-12.5) and at a percent/fraction scale chosen once per column (0.1234
  for 12.34). A text that reads as a number counts as that number; other text matches
  case-insensitively after trimming; NULL matches only NULL.
- Row order matters only when `ordered` (the question asks for an order), and then only
  the order of the sort key: rows tied on the reference's first ORDER BY column may come
  in any order (`key` names that column; without it, the whole row order counts).
  Otherwise rows are compared as multisets.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from itertools import product
from typing import Any

from rewards.prompt_cache import prompt_cache

REL_TOL = 1e-4
ABS_TOL = 0.005
_MAX_ASSIGNMENTS = 256
_MAX_GREEDY_ROWS = 300
_SCALES = (1.0, 100.0, 0.01)
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)
_DIRECTION = re.compile(r"\s+(?:asc|desc)\b.*$|\s+collate\s+\w+.*$|\s+nulls\s+(?:first|last)\b.*$", re.I | re.S)


@prompt_cache()
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


def _outer(sql: str) -> str:
    depth = 0
    flat = []
    for ch in sql:  # drop everything inside parentheses (subqueries, windows)
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            flat.append(ch)
    return "".join(flat)


def is_ordered(reference_sql: str | None) -> bool:
    """True when the reference query's outermost SELECT has an ORDER BY."""
    return bool(reference_sql) and bool(_ORDER_BY.search(_outer(reference_sql)))


def sort_key(reference_sql: str | None, columns: tuple[str, ...]) -> int | None:
    """The index of the result column the reference's outermost ORDER BY sorts on first
    (by alias, column name or position), or None when it cannot be told."""
    if not reference_sql or not columns:
        return None
    flat = _outer(reference_sql)
    found = list(_ORDER_BY.finditer(flat))
    if not found:
        return None
    m = found[-1]
    first = flat[m.end():].split(",")[0]
    first = re.split(r"\blimit\b|;", first, flags=re.I)[0]
    term = _DIRECTION.sub("", first.strip()).strip().strip('"`[]')
    if term.isdigit():
        k = int(term) - 1
        return k if 0 <= k < len(columns) else None
    name = term.rsplit(".", 1)[-1].lower()
    names = [c.lower() for c in columns]
    return names.index(name) if name in names else None


@dataclass(frozen=True)
class Comparison:
    ok: bool
    reason: str
    extra: int = 0  # result columns beyond the reference's


def _key(v: Any) -> tuple:
    """A sortable, comparable form of a cell: (kind, value, decimals shown)."""
    if v is None:
        return (0, 0.0, -1)
    if isinstance(v, bool):
        return (1, float(v), -1)
    if isinstance(v, int):
        return (1, float(v), -1)
    if isinstance(v, float):
        if not math.isfinite(v):
            return (2, str(v), -1)
        text = repr(v)
        decimals = len(text.split(".")[1].rstrip("0")) if "." in text and "e" not in text else -1
        return (1, v, decimals)
    if isinstance(v, bytes | bytearray):
        return (3, bytes(v).hex(), -1)
    s = str(v).strip()
    try:
        f = float(s.replace(",", ".")) if s and s[0] in "+-.0123456789" else None
    except ValueError:
        f = None
    if f is not None and math.isfinite(f):
        return (1, f, -1)
    return (2, s.casefold(), -1)


def _same(g: tuple, r: tuple, rel_tol: float, abs_tol: float, scale: float, lenient: bool) -> bool:
    if g[0] != r[0]:
        return False
    if g[0] != 1:
        return g[1] == r[1]
    target = r[1] * scale
    tol = max(abs_tol * scale, rel_tol * abs(target))
    if lenient and 0 <= g[2] <= 4:
        tol = max(tol, 0.5 * 10.0 ** (-g[2]))  # the answer's own rounding
    return abs(g[1] - target) <= tol + 1e-12


def _column_matches(gc: list, rc: list, ordered: bool, rel_tol, abs_tol, lenient) -> float | None:
    """The scale at which result column `gc` equals reference column `rc` (as sequences
    when `ordered`, else as multisets), or None."""
    scales = _SCALES if lenient and rc and all(r[0] == 1 for r in rc) else (1.0,)
    for scale in scales:
        if ordered:
            ok = all(_same(g, r, rel_tol, abs_tol, scale, lenient) for g, r in zip(gc, rc, strict=True))
        else:
            ok = _multiset(gc, rc, lambda g, r, s=scale: _same(g, r, rel_tol, abs_tol, s, lenient))
        if ok:
            return scale
    return None


def _multiset(got: list, ref: list, same) -> bool:
    if len(got) != len(ref):
        return False
    if all(same(g, r) for g, r in zip(sorted(got), sorted(ref), strict=True)):
        return True
    # Sorting can split values that are equal within tolerance; match greedily instead.
    if len(ref) > _MAX_GREEDY_ROWS:
        return False
    left = list(got)
    for r in ref:
        for i, g in enumerate(left):
            if same(g, r):
                del left[i]
                break
        else:
            return False
    return True


def compare(got_rows, ref_rows, *, ordered: bool, key: int | None = None, rel_tol: float = REL_TOL,
            abs_tol: float = ABS_TOL, lenient: bool = False) -> Comparison:
    """Compare a result with the reference (see the module docstring for the rule)."""
    c = _compare(got_rows, ref_rows, ordered, key, rel_tol, abs_tol, lenient)
    if not c.ok and ordered and key is None and _compare(got_rows, ref_rows, False, None, rel_tol, abs_tol,
                                                         lenient).ok:
        return Comparison(False, "right rows in the wrong order")
    return c


def _compare(got_rows, ref_rows, ordered: bool, key: int | None, rel_tol: float, abs_tol: float,
             lenient: bool) -> Comparison:
    if len(got_rows) != len(ref_rows):
        return Comparison(False, f"{len(got_rows)} row(s), expected {len(ref_rows)}")
    if not ref_rows:
        return Comparison(True, "both empty")
    got = [tuple(_key(v) for v in row) for row in got_rows]
    ref = [tuple(_key(v) for v in row) for row in ref_rows]
    width_ref, width_got = len(ref[0]), len(got[0])
    if any(len(r) != width_ref for r in ref) or any(len(g) != width_got for g in got):
        return Comparison(False, "ragged rows")
    if width_got < width_ref:
        return Comparison(False, f"{width_got} column(s), expected at least {width_ref}")
    whole_order = ordered and key is None
    candidates = []
    for j in range(width_ref):
        rc = [r[j] for r in ref]
        cands = []
        for k in range(width_got):
            scale = _column_matches([g[k] for g in got], rc, whole_order, rel_tol, abs_tol, lenient)
            if scale is not None:
                cands.append((k, scale))
        if not cands:
            return Comparison(False, f"no result column matches reference column {j + 1}")
        candidates.append(cands)
    tried = 0
    multiset_only = False
    for mapping in product(*candidates):
        cols = [k for k, _ in mapping]
        if len(set(cols)) != len(cols):
            continue
        tried += 1
        if tried > _MAX_ASSIGNMENTS:
            break
        projected = [tuple(row[k] for k in cols) for row in got]

        def same_row(g, r, mapping=mapping):
            return all(_same(x, y, rel_tol, abs_tol, s, lenient) for x, y, (_, s) in zip(g, r, mapping, strict=True))

        if whole_order:
            ok = all(same_row(g, r) for g, r in zip(projected, ref, strict=True))
        else:
            ok = _multiset(projected, ref, same_row)
        if ok and ordered and key is not None:
            # Only the sort key's sequence is binding: ties may come in any order.
            s = mapping[key][1]
            ok = all(_same(g[key], r[key], rel_tol, abs_tol, s, lenient) for g, r in zip(projected, ref, strict=True))
            multiset_only = multiset_only or not ok
        if ok:
            extra = width_got - width_ref
            return Comparison(True, "match" + (f" ({extra} extra column(s))" if extra else ""), extra)
    if multiset_only:
        return Comparison(False, "right rows in the wrong order")
    return Comparison(False, "columns match one by one but not as rows")


def compare_results(got_rows, ref_rows, *, ordered: bool, rel_tol: float = REL_TOL,
                    abs_tol: float = ABS_TOL) -> tuple[bool, str]:
    """The recipe's rule: (match, reason), whole row order binding when `ordered`, extra
    columns free, no rounding or scale leniency (kept for `sql_qa_recipe`)."""
    c = compare(got_rows, ref_rows, ordered=ordered, rel_tol=rel_tol, abs_tol=abs_tol)
    if c.ok and c.extra:
        return True, f"match ({c.extra} extra column(s) ignored)"
    return c.ok, c.reason
