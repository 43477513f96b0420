"""`data build`: the commerce database and the two prompt sets, in one call.

    build(out_dir, seed=42, size="default")            # synthetic Olist, ~100k orders
    build(out_dir, size="small")                       # 3k orders, for tests (< 2 s)
    build(out_dir, olist_dir="~/olist")                # the real Olist CSVs

Writes out_dir/commerce.db, out_dir/commerce-b.db, out_dir/prompts/{train,eval}.jsonl and
out_dir/prompts/README.md (the home folder's layout, see data.paths). Everything is built
into temporary files first and moved into place only when all of it succeeded. Eval
prompts are drawn before train prompts from the same de-duplicating stream per task, so
the splits cannot share a text.

commerce-b.db is the second, differently seeded database the sql_qa reward checks answers
on (an answer typed in, or a wrong filter that happens to give the right rows, does not
agree there): the same generator and size with another seed, or, for the real Olist data,
a synthetic database of about its size (the data has no second copy).
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
from pathlib import Path

from data import atomic, card, facts, paths, prompt_extraction, prompt_insights, prompt_push, prompt_sql
from data.io_errors import naming
from data.olist_import import import_olist
from data.prompts import dumps, normalise, prompt_text
from data.schema import TABLES, create_schema
from data.synthetic import generate
from rewards.types import TASKS

TRAIN_SIZE = 1480
EVAL_SIZE = 65
TRAIN_MIX: dict[str, float] = {"extraction": 0.40, "sql_qa": 0.25, "insights": 0.25, "push": 0.10}
EVAL_MIX: dict[str, float] = {"extraction": 20, "sql_qa": 15, "insights": 15, "push": 15}


def split_counts(total: int, mix: dict[str, float]) -> dict[str, int]:
    """Largest-remainder rounding of `total` over the mix's weights (shares or counts)."""
    unknown = [t for t in mix if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown task(s) in mix: {', '.join(unknown)}; valid tasks: {', '.join(TASKS)}")
    if total < 0 or any(w < 0 for w in mix.values()) or not sum(mix.values()):
        raise ValueError("prompt counts and mix weights must be non-negative, with a positive total")
    weight = sum(mix.values())
    exact = {t: total * mix.get(t, 0) / weight for t in TASKS}
    counts = {t: int(v) for t, v in exact.items()}
    for t in sorted(TASKS, key=lambda t: (counts[t] - exact[t], TASKS.index(t)))[: total - sum(counts.values())]:
        counts[t] += 1
    return counts


def _take(stream, n: int, task: str, split: str) -> list[dict]:
    rows = []
    for row in stream:
        if len(rows) == n:
            break
        row["split"] = split
        rows.append(row)
    if len(rows) < n:
        raise ValueError(f"the database yields only {len(rows)} distinct {task} prompts for the {split} "
                         f"split, {n} were asked for; use a larger database or fewer prompts")
    return rows


def make_prompts(conn: sqlite3.Connection, *, seed: int, train_counts: dict[str, int],
                 eval_counts: dict[str, int], labels: dict | None = None) -> tuple[list[dict], list[dict]]:
    """Both prompt sets from an open commerce database (`labels`: the synthetic reviews'
    gold labels, see data.synthetic.generate)."""
    orders = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    f = facts.compute(conn, min_orders=max(10, orders // 1000))
    seen: set[str] = set()
    train, evals = [], []
    for task in TASKS:
        if not eval_counts[task] + train_counts[task]:
            continue
        rng = random.Random(f"tucano-audit {task} prompts {seed}")
        if task == "extraction":
            stream = prompt_extraction.stream(conn, rng, seen, labels)
        elif task == "sql_qa":
            stream = prompt_sql.stream(conn, rng, seen)
        elif task == "insights":
            stream = prompt_insights.stream(f, rng, seen)
        else:
            stream = prompt_push.stream(f, rng, seen)
        evals += _take(stream, eval_counts[task], task, "eval")
        train += _take(stream, train_counts[task], task, "train")
    # The streams de-duplicate already; this is the contract, checked on what is written.
    shared = {normalise(prompt_text(r)) for r in train} & {normalise(prompt_text(r)) for r in evals}
    if shared or len({r["prompt_id"] for r in train + evals}) != len(train) + len(evals):
        raise RuntimeError("duplicate prompt text across or within splits")
    random.Random(f"tucano-audit train order {seed}").shuffle(train)
    return train, evals


def build_with_report(out_dir: str | Path | None = None, *, seed: int = 42, size: str = "default",
                      olist_dir: str | Path | None = None, train: int | None = None, eval: int | None = None,
                      mix: dict[str, float] | None = None, eval_mix: dict[str, float] | None = None,
                      ) -> tuple[dict[str, Path], dict]:
    """build() plus a report: counts per task and split, database row counts, comment diversity."""
    out = Path(out_dir) if out_dir is not None else paths.home()
    targets = {"db": out / "commerce.db", "db_b": paths.second_db(out / "commerce.db"),
               "train": out / "prompts" / "train.jsonl", "eval": out / "prompts" / "eval.jsonl",
               "card": out / "prompts" / "README.md"}
    if olist_dir is None and size not in ("default", "small"):
        raise ValueError(f"unknown size {size!r}; valid: default, small")
    if olist_dir is not None and not Path(olist_dir).is_dir():
        # Checked before any folder is created, so a mistyped path leaves nothing behind.
        raise FileNotFoundError(f"Olist folder not found: {olist_dir}")
    train_counts = split_counts(TRAIN_SIZE if train is None else train, mix or TRAIN_MIX)
    eval_counts = split_counts(EVAL_SIZE if eval is None else eval, eval_mix or EVAL_MIX)
    # A full disk or a read-only folder ends in one line naming the file (data.io_errors);
    # the temporary files are removed and nothing already in place is replaced.
    with naming(out, "write into"), contextlib.ExitStack() as stack:
        tmp = {k: stack.enter_context(atomic.temp_path_for(p)) for k, p in targets.items()}
        diversity = None
        with naming(targets["db"]), atomic.new_database_at(tmp["db"]) as conn:
            # A large page cache: the reference answers join the biggest tables repeatedly.
            conn.execute("PRAGMA cache_size = -262144")
            create_schema(conn)
            if olist_dir is not None:
                stats = import_olist(conn, Path(olist_dir))
                source = "Olist CSV"
            else:
                stats = generate(conn, seed=seed, size=size)
                diversity = stats.get("comment_diversity")
                source = "synthetic Olist-schema"
            db_counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
            train_rows, eval_rows = make_prompts(conn, seed=seed, train_counts=train_counts,
                                                 eval_counts=eval_counts, labels=stats.get("review_labels"))
        with naming(targets["db_b"]):
            second = second_database(tmp["db_b"], seed=seed, size=size if olist_dir is None else
                                     ("default" if db_counts["orders"] >= 20_000 else "small"))
        texts = {"train": dumps(train_rows), "eval": dumps(eval_rows)}
        for k in ("train", "eval"):
            with naming(targets[k]):
                tmp[k].write_text(texts[k], encoding="utf-8", newline="\n")
        with naming(targets["card"]):
            tmp["card"].write_text(card.render(
                train=train_rows, eval_rows=eval_rows, source=source, seed=seed,
                size=size if olist_dir is None else "olist", db_counts=db_counts, diversity=diversity,
                hashes={k: card.sha256(v) for k, v in texts.items()}, second=second,
                notes=stats.get("notes") if olist_dir is not None else None), encoding="utf-8", newline="\n")
    report = {"train": train_counts, "eval": eval_counts, "db": db_counts, "comment_diversity": diversity,
              "second_db": second, "import": stats if olist_dir is not None else None}
    return targets, report


def second_database(path: Path, *, seed: int, size: str) -> dict:
    """Generate the second, differently seeded commerce database into `path` (a fresh
    temporary file of the build); returns what the card says about it."""
    with atomic.new_database_at(path) as conn:
        conn.execute("PRAGMA cache_size = -262144")
        create_schema(conn)
        generate(conn, seed=f"{seed}:second", size=size)
        orders = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    return {"seed": f"{seed}:second", "size": size, "orders": orders}


def build(out_dir: str | Path | None = None, *, seed: int = 42, size: str = "default",
          olist_dir: str | Path | None = None, train: int | None = None, eval: int | None = None,
          mix: dict[str, float] | None = None, eval_mix: dict[str, float] | None = None) -> dict[str, Path]:
    """Write the commerce database and both prompt sets; return their paths
    (`db`, `train`, `eval`, `card`). Nothing is replaced unless everything succeeded."""
    targets, _ = build_with_report(out_dir, seed=seed, size=size, olist_dir=olist_dir, train=train,
                                   eval=eval, mix=mix, eval_mix=eval_mix)
    return targets
