"""The Olist CSV importer: a round trip through the published file layout, and every
kind of bad file the issue names (truncated, missing/extra columns, duplicated keys,
non-UTF-8 bytes, an empty comment column) rejected with file/row/column, never leaving
a half-written database behind."""

from __future__ import annotations

import csv
import shutil
import sqlite3

import pytest

from data.build import build
from data.olist_import import FILES, OlistImportError
from data.prompts import load_prompts
from data.schema import TABLES, column_names


def _export(db_path, folder):
    """Write a commerce database as the nine Olist CSV files (quoted like Kaggle's)."""
    folder.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path)
    for table in TABLES:
        cols = column_names(table)
        with open(folder / FILES[table], "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for row in conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY rowid"):
                w.writerow(["" if v is None else v for v in row])
    conn.close()
    return folder


@pytest.fixture(scope="module")
def olist_csv(small_data, tmp_path_factory):
    return _export(small_data["db"], tmp_path_factory.mktemp("olist_src"))


@pytest.fixture
def csv_dir(olist_csv, tmp_path):
    """A private, editable copy of the CSV folder."""
    return shutil.copytree(olist_csv, tmp_path / "olist")


def _rewrite(path, edit):
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(edit(lines)), encoding="utf-8")


def _files(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _edit_csv(path, edit):
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    edit(rows)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return rows


def _expect_error(csv_dir, tmp_path, match):
    out = tmp_path / "out"
    with pytest.raises(OlistImportError, match=match) as info:
        build(out, olist_dir=csv_dir, train=40, eval=8)
    # Nothing was moved into place, and no temporary file was left behind.
    assert _files(out) == []
    return info.value


def test_round_trip_keeps_every_row(csv_dir, small_data, tmp_path):
    built = build(tmp_path / "out", olist_dir=csv_dir, train=80, eval=12)
    src, dst = sqlite3.connect(small_data["db"]), sqlite3.connect(built["db"])
    for table in TABLES:
        cols = ", ".join(column_names(table))
        assert (src.execute(f"SELECT {cols} FROM {table} ORDER BY 1, 2").fetchall()
                == dst.execute(f"SELECT {cols} FROM {table} ORDER BY 1, 2").fetchall()), table
    card = built["card"].read_text(encoding="utf-8")
    assert "Olist CSV" in card
    # Imported reviews have no gold labels: the rows say so (null), and so does the card.
    rows = load_prompts(built["train"]) + load_prompts(built["eval"])
    ext = [r for r in rows if r["task"] == "extraction"]
    assert ext and all(r["gold"] is None and r["review"] for r in ext)
    assert f"0 of {len(ext)} reviews carry the gold labels" in card and "without its correctness" in card
    assert built["db_b"].is_file() and "Second database `commerce-b.db`: synthetic" in card


def test_optional_geolocation_may_be_absent(csv_dir, tmp_path):
    from data.build import build_with_report

    (csv_dir / FILES["geolocation"]).unlink()
    _, report = build_with_report(tmp_path / "out", olist_dir=csv_dir, train=20, eval=8)
    assert report["db"]["geolocation"] == 0
    assert any("geolocation" in n for n in report["import"]["notes"])


def test_missing_required_file(csv_dir, tmp_path):
    (csv_dir / FILES["sellers"]).unlink()
    with pytest.raises(FileNotFoundError, match="olist_sellers_dataset.csv"):
        build(tmp_path / "out", olist_dir=csv_dir, train=20, eval=8)


def test_truncated_file(csv_dir, tmp_path):
    path = csv_dir / FILES["order_items"]
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2 - 7], encoding="utf-8")  # cut in the middle of a row
    err = _expect_error(csv_dir, tmp_path, "olist_order_items_dataset.csv: line [0-9]+: .*truncated")
    assert err.file == FILES["order_items"] and err.line == text[: len(text) // 2 - 7].count("\n") + 1


def test_unterminated_quote_is_reported(csv_dir, tmp_path):
    path = csv_dir / FILES["order_reviews"]
    path.write_text(path.read_text(encoding="utf-8") + 'abc,def,5,,"cut short\n', encoding="utf-8")
    _expect_error(csv_dir, tmp_path, "olist_order_reviews_dataset.csv: row [0-9]+ \\(line [0-9]+\\): malformed CSV")


def test_missing_column(csv_dir, tmp_path):
    def drop_last(lines):
        return [line.rstrip("\r\n").rsplit(",", 1)[0] + "\n" for line in lines]

    _rewrite(csv_dir / FILES["sellers"], drop_last)
    err = _expect_error(csv_dir, tmp_path, "missing column\\(s\\) seller_state")
    assert err.file == "olist_sellers_dataset.csv"


def test_extra_column(csv_dir, tmp_path):
    def add(lines):
        return [lines[0].rstrip("\r\n") + ",coupon\n"] + [line.rstrip("\r\n") + ",x\n" for line in lines[1:]]

    _rewrite(csv_dir / FILES["order_payments"], add)
    _expect_error(csv_dir, tmp_path, "olist_order_payments_dataset.csv: .*unexpected column\\(s\\) coupon")


def test_duplicated_key(csv_dir, tmp_path):
    def conflict(rows):
        rows.append(list(rows[5]))
        rows[-1][2] = "canceled" if rows[5][2] != "canceled" else "delivered"

    _edit_csv(csv_dir / FILES["orders"], conflict)
    err = _expect_error(csv_dir, tmp_path, "duplicate key \\(order_id=.*\\) with different values, first seen at row 5")
    assert err.row == 3001


def test_identical_duplicate_row_is_skipped_and_counted(csv_dir, tmp_path, small_data):
    from data.build import build_with_report

    before = sqlite3.connect(small_data["db"]).execute("SELECT COUNT(*) FROM order_reviews").fetchone()[0]
    _rewrite(csv_dir / FILES["order_reviews"], lambda lines: lines + [lines[7]])
    paths, report = build_with_report(tmp_path / "out", olist_dir=csv_dir, train=20, eval=8)
    assert "olist_order_reviews_dataset.csv: 1 exact duplicate row(s) skipped" in report["import"]["notes"]
    assert "- olist_order_reviews_dataset.csv: 1 exact duplicate row(s) skipped" in paths["card"].read_text("utf-8")
    assert report["db"]["order_reviews"] == before


def test_bad_value_names_row_and_column(csv_dir, tmp_path):
    _edit_csv(csv_dir / FILES["order_reviews"], lambda rows: rows[2].__setitem__(2, "7"))
    err = _expect_error(csv_dir, tmp_path, "olist_order_reviews_dataset.csv: row 2 \\(line 3\\), column review_score")
    assert err.column == "review_score" and err.row == 2


def test_bad_timestamp(csv_dir, tmp_path):
    def corrupt(lines):
        fields = lines[10].split(",")
        fields[3] = "26/11/2017 10:00"
        lines[10] = ",".join(fields)
        return lines

    _rewrite(csv_dir / FILES["orders"], corrupt)
    err = _expect_error(csv_dir, tmp_path, "column order_purchase_timestamp: expected a timestamp")
    assert (err.row, err.line) == (10, 11)


def test_dangling_foreign_key(csv_dir, tmp_path):
    def corrupt(lines):
        fields = lines[1].split(",")
        fields[2] = "f" * 32  # product_id
        lines[1] = ",".join(fields)
        return lines

    _rewrite(csv_dir / FILES["order_items"], corrupt)
    _expect_error(csv_dir, tmp_path, "row 1 \\(line 2\\), column product_id: product_id 'f+' not found in olist_products")


def test_non_utf8_bytes(csv_dir, tmp_path):
    path = csv_dir / FILES["customers"]
    data = path.read_bytes().split(b"\n")
    data[4] = data[4].replace(b"sao", "s\u00e3o".encode("latin-1"), 1) if b"sao" in data[4] else data[4] + b"\xe3"
    path.write_bytes(b"\n".join(data))
    err = _expect_error(csv_dir, tmp_path, "olist_customers_dataset.csv: line 5: not valid UTF-8")
    assert err.line == 5


def test_bom_and_float_integers_are_accepted(csv_dir, tmp_path):
    # Kaggle's translation file starts with a BOM; pandas writes gappy integer columns as 40.0.
    tr = csv_dir / FILES["product_category_name_translation"]
    tr.write_bytes(b"\xef\xbb\xbf" + tr.read_bytes())

    def floats(lines):
        out = [lines[0]]
        for line in lines[1:]:
            f = line.rstrip("\n").split(",")
            out.append(",".join(f[:2] + [x + ".0" if x else x for x in f[2:]]) + "\n")
        return out

    _rewrite(csv_dir / FILES["products"], floats)
    built = build(tmp_path / "out", olist_dir=csv_dir, train=20, eval=8)
    conn = sqlite3.connect(built["db"])
    assert conn.execute("SELECT typeof(product_weight_g) FROM products LIMIT 1").fetchone() == ("integer",)


def test_empty_comment_column_is_a_clear_error(csv_dir, tmp_path):
    def blank(rows):
        i = rows[0].index("review_comment_message")
        for r in rows[1:]:
            r[i] = ""

    reviews = len(_edit_csv(csv_dir / FILES["order_reviews"], blank)) - 1
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="no comment text"):
        build(out, olist_dir=csv_dir, train=20, eval=8)
    assert _files(out) == []
    # Without extraction prompts the same files import fine, and the report counts the gap.
    from data.build import build_with_report

    mix = {"sql_qa": 1, "insights": 1, "push": 1}
    _, report = build_with_report(out, olist_dir=csv_dir, train=12, eval=6, mix=mix, eval_mix=mix)
    assert f"{reviews} of {reviews} reviews have no comment text" in " ".join(report["import"]["notes"])


def test_failed_import_keeps_previous_build(csv_dir, tmp_path):
    out = tmp_path / "out"
    first = build(out, olist_dir=csv_dir, train=20, eval=8)
    before = {k: first[k].read_bytes() for k in ("db", "db_b", "train", "eval", "card")}
    _rewrite(csv_dir / FILES["orders"], lambda lines: lines[:-1] + [lines[-1][:40]])
    with pytest.raises(OlistImportError):
        build(out, olist_dir=csv_dir, train=20, eval=8)
    assert {k: first[k].read_bytes() for k in before} == before
    assert _files(out) == ["README.md", "commerce-b.db", "commerce.db", "eval.jsonl", "train.jsonl"]
