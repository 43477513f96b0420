"""Import the real Olist CSV files (Kaggle `olistbr/brazilian-ecommerce`) into the schema.

The nine files are found by their published names. Each is read as strict UTF-8 CSV; the
header must hold exactly the schema's columns (any order); every value is checked against
its column's type (integers, decimals, 'YYYY-MM-DD HH:MM:SS' timestamps, two-letter
states, scores 1-5, known order statuses); primary keys must be unique (a row repeated
identically is skipped and counted; the same key with different values is an error) and
foreign keys must point at rows of the parent file. The first problem stops the import with an
`OlistImportError` naming the file, the data row, the physical line and the column.

What the real data legitimately lacks is kept and counted in the report's notes, not
rejected: reviews without a comment (most of them), products without a category or whose
category has no English translation, orders not yet approved or delivered. The caller
(data.build) writes into a temporary database, so a rejected import leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import math
import re
import sqlite3
from datetime import date
from pathlib import Path

from data.io_errors import naming
from data.loader import insert_rows
from data.schema import OPTIONAL_TABLES, TABLES, columns

FILES: dict[str, str] = {
    "orders": "olist_orders_dataset.csv",
    "order_items": "olist_order_items_dataset.csv",
    "order_payments": "olist_order_payments_dataset.csv",
    "order_reviews": "olist_order_reviews_dataset.csv",
    "products": "olist_products_dataset.csv",
    "product_category_name_translation": "product_category_name_translation.csv",
    "customers": "olist_customers_dataset.csv",
    "sellers": "olist_sellers_dataset.csv",
    "geolocation": "olist_geolocation_dataset.csv",
}
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "product_category_name_translation": ("product_category_name",),
    "products": ("product_id",),
    "customers": ("customer_id",),
    "sellers": ("seller_id",),
    "orders": ("order_id",),
    "order_items": ("order_id", "order_item_id"),
    "order_payments": ("order_id", "payment_sequential"),
    "order_reviews": ("review_id", "order_id"),
}
FOREIGN_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "orders": (("customer_id", "customers"),),
    "order_items": (("order_id", "orders"), ("product_id", "products"), ("seller_id", "sellers")),
    "order_payments": (("order_id", "orders"),),
    "order_reviews": (("order_id", "orders"),),
}
ORDER_STATUSES = frozenset({"created", "approved", "invoiced", "processing", "shipped", "delivered",
                            "unavailable", "canceled"})
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_STATE = re.compile(r"[A-Z]{2}")


class OlistImportError(ValueError):
    """A problem in one of the CSV files; `file`, `row`, `line` and `column` locate it."""

    def __init__(self, file: str, problem: str, *, row: int | None = None, line: int | None = None,
                 column: str | None = None):
        self.file, self.row, self.line, self.column, self.problem = file, row, line, column, problem
        where = file
        if row is not None:
            where += f": row {row}" + (f" (line {line})" if line is not None else "")
        elif line is not None:
            where += f": line {line}"
        if column:
            where += f", column {column}"
        super().__init__(f"{where}: {problem}")


def _impossible(stamp: str) -> str | None:
    """What makes a 'YYYY-MM-DD HH:MM:SS' text an impossible moment (month 13, 30 February...), or None."""
    y, mo, d, h, mi, se = (int(p) for p in re.split(r"[- :]", stamp))
    for value, unit, top in ((y, "year", 9999), (mo, "month", 12), (h, "hour", 23), (mi, "minute", 59),
                             (se, "second", 59)):
        if value > top or (unit in ("year", "month") and value < 1):
            return f"there is no {unit} {value}"
    try:
        date(y, mo, d)
    except ValueError:
        return f"day {d} does not exist in {y}-{mo:02d}"
    return None


def _converter(table: str, name: str, ctype: str):
    """value text -> stored value, raising ValueError with the reason."""
    if name.endswith(("_date", "_timestamp", "_at")):
        def conv(v):
            if not _TIMESTAMP.fullmatch(v):
                raise ValueError(f"expected a timestamp 'YYYY-MM-DD HH:MM:SS', got {v!r}")
            wrong = _impossible(v)
            if wrong:
                raise ValueError(f"{v!r} is not a real date and time: {wrong}")
            return v
    elif name.endswith("_zip_code_prefix"):
        def conv(v):
            if not (v.isdigit() and len(v) <= 5):
                raise ValueError(f"expected a zip code prefix of up to 5 digits, got {v!r}")
            return v.zfill(5)
    elif name.endswith("_state"):
        def conv(v):
            if not _STATE.fullmatch(v):
                raise ValueError(f"expected a two-letter state code such as SP, got {v!r}")
            return v
    elif name == "order_status":
        def conv(v):
            if v not in ORDER_STATUSES:
                raise ValueError(f"unknown order status {v!r}; valid: {', '.join(sorted(ORDER_STATUSES))}")
            return v
    elif ctype == "INTEGER":
        def conv(v):
            try:
                return int(v)
            except ValueError:
                # pandas writes integer columns that had gaps as floats: "40.0".
                try:
                    f = float(v)
                except ValueError:
                    f = math.nan
                if f.is_integer():
                    return int(f)
                raise ValueError(f"expected an integer, got {v!r}") from None
    elif ctype == "REAL":
        def conv(v):
            try:
                f = float(v)
            except ValueError:
                raise ValueError(f"expected a number, got {v!r}") from None
            if not math.isfinite(f):
                raise ValueError(f"expected a finite number, got {v!r}")
            return f
    else:
        def conv(v):
            return v
    if name == "review_score":
        base = conv

        def conv(v):  # noqa: F811 - wraps the integer check
            n = base(v)
            if not 1 <= n <= 5:
                raise ValueError(f"review_score must be 1-5, got {v!r}")
            return n
    return conv


def read_table(path: Path, table: str, parents: dict[str, set]) -> tuple[list[tuple], int]:
    """Parse and check one CSV file; return its rows as tuples in schema column order and
    the number of exact duplicate rows skipped."""
    name = path.name
    with naming(path, "read"):
        raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise OlistImportError(name, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
                               line=line) from None
    if text and not text.endswith(("\n", "\r")):
        # Every exporter ends the last row with a line break; a file cut off in transfer does not.
        raise OlistImportError(name, "the file does not end with a line break: it looks truncated",
                               line=text.count("\n") + 1)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise OlistImportError(name, "the file is empty; expected a header row") from None
    except csv.Error as exc:
        raise OlistImportError(name, f"malformed header: {exc}") from None
    header = [h.strip() for h in header]
    cols = columns()[table]
    expected = [c.name for c in cols]
    missing = [c for c in expected if c not in header]
    extra = [h for h in header if h not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(extra)}")
        raise OlistImportError(name, "; ".join(parts) + f"; expected: {', '.join(expected)}", line=1)
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise OlistImportError(name, f"column(s) {', '.join(sorted(dupes))} appear twice in the header", line=1)
    pos = [header.index(c) for c in expected]
    convs = [_converter(table, c.name, c.type) for c in cols]
    notnull = [c.notnull for c in cols]
    pk_idx = [expected.index(k) for k in PRIMARY_KEYS.get(table, ())]
    fk = [(expected.index(col), parent, col) for col, parent in FOREIGN_KEYS.get(table, ())]
    seen: dict[tuple, tuple[int, tuple]] = {}
    rows: list[tuple] = []
    skipped = 0
    width = len(header)
    n = 0
    try:
        for n, record in enumerate(reader, 1):
            if len(record) != width:
                if not record:
                    continue
                raise OlistImportError(name, f"expected {width} fields, found {len(record)} "
                                             "(truncated, or an unquoted comma in a text)", row=n, line=reader.line_num)
            values = []
            for i, p in enumerate(pos):
                v = record[p]
                if v == "" or (not v.strip() and cols[i].type != "TEXT"):
                    if notnull[i]:
                        raise OlistImportError(name, "empty value in a required column", row=n,
                                               line=reader.line_num, column=expected[i])
                    values.append(None)
                    continue
                try:
                    values.append(convs[i](v))
                except ValueError as exc:
                    raise OlistImportError(name, str(exc), row=n, line=reader.line_num, column=expected[i]) from None
            row = tuple(values)
            if pk_idx:
                key = tuple(row[i] for i in pk_idx)
                first = seen.setdefault(key, (n, row))
                if first[0] != n:
                    if first[1] == row:  # the same row twice: an export glitch, nothing to choose between
                        skipped += 1
                        continue
                    shown = ", ".join(f"{expected[i]}={row[i]!r}" for i in pk_idx)
                    raise OlistImportError(name, f"duplicate key ({shown}) with different values, first seen at "
                                                 f"row {first[0]}", row=n, line=reader.line_num)
            for i, parent, col in fk:
                if row[i] not in parents[parent]:
                    raise OlistImportError(name, f"{col} {row[i]!r} not found in {FILES[parent]}",
                                           row=n, line=reader.line_num, column=col)
            rows.append(row)
    except csv.Error as exc:
        raise OlistImportError(name, f"malformed CSV ({exc}); the file may be truncated",
                               row=n + 1, line=reader.line_num) from None
    if table in PRIMARY_KEYS and len(PRIMARY_KEYS[table]) == 1:
        parents[table] = {k[0] for k in seen}
    return rows, skipped


def import_olist(conn: sqlite3.Connection, folder: Path) -> dict:
    """Load the Olist CSVs from `folder` into an empty schema on `conn`; return row
    counts and notes on what the data lacks."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"Olist folder not found: {folder}")
    missing = [FILES[t] for t in TABLES if t not in OPTIONAL_TABLES and not (folder / FILES[t]).is_file()]
    if missing:
        raise FileNotFoundError(f"missing Olist file(s) in {folder}: {', '.join(missing)}")
    parents: dict[str, set] = {}
    counts: dict[str, int] = {}
    notes: list[str] = []
    for table in TABLES:
        path = folder / FILES[table]
        if not path.is_file():
            notes.append(f"{FILES[table]} not found: the optional {table} table is left empty")
            counts[table] = 0
            continue
        rows, skipped = read_table(path, table, parents)
        if skipped:
            notes.append(f"{FILES[table]}: {skipped} exact duplicate row(s) skipped")
        insert_rows(conn, table, rows)
        counts[table] = len(rows)
    notes += _data_notes(conn)
    return {"rows": counts, "notes": notes}


def _data_notes(conn: sqlite3.Connection) -> list[str]:
    """Counts of what the data lacks, kept as is: these are facts of the real dataset."""
    q = lambda sql: conn.execute(sql).fetchone()  # noqa: E731
    notes = []
    total, empty = q("SELECT COUNT(*), SUM(review_comment_message IS NULL OR trim(review_comment_message) = '') "
                     "FROM order_reviews")
    if total:
        notes.append(f"{empty} of {total} reviews have no comment text (kept; extraction uses the others)")
    no_cat = q("SELECT COUNT(*) FROM products WHERE product_category_name IS NULL")[0]
    if no_cat:
        notes.append(f"{no_cat} products have no category (kept)")
    untranslated = conn.execute(
        "SELECT DISTINCT p.product_category_name FROM products p LEFT JOIN product_category_name_translation t "
        "ON t.product_category_name = p.product_category_name "
        "WHERE p.product_category_name IS NOT NULL AND t.product_category_name IS NULL ORDER BY 1").fetchall()
    if untranslated:
        notes.append(f"{len(untranslated)} categories have no English translation (kept): "
                     + ", ".join(r[0] for r in untranslated))
    return notes
