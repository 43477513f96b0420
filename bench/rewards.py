"""Reward benchmark: what the grounded rewards fixed, and what they cost.

    .venv/bin/python bench/rewards.py [--data DIR] [--sql-db PATH] [--n 10000] [--sql-n 400] [--skip-sql]

1. Exploit families, before and after: each family's median under the recipe's reward
   (`*_recipe`, the previous defaults) and under the grounded default, with the good
   answers' median, on the prompts of a small build (`--data DIR`: an existing build's
   folder; default: `data build --size small` into a temporary folder).
2. Throughput without SQL execution: N completions of those prompts, a mix of good
   answers and exploits (so every branch of every reward runs), scored on one core with
   the grounded rewards; sql_qa without a database, so only its text tiers run. Measured
   in CPU time of this process; goal >= 20,000 completions/s. Twice: as the mix comes
   (a prompt's answers share its per-prompt work, as a GRPO group does) and with cold
   prompts (`rewards.prompt_cache.clear()` before each completion, its own time not
   counted): what the per-prompt caches buy.
3. SQL: the sql_qa reward's execution on the full-size database (~100k orders) and its
   second copy, run in parallel (`rewards.sql_exec.run_pair`, result cache off) plus the
   comparison, for the distinct reference queries of the build's prompts and a wrong
   variant of each: median and p99 wall time (goal: median <= 5 ms), CPU time of both
   threads, the CPU time of the slower database alone (what the parallel run's wall time
   is when each thread has a core), and how many queries stopped at the operation budget
   on two runs (the same on both, with the same operation counts: it counts operations).
4. Worst case: the slowest single completion at the read limit (64,000 characters) per
   task, over hostile inputs (bracket floods, escaped quotes, long analyses, repeated
   lines, an endless recursive query padded to the limit).
Every figure is printed with the load average beside it (`os.getloadavg`).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data.build import build  # noqa: E402
from data.gold import gold_answer  # noqa: E402
from data.prompts import load_prompts, reward_meta  # noqa: E402
from rewards import prompt_cache, sql_exec  # noqa: E402
from rewards.exploits import bench, families_for  # noqa: E402
from rewards.parsing import MAX_SCAN  # noqa: E402
from rewards.registry import RECIPE_REWARDS, get_reward  # noqa: E402
from rewards.sql_compare import compare, parse_reference_answer, sort_key  # noqa: E402
from rewards.sql_qa import query_budget  # noqa: E402
from rewards.types import TASKS  # noqa: E402


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def rows_of(folder: Path, db: Path | None = None) -> list[dict]:
    rows = load_prompts(folder / "prompts" / "train.jsonl") + load_prompts(folder / "prompts" / "eval.jsonl")
    return [{**r, **reward_meta(r, db_path=db or folder / "commerce.db")} for r in rows]


def bench_families(rows: list[dict], per_family: int) -> None:
    good = {r["prompt_id"]: gold_answer(r) for r in rows}
    print(f"== exploit families: median before (recipe reward) and after (grounded default), "
          f"{per_family} prompts per family [{load()}]")
    print(f"{'task':<11} {'family':<22} {'before':>7} {'after':>7}")
    for task in TASKS:
        before = bench(get_reward(RECIPE_REWARDS[task]), rows, good=good, prompts_per_family=per_family)
        after = bench(get_reward(task), rows, good=good, prompts_per_family=per_family)
        for name in after.families:
            b = before.families.get(name)
            print(f"{task:<11} {name:<22} {b.median if b else float('nan'):7.2f} {after.families[name].median:7.2f}")
        print(f"{task:<11} {'(good answers)':<22} {before.good_median:7.2f} {after.good_median:7.2f}")
        print(f"{task:<11} {'families failing':<22} {len(before.failures()):7d} {len(after.failures()):7d}")


def mixed(rows: list[dict], n: int, seed: int = 0) -> list[tuple[str, str, dict]]:
    """n completions of the rows' prompts: half good answers, half exploits of every family."""
    rng = random.Random(seed)
    by_task = {t: [r for r in rows if r["task"] == t] for t in TASKS}
    out = []
    while len(out) < n:
        task = TASKS[len(out) % 4]
        row = rng.choice(by_task[task])
        if rng.random() < 0.5:
            text = gold_answer(row)
        else:
            text = rng.choice(families_for(task)).make(row, rng)
        if text:
            meta = {k: v for k, v in row.items() if k not in ("db_path", "db_path_b")}
            out.append((task, text, meta))
    rng.shuffle(out)
    return out


def _cpu_per_item(score, items) -> float:
    c0 = time.process_time()
    for task, text, meta in items:
        score(task, text, meta)
    return (time.process_time() - c0) / len(items)


def bench_throughput(rows: list[dict], n: int) -> None:
    items = mixed(rows, n)
    rewards = {t: get_reward(t) for t in TASKS}
    for task, text, meta in items[:400]:  # warm-up: imports, word memo
        rewards[task].score(text, **meta)

    def warm(task, text, meta):
        rewards[task].score(text, **meta)

    def cold(task, text, meta):  # a prompt no answer came with before: its per-prompt work redone
        prompt_cache.clear()
        rewards[task].score(text, **meta)

    def clear_only(task, text, meta):
        prompt_cache.clear()

    print(f"== throughput: {n} completions (good answers and exploits), one core, SQL not executed; cold: every "
          f"completion's prompt new to the per-prompt caches (rewards.prompt_cache) [{load()}]")
    clearing = _cpu_per_item(clear_only, items)
    for task in TASKS:
        mine = [item for item in items if item[0] == task]
        hot, first = _cpu_per_item(warm, mine), _cpu_per_item(cold, mine) - clearing
        chars = sum(len(text) for _, text, _ in mine) / len(mine)
        print(f"{task:<11} {len(mine):>6} completions, mean {chars:>5.0f} chars: {1 / hot:>9,.0f} /s CPU "
              f"({hot * 1e6:6.1f} us), cold prompt {1 / first:>9,.0f} /s ({first * 1e6:6.1f} us)")
    c0, w0 = time.process_time(), time.perf_counter()
    for task, text, meta in items:
        rewards[task].score(text, **meta)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    print(f"overall (shuffled mix): {n / cpu:,.0f} completions/s CPU, {n / wall:,.0f} /s wall; goal >= 20,000/s "
          f"[{load()}]")
    first = _cpu_per_item(cold, items) - clearing
    print(f"overall, cold prompts (the same mix, every prompt new): {1 / first:,.0f} completions/s CPU "
          f"(clearing the caches, {clearing * 1e6:.1f} us a completion, not counted) [{load()}]")
    recipe = {t: get_reward(RECIPE_REWARDS[t] if t != "sql_qa" else "sql_qa_heuristic") for t in TASKS}
    c0 = time.process_time()
    for task, text, meta in items:
        recipe[task].score(text, **meta)
    print(f"the recipe's rewards on the same mix (sql_qa_heuristic for sql_qa): {n / (time.process_time() - c0):,.0f} "
          f"completions/s CPU [{load()}]")


def _sql_items(rows: list[dict], limit: int) -> list[tuple[str, dict]]:
    items, seen = [], set()
    sql_rows = [r for r in rows if r["task"] == "sql_qa"]
    random.Random(1).shuffle(sql_rows)
    for row in sql_rows[:limit]:
        sql = row["reference_sql"]
        wrong = sql.replace("DESC", "ASC") if "DESC" in sql else sql.replace("COUNT(", "COUNT(DISTINCT ")
        for q in (sql, wrong):
            if q not in seen:
                seen.add(q)
                items.append((q, row))
    return items


def bench_sql(folder: Path, n: int) -> None:
    rows = [r for r in rows_of(folder) if r["task"] == "sql_qa"]
    db_a, db_b = folder / "commerce.db", folder / "commerce-b.db"
    items = _sql_items(rows, n)
    reward = get_reward("sql_qa")
    for q, row in items[:5]:
        reward.score(f"```sql\n{q}\n```", **row)  # warm-up: connections, reference runs
    wall, cpu, ops, correct, stops = [], [], {}, 0, [0, 0]
    for q, row in items:
        ref = sql_exec.run_readonly(db_a, row["reference_sql"], budget_ops=500_000_000)
        budget = query_budget(db_a, db_b, row["reference_sql"])
        w0, c0 = time.perf_counter(), time.process_time()
        a, b = sql_exec.run_pair(db_a, db_b, q, budget_ops=budget)
        ok = a.ok and compare(a.rows, parse_reference_answer(row["reference_answer"]), ordered=row["order_matters"],
                              key=sort_key(row["reference_sql"], ref.columns), lenient=True).ok
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        correct += ok
        stops[0] += a.stopped is not None
        ops[q] = (a.ops, b.ops if b else None)
    critical = []
    for q, row in items:  # each database alone, in this thread: the parallel run's critical path on an idle machine
        budget = query_budget(db_a, db_b, row["reference_sql"])
        per_db = []
        for db in (db_a, db_b):
            c0 = time.thread_time()
            sql_exec.run_readonly(db, q, budget_ops=budget)
            per_db.append((time.thread_time() - c0) * 1000)
        critical.append(max(per_db))
    for q, row in items:  # a second run: the budget counts operations, so nothing moves
        a, b = sql_exec.run_pair(db_a, db_b, q, budget_ops=query_budget(db_a, db_b, row["reference_sql"]))
        stops[1] += a.stopped is not None
        assert (a.ops, b.ops if b else None) == ops[q], q

    def stats(xs):
        return f"median {statistics.median(xs):.2f} ms, p99 {statistics.quantiles(xs, n=100)[98]:.1f} ms, max {max(xs):.0f} ms"

    print(f"== SQL execution on both databases ({len(items)} distinct queries: {correct} correct; stopped at the "
          f"operation budget: {stops[0]} then {stops[1]}, same operation counts on both runs) [{load()}]")
    print(f"run on A and B in parallel + comparison, wall: {stats(wall)} (goal: median <= 5 ms)")
    print(f"the same, CPU of both threads:           {stats(cpu)}")
    print(f"CPU of the slower database alone:         {stats(critical)} (the parallel run's wall time when "
          "each has a core)")
    # The worst single completion: hostile SQL padded to the read limit, on the prompt with the
    # largest budget (the reward's own: rewards.sql_qa.query_budget).
    heavy = max(rows, key=lambda r: query_budget(db_a, db_b, r["reference_sql"]))
    for text in HOSTILE["sql_qa"]:
        text = text[:MAX_SCAN]
        w0, c0 = time.perf_counter(), time.process_time()
        b = reward.score(text, **heavy)
        budget = query_budget(db_a, db_b, heavy["reference_sql"])
        print(f"worst case on the full database ({heavy['topic']}, budget {budget:,} operations, "
              f"{sql_exec.cpu_limit_for(budget):.0f} ms CPU limit per database): "
              f"{(time.process_time() - c0) * 1000:.0f} ms CPU, {(time.perf_counter() - w0) * 1000:.0f} ms "
              f"wall ({text[:40]!r}...; {b.notes[0] if b.notes else ''}) [{load()}]")
    sql_exec.close_all()


HOSTILE = {
    "any": ["{" * MAX_SCAN, '{"a": 1,5' + '\\"' * 32000, "{}" * 32000, "9" * (MAX_SCAN - 2) + ",9", '"' * MAX_SCAN,
            "é\u0301" * 32000, ("Recomendamos priorizar 12,5% dos clientes. " * 2000)[:MAX_SCAN],
            "```sql\n" * 9000, "- item repetido igual\n" * 3000, ("R$ 1.234,56 e 98,7% " * 4000)[:MAX_SCAN]],
    "sql_qa": ["```sql\nWITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r\n```\n"
               + "explicação " * 5800,
               "```sql\nSELECT count(*) FROM order_items a, order_items b\n```\n" + "x" * 63000,
               # every step carries and searches a 60 KB string: stopped by the CPU-time limit
               "```sql\nWITH RECURSIVE r(n, s) AS (SELECT 1, printf('%.60000c', 'a') UNION ALL SELECT n + 1, s FROM r)"
               " SELECT count(*) FROM r WHERE instr(s || 'b', 'ab') > 0\n```\n" + "explicação " * 5000,
               "```sql\nWITH RECURSIVE r(n, s) AS (SELECT 1, printf('%.60000c', 'a') UNION ALL SELECT n + 1, s FROM r)"
               " SELECT count(*) FROM r WHERE s LIKE '%a%a%a%a%a%b'\n```\n" + "explicação " * 5000],
}


def _worst(reward, row: dict, texts: list[str]) -> tuple[float, float, str]:
    """(CPU ms of every thread, wall ms, text) of the text that took the most CPU."""
    worst, wall, which = 0.0, 0.0, ""
    for text in texts:
        text = (text * (1 + MAX_SCAN // max(1, len(text))))[:MAX_SCAN]
        c0, w0 = time.process_time(), time.perf_counter()
        reward.score(text, **row)
        ms = (time.process_time() - c0) * 1000
        if ms > worst:
            worst, wall, which = ms, (time.perf_counter() - w0) * 1000, text[:40]
    return worst, wall, which


def _heaviest(rows: list[dict], task: str) -> dict:
    """The prompt a completion costs most on: for sql_qa the largest operation budget (the
    reward's own, from its reference on both databases), else the longest prompt."""
    mine = [r for r in rows if r["task"] == task]
    if task == "sql_qa":
        return max(mine, key=lambda r: query_budget(r["db_path"], r.get("db_path_b"), r["reference_sql"]))
    return max(mine, key=lambda r: sum(len(m["content"]) for m in r["prompt"]))


def bench_worst_case(rows: list[dict]) -> None:
    print(f"== worst case: the slowest single completion at the read limit ({MAX_SCAN:,} characters), on each "
          f"task's heaviest prompt [{load()}]")
    for task in TASKS:
        reward = get_reward(task)
        row = _heaviest(rows, task)
        texts = HOSTILE["any"] + HOSTILE.get(task, [])
        worst, wall, which = _worst(reward, row, texts)
        print(f"{task:<11} {worst:7.1f} ms CPU, {wall:7.1f} ms wall ({which!r}...)")
        if task == "sql_qa":  # the same texts without the databases: what is not SQL execution
            alone = {k: v for k, v in row.items() if k not in ("db_path", "db_path_b")}
            budget = query_budget(row["db_path"], row.get("db_path_b"), row["reference_sql"])
            worst, _, which = _worst(reward, alone, texts)
            print(f"{'':<11} {worst:7.1f} ms CPU of it parsing and scoring ({which!r}...); the rest is the "
                  f"query on both databases, at most {budget:,} operations and "
                  f"{sql_exec.cpu_limit_for(budget):.0f} ms of CPU each")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="an existing small build's folder (default: build one)")
    parser.add_argument("--sql-db", type=Path, help="an existing full-size commerce.db (commerce-b.db and "
                                                    "prompts/ beside it; default: build one)")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--sql-n", type=int, default=400, help="sql_qa prompts to time (x2 answers)")
    parser.add_argument("--per-family", type=int, default=40)
    parser.add_argument("--skip-sql", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tucano-bench-") as tmp:
        small = args.data or Path(build(Path(tmp) / "small", size="small")["db"]).parent
        rows = rows_of(small)
        bench_families(rows, args.per_family)
        bench_throughput(rows, args.n)
        bench_worst_case(rows)
        if not args.skip_sql:
            if args.sql_db is None:
                t0 = time.perf_counter()
                args.sql_db = Path(build(Path(tmp) / "default", size="default")["db"])
                print(f"== built the full-size databases in {time.perf_counter() - t0:.0f} s [{load()}]")
            bench_sql(args.sql_db.parent, args.sql_n)
        sql_exec.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
