"""Benchmark: the whole audit for 4 tasks x 2,500 scored items with 2,000 bootstrap resamples.

Goal: <= 1 s on one core for the statistics (Spearman + prompt-cluster bootstrap CI, Kendall
tau-b, ties, per-component rho, ordinal alpha + bootstrap CI, self-consistency,
within-prompt tau). Also timed: the same audit read from a file store (audit items,
annotation snapshot hash, statistics, verdicts), which is what `tucano-audit audit` does.

    .venv/bin/python bench/audit.py
"""

from __future__ import annotations

import os

# One core: pin the process and keep BLAS single-threaded (set before numpy loads).
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audit_app.audit import bootstrap  # noqa: E402
from audit_app.audit import stats as audit_stats  # noqa: E402
from audit_app.audit.report import TaskScorer, audit_report  # noqa: E402
from data.store import Store  # noqa: E402

TASKS = ("extraction", "sql_qa", "insights", "push")
N_ITEMS = 2500
PER_PROMPT = 4
N_BOOT = 2000
PEOPLE = ("ana", "bia", "caio", "davi", "eva")


def make_items(task: str, rng: np.random.Generator) -> list[dict]:
    """2,500 scored items: 4 completions per prompt, 20% scored twice, 5% repeated later."""
    items = []
    for i in range(N_ITEMS):
        q = rng.random()
        who = PEOPLE[i % len(PEOPLE)]
        anns = [{"annotator": who, "round": 0, "score": int(np.clip(round(1 + 4 * q + rng.normal(0, .7)), 1, 5)),
                 "flag": rng.random() < 0.02, "comment": None}]
        if rng.random() < 0.2:
            anns.append({"annotator": PEOPLE[(i + 1) % len(PEOPLE)], "round": 0,
                         "score": int(np.clip(round(1 + 4 * q + rng.normal(0, .7)), 1, 5)), "flag": False,
                         "comment": None})
        if rng.random() < 0.05:
            anns.append({"annotator": who, "round": 1, "score": int(np.clip(round(1 + 4 * q + rng.normal(0, .7)), 1, 5)),
                         "flag": False, "comment": None})
        comps = {"a": round(0.5 * q, 2), "b": round(0.3 * rng.random(), 2), "c": 0.2 * (q > 0.5), "d": -0.2 * (q < 0.1)}
        items.append({"rollout_id": len(items) + 1, "prompt_id": f"{task}-{i // PER_PROMPT}", "task": task,
                      "reward_total": float(np.clip(sum(comps.values()) + rng.normal(0, 0.1), 0, 1)),
                      "reward_components": comps, "reward_notes": [], "reward_name": task,
                      "reward_version": "bench", "completion": f"completion {i}", "annotations": anns})
    return items


def fill_store(store: Store, data: dict[str, list[dict]]) -> None:
    now = "2026-01-01T00:00:00+00:00"
    with store.transaction(immediate=True) as conn:
        ids = {}
        for who in PEOPLE:
            ids[who] = conn.execute("INSERT INTO users (username, role, created_at) VALUES (?, 'annotator', ?)",
                                    [who, now]).lastrowid
        for task, items in data.items():
            conn.executemany("INSERT OR IGNORE INTO prompts (prompt_id, task, messages, created_at) VALUES (?, ?, ?, ?)",
                             [(it["prompt_id"], task, json.dumps([{"role": "user", "content": "?"}]), now)
                              for it in items])
            for it in items:
                rid = conn.execute(
                    "INSERT INTO rollouts (prompt_id, task, model_id, completion, reward_name, reward_total,"
                    " reward_components, reward_version, dedup_key, created_at) VALUES (?, ?, 'm', ?, ?, ?, ?, ?, ?, ?)",
                    [it["prompt_id"], task, it["completion"], task, it["reward_total"],
                     json.dumps(it["reward_components"]), "bench", f"{task}-{it['rollout_id']}", now]).lastrowid
                conn.executemany(
                    "INSERT INTO annotations (rollout_id, annotator_id, round, score, flag_reward_wrong, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(rid, ids[a["annotator"]], a["round"], a["score"], int(a["flag"]), now, now)
                     for a in it["annotations"]])


def timed(fn, repeats: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process). On a busy machine wall
    time includes waiting for the core; CPU time is what the audit itself costs."""
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    rng = np.random.default_rng(0)
    data = {t: make_items(t, rng) for t in TASKS}
    audit_stats.audit({"push": data["push"][:50]}, n_boot=100)  # warm imports and caches
    wall, cpu = timed(lambda: audit_stats.audit(data, n_boot=N_BOOT), 7)
    print(f"statistics, 4 tasks x {N_ITEMS:,} items, {N_BOOT:,} resamples, one core: "
          f"median wall {wall:.3f} s, CPU {cpu:.3f} s  (goal <= 1 s)")
    for name, fn in (("  Spearman + cluster bootstrap, one task",
                      lambda: bootstrap.bootstrap_spearman(
                          np.array([it["reward_total"] for it in data["push"]]),
                          np.array([audit_stats.human_score(it) for it in data["push"]]),
                          [it["prompt_id"] for it in data["push"]], n_boot=N_BOOT)),
                     ("  ordinal alpha bootstrap, one task",
                      lambda: bootstrap.bootstrap_alpha(audit_stats.value_counts(data["push"]), n_boot=N_BOOT))):
        wall, cpu = timed(fn, 5)
        print(f"{name}: median wall {wall * 1000:.0f} ms, CPU {cpu * 1000:.0f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store.db")
        fill_store(store, data)
        scorers = {t: TaskScorer(t, "bench", lambda item: None) for t in TASKS}
        wall, cpu = timed(lambda: audit_report(store, TASKS, rewards=scorers, n_boot=N_BOOT), 3)
        n_ann = store.conn.execute("SELECT COUNT(*) FROM annotations").fetchone()[0]
        print(f"from a file store ({N_ITEMS * len(TASKS):,} rollouts, {n_ann:,} annotations): "
              f"read + snapshot hash + statistics + verdicts: median wall {wall:.3f} s, CPU {cpu:.3f} s")
        store.close()


if __name__ == "__main__":
    main()
