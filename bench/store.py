"""Benchmark of the store's annotation path at production size.

Seeds a file store (WAL, as the app uses) with 100,000 rollouts over the four tasks and
50,000 annotations by 25 annotators (agreement pairs and self-consistency repeats
included), then times what the annotate page calls on every item:

    next_item       pick + lease the next item (BEGIN IMMEDIATE), read it      goal: part of <= 150 ms p95 page run
    record_annotation  save a score (with history and queue counters)          goal: <= 20 ms p95
    progress        my / team / per-task progress and my median seconds
    undo_last       undo my last score

Run: .venv/bin/python bench/store.py [--rollouts N] [--annotations N] [--rounds N]
Seeding uses executemany (sqlite-utils insert_all) so it takes seconds, not minutes.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data.store import Store, assignment  # noqa: E402
from rewards.types import TASKS  # noqa: E402


def seed(store: Store, n_rollouts: int, n_annotations: int, n_annotators: int, rng: random.Random) -> list:
    now = "2025-01-01T00:00:00.000+00:00"
    prompts = [{"prompt_id": f"{t}-{i:04d}", "task": t, "split": "eval", "messages": json.dumps(
        [{"role": "system", "content": "Você é um analista de e-commerce."},
         {"role": "user", "content": f"Pergunta {i} da tarefa {t}. " * 20}]), "meta": "{}", "created_at": now}
        for t in TASKS for i in range(500)]
    store.db["prompts"].insert_all(prompts, batch_size=2000)
    rollouts = []
    for rid in range(1, n_rollouts + 1):
        p = prompts[rng.randrange(len(prompts))]
        rollouts.append({"id": rid, "prompt_id": p["prompt_id"], "task": p["task"], "source": "sample",
                         "model_id": "Polygl0t/Tucano2-qwen-0.5B-Instruct", "gen_params": '{"temperature": 0.8}',
                         "sample_index": rid % 8, "completion": "Resposta gerada. " * rng.randint(5, 60),
                         "reward_name": p["task"], "reward_total": rng.random(), "reward_components": "{}",
                         "reward_notes": "[]", "reward_version": "bench", "dedup_key": f"bench-{rid}",
                         "created_at": now})
    store.db["rollouts"].insert_all(rollouts, batch_size=5000)
    settings = store.get_settings()
    queue = {}
    for r in rollouts:
        shuffle = assignment.shuffle_key(r["id"])
        queue[r["id"]] = {"rollout_id": r["id"], "task": r["task"], "shuffle": shuffle,
                          "target": assignment.target_for(shuffle, settings), "claimed": 0, "scored": 0}
    users = [store.add_user(f"bench{i}", "annotator", email=f"bench{i}@example.com") for i in range(n_annotators)]

    # Scores fill items in serving order, as real annotators would; pairs where the target is 2.
    order = sorted(queue.values(), key=lambda q: q["shuffle"])
    annotations, assignments, plans, history = [], [], [], []
    per_user = {u.id: 0 for u in users}
    it = iter(order)
    while len(annotations) < n_annotations:
        item = next(it)
        for k in range(min(item["target"], n_annotations - len(annotations))):
            user = users[(len(annotations) + k) % n_annotators]
            per_user[user.id] += 1
            aid = len(annotations) + 1
            annotations.append({"id": aid, "rollout_id": item["rollout_id"], "annotator_id": user.id, "round": 0,
                                "score": rng.randint(1, 5), "flag_reward_wrong": int(rng.random() < 0.03),
                                "comment": None, "seconds": rng.uniform(5, 60), "created_at": now,
                                "updated_at": now})
            history.append({"annotation_id": aid, "score": annotations[-1]["score"], "flag_reward_wrong": 0,
                            "comment": None, "changed_at": now, "changed_by": user.username})
            assignments.append({"rollout_id": item["rollout_id"], "annotator_id": user.id, "round": 0,
                                "status": "done", "served_at": now, "updated_at": now})
            if assignment.is_repeat(item["rollout_id"], user.id, settings["repeat_share"]):
                plans.append({"annotator_id": user.id, "rollout_id": item["rollout_id"],
                              "due_after": per_user[user.id] + settings["repeat_gap"]})
            item["claimed"] += 1
            item["scored"] += 1
    store.db["annotations"].insert_all(annotations, batch_size=5000)
    store.db["annotation_history"].insert_all(history, batch_size=5000)
    store.db["assignments"].insert_all(assignments, batch_size=5000)
    store.db["repeat_plan"].insert_all(plans, batch_size=5000)
    store.db["item_queue"].insert_all(queue.values(), batch_size=5000)
    return users


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] * 1000


def line(name: str, values: list[float]) -> str:
    return (f"{name:<18} n={len(values):<5} p50={pct(values, 50):7.2f} ms  p95={pct(values, 95):7.2f} ms"
            f"  max={max(values) * 1000:7.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=100_000)
    parser.add_argument("--annotations", type=int, default=50_000)
    parser.add_argument("--annotators", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=400, help="next_item + save cycles timed")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store.db")
        t0 = time.perf_counter()
        users = seed(store, args.rollouts, args.annotations, args.annotators, rng)
        store.conn.execute("ANALYZE")
        seeded = time.perf_counter() - t0
        print(f"seeded {store.count_rollouts():,} rollouts, "
              f"{store.query('SELECT count(*) AS n FROM annotations')[0]['n']:,} annotations by "
              f"{len(users)} annotators in {seeded:.1f} s ({store.path})")
        fresh = store.add_user("newcomer", "annotator", email="new@example.com")
        timings = {"next_item": [], "record_annotation": [], "progress": [], "undo_last": []}
        people = [*users[:5], fresh]
        for i in range(args.rounds):
            user = people[i % len(people)]
            t = time.perf_counter()
            item = store.next_item(user)
            timings["next_item"].append(time.perf_counter() - t)
            t = time.perf_counter()
            store.record_annotation(user, item["rollout_id"], rng.randint(1, 5), seconds=rng.uniform(5, 40))
            timings["record_annotation"].append(time.perf_counter() - t)
            if i % 4 == 0:
                t = time.perf_counter()
                store.progress(user)
                timings["progress"].append(time.perf_counter() - t)
            if i % 10 == 0:
                t = time.perf_counter()
                store.undo_last(user)
                timings["undo_last"].append(time.perf_counter() - t)
        for name, values in timings.items():
            print(line(name, values))
        # Throughput of the public write path (validation, dedup, queueing) for new samples.
        rows = [{"prompt_id": "push-0001", "model_id": "bench", "completion": f"Volte já! Oferta {i}",
                 "reward_name": "push", "reward_total": 0.5, "reward_version": "bench"} for i in range(5_000)]
        t = time.perf_counter()
        store.add_rollouts(rows)
        elapsed = time.perf_counter() - t
        print(f"add_rollouts       5,000 rows (reward given) in {elapsed:.2f} s ({5_000 / elapsed:,.0f} rows/s)")
        t = time.perf_counter()
        n = store.export(Path(tmp) / "annotations.parquet", what="annotations")
        print(f"export annotations {n:,} rows to Parquet in {time.perf_counter() - t:.2f} s")
        p95_next, p95_save = pct(timings["next_item"], 95), pct(timings["record_annotation"], 95)
        print(f"goals: save p95 {p95_save:.2f} ms (<= 20 ms: {'ok' if p95_save <= 20 else 'MISSED'});"
              f" next_item p95 {p95_next:.2f} ms of the 150 ms page budget")
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
