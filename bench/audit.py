"""Benchmark: the whole audit for 4 tasks x 2,500 scored items with 2,000 bootstrap resamples.

Goal: <= 1 s on one core for the statistics (Spearman + prompt-cluster bootstrap CI, Kendall
tau-b, ties, per-component rho, within-prompt tau + its CI, ordinal alpha + bootstrap CI,
the ceiling, self-consistency). Also timed: the gate's exploit check (every exploit family
of the four default rewards on a seeded sample of each task's prompts, SQL run on the
home's two databases), first and then kept (a new score re-judges it without rerunning
it); the same audit read from a file store (audit items, annotation snapshot hash,
statistics, exploit check, verdicts, what each task still needs), which is what
`tucano-audit audit` does; and the Audit & gate page's script run on that store (goal:
recompute <= 2 s): the first run (the exploit benches run), a rerun at the same store
revision (the cached audit is drawn again) and a run after a new score (the audit is
recomputed, the benches are kept).

The store's prompts are real prompt rows of a build (its briefs, gold labels, reference
queries, data summaries), cycled to 625 prompts per task: a small build made on the spot,
or the home given with --home (e.g. a default-size build, where the SQL runs on ~100k orders).

    .venv/bin/python bench/audit.py [--home DIR] [--page-store PATH]   # --page-store: also time the page there
"""

from __future__ import annotations

import os

# One core: pin the process and keep BLAS single-threaded (set before numpy loads).
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audit_app.audit import bootstrap  # noqa: E402
from audit_app.audit import exploits as gate_exploits  # noqa: E402
from audit_app.audit import stats as audit_stats  # noqa: E402
from audit_app.audit.report import audit_report  # noqa: E402
from data import paths  # noqa: E402
from data.build import build  # noqa: E402
from data.prompts import load_prompts  # noqa: E402
from data.store import Store  # noqa: E402
from rewards.registry import get_reward  # noqa: E402
from rewards.versions import current_versions  # noqa: E402

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


def fill_store(store: Store, data: dict[str, list[dict]], versions: dict[str, str],
               rows: dict[str, list[dict]]) -> None:
    """Rollouts stored with `versions` as their reward versions (and each task's name as the
    reward's), so an audit with those rewards reads them as stored instead of re-scoring;
    prompts carry the text and meta of real prompt rows (`rows`, per task, cycled)."""
    now = "2026-01-01T00:00:00+00:00"
    with store.transaction(immediate=True) as conn:
        ids = {}
        for who in PEOPLE:
            ids[who] = conn.execute("INSERT INTO users (username, role, created_at) VALUES (?, 'annotator', ?)",
                                    [who, now]).lastrowid
        for task, items in data.items():
            pids = list(dict.fromkeys(it["prompt_id"] for it in items))
            real = [rows[task][i % len(rows[task])] for i in range(len(pids))]
            conn.executemany(
                "INSERT OR IGNORE INTO prompts (prompt_id, task, split, messages, meta, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(pid, task, "train", json.dumps(r["prompt"], ensure_ascii=False),
                  json.dumps({k: v for k, v in r.items() if k not in ("prompt_id", "task", "prompt", "split")
                              and v is not None}, ensure_ascii=False), now) for pid, r in zip(pids, real, strict=True)])
            for it in items:
                rid = conn.execute(
                    "INSERT INTO rollouts (prompt_id, task, model_id, completion, reward_name, reward_total,"
                    " reward_components, reward_version, dedup_key, created_at) VALUES (?, ?, 'm', ?, ?, ?, ?, ?, ?, ?)",
                    [it["prompt_id"], task, it["completion"], task, it["reward_total"],
                     json.dumps(it["reward_components"]), versions[task],
                     f"{task}-{it['rollout_id']}", now]).lastrowid
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


PAGE = Path(__file__).resolve().parent.parent / "audit_app" / "pages" / "audit.py"


def page_runs(store_path: Path, label: str) -> None:
    """The Audit & gate page's script run (AppTest, headless) as an engineer on `store_path`:
    the first run, a rerun at the same revision (cached), a run after one new score (recomputed)."""
    from streamlit.testing.v1 import AppTest

    from audit_app.ui.context import SESSION_USER

    os.environ["TUCANO_AUDIT_STORE"] = str(store_path)
    with Store(store_path) as store:  # the page re-reads its user from the store
        engineer = store.get_user("bench-engineer") or store.add_user("bench-engineer", "engineer", "bench-password")
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.session_state[SESSION_USER] = engineer
    times = {}

    def run(what: str) -> None:
        t, c = time.perf_counter(), time.process_time()  # CPU of every thread (AppTest runs the page in one)
        at.run()
        times[what] = (time.perf_counter() - t, time.process_time() - c)
        assert not at.exception and not any("needs role" in e.value for e in at.error), at.exception

    run("first run")
    run("rerun, same revision (cached)")
    with Store(store_path) as store:
        row = store.conn.execute("SELECT id, score FROM annotations LIMIT 1").fetchone()
        if row:
            store.conn.execute("UPDATE annotations SET score = ? WHERE id = ?", [6 - row[1], row[0]])
    run("after a new score (recompute)")
    load = os.getloadavg()[0]
    for what, (wall, cpu) in times.items():
        print(f"audit page on {label}, {what}: {wall:.2f} s wall, CPU {cpu:.2f} s (load average {load:.2f})")


def exploit_runs(store: Store) -> None:
    """The gate's exploit check of the four default rewards on the store's prompts: the first
    time (the benches run) and again (kept: only the sample's hash and the bar are computed)."""
    rewards = {t: get_reward(t) for t in TASKS}
    gate_exploits.clear()
    per_task = {}
    for t in TASKS:
        c = time.process_time()
        gate_exploits.check(store, t, rewards[t], [])
        per_task[t] = time.process_time() - c
    wall, cpu = timed(lambda: [gate_exploits.check(store, t, rewards[t], []) for t in TASKS], 5)
    sizes = "/".join(str(gate_exploits.sample_size(t)) for t in TASKS)
    print(f"exploit check, 4 tasks ({sizes} prompts per family), first time: CPU "
          f"{sum(per_task.values()):.2f} s ({', '.join(f'{t} {v:.2f}' for t, v in per_task.items())}); kept: "
          f"median wall {wall * 1000:.0f} ms, CPU {cpu * 1000:.0f} ms  [{load()}]")


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a built home (commerce.db, commerce-b.db, prompts/) to take "
                                                  "prompts and databases from (default: a small build made now)")
    parser.add_argument("--page-store", type=Path, help="also time the audit page on this store (read only copy)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    data = {t: make_items(t, rng) for t in TASKS}
    audit_stats.audit({"push": data["push"][:50]}, n_boot=100)  # warm imports and caches
    wall, cpu = timed(lambda: audit_stats.audit(data, n_boot=N_BOOT), 7)
    print(f"statistics, 4 tasks x {N_ITEMS:,} items, {N_BOOT:,} resamples, one core: "
          f"median wall {wall:.3f} s, CPU {cpu:.3f} s  (goal <= 1 s)  [{load()}]")
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
        home = args.home or Path(tmp) / "home"
        if args.home is None:
            build(home, size="small", seed=42)
        os.environ[paths.ENV_HOME] = str(home)  # the SQL families run on the home's databases
        rows = {t: [r for r in load_prompts(home / "prompts" / "train.jsonl") if r["task"] == t] for t in TASKS}
        versions = current_versions()
        print(f"prompts from {home} ({'given' if args.home else 'small build'}): "
              + ", ".join(f"{t} {len(rows[t])}" for t in TASKS))
        store = Store(Path(tmp) / "store.db")
        fill_store(store, data, versions, rows)
        exploit_runs(store)
        gate_exploits.clear()
        t, c = time.perf_counter(), time.process_time()
        audit_report(store, TASKS, n_boot=N_BOOT)
        first = (time.perf_counter() - t, time.process_time() - c)
        wall, cpu = timed(lambda: audit_report(store, TASKS, n_boot=N_BOOT), 3)
        n_ann = store.conn.execute("SELECT COUNT(*) FROM annotations").fetchone()[0]
        print(f"from a file store ({N_ITEMS * len(TASKS):,} rollouts, {n_ann:,} annotations): read + snapshot hash + "
              f"statistics + exploit check + verdicts: first {first[0]:.3f} s wall, CPU {first[1]:.3f} s; with the "
              f"benches kept: median wall {wall:.3f} s, CPU {cpu:.3f} s  [{load()}]")
        store.close()

        page_store = Path(tmp) / "page.db"
        with Store(page_store) as store:
            fill_store(store, data, versions, rows)
        gate_exploits.clear()
        page_runs(page_store, f"{N_ITEMS * len(TASKS):,} scored items")
        if args.page_store:
            copy = Path(tmp) / "other.db"
            with Store(args.page_store) as src:
                src.conn.execute("VACUUM INTO ?", [str(copy)])
            gate_exploits.clear()
            page_runs(copy, str(args.page_store))


if __name__ == "__main__":
    main()
