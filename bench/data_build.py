"""Benchmark: build the default-size synthetic database and both prompt sets.

    .venv/bin/python bench/data_build.py [--size default|small] [--seed 42]

Prints wall-clock and CPU seconds (the build is single-threaded, so CPU seconds are what
one core needs even on a busy machine) for the whole `data.build.build` call, then for its
phases measured separately: database generation, the facts pass, and each task's prompts.
Goal: the whole default build under 60 s on one core. Also prints the review-comment
diversity (share of comments whose text repeats verbatim).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data import facts, prompt_extraction, prompt_insights, prompt_push, prompt_sql  # noqa: E402
from data.build import TRAIN_MIX, build_with_report, split_counts  # noqa: E402


class Clock:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="default", choices=("default", "small"))
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with Clock() as total:
            paths, report = build_with_report(Path(tmp) / "out", seed=args.seed, size=args.size)
        print(f"data build --size {args.size}: {total.wall:.1f} s wall, {total.cpu:.1f} s CPU "
              f"({report['db']['orders']} orders, {sum(report['train'].values())} train + "
              f"{sum(report['eval'].values())} eval prompts)")
        print(f"  database file: {paths['db'].stat().st_size / 1e6:.1f} MB")

        # Phases, on the database just written (same work as inside build).
        conn = sqlite3.connect(paths["db"])
        conn.execute("PRAGMA cache_size = -262144")
        with Clock() as gen:
            from data.atomic import new_database
            from data.schema import create_schema
            from data.synthetic import generate

            with new_database(Path(tmp) / "again.db") as c2:
                create_schema(c2)
                generate(c2, seed=args.seed, size=args.size)
        print(f"  generate database: {gen.wall:.1f} s wall, {gen.cpu:.1f} s CPU")
        with Clock() as fc:
            f = facts.compute(conn, min_orders=max(10, report["db"]["orders"] // 1000))
        print(f"  facts pass:        {fc.wall:.1f} s wall, {fc.cpu:.1f} s CPU")
        counts = split_counts(1480, TRAIN_MIX)
        streams = {
            "extraction": lambda seen, rng: prompt_extraction.stream(conn, rng, seen),
            "sql_qa": lambda seen, rng: prompt_sql.stream(conn, rng, seen),
            "insights": lambda seen, rng: prompt_insights.stream(f, rng, seen),
            "push": lambda seen, rng: prompt_push.stream(f, rng, seen),
        }
        for task, make in streams.items():
            n = counts[task] + 20
            with Clock() as c:
                it = make(set(), random.Random(task))
                got = sum(1 for _, _ in zip(range(n), it, strict=False))
            print(f"  {task:<10} {got:4d} prompts: {c.wall:.1f} s wall, {c.cpu:.1f} s CPU")
        div = report["comment_diversity"]
        print(f"review comments: {div['comments']} ({div['distinct']} distinct); repeated verbatim: "
              f"{100 * div['repeated_share']:.1f}%; most common text: {100 * div['top_share']:.2f}% "
              f"({div['top'][0][0]!r} x{div['top'][0][1]})")


if __name__ == "__main__":
    main()
