"""Benchmark: the annotate page on a big store.

    .venv/bin/python bench/annotate_page.py [--rollouts 100000] [--annotations 50000] [--steps 100]

Seeds a file store (WAL, as the app uses) with 100,000 rollouts over 2,000 prompts and
50,000 annotations by 20 annotators, written straight through sqlite executemany in the
shapes the store methods write (queue counters, assignments, history), so seeding takes
seconds instead of the hours real scoring would. Then it measures, for one annotator:

- save: `store.record_annotation` alone (target <= 20 ms);
- next: `store.next_item` alone;
- item panel: what a key press reruns in the live app (the annotate page's item
  fragment): fetching the next item and rendering it, timed by the page itself
  (target p95 <= 150 ms);
- whole page run: AppTest reruns the whole script after a key press (the save callback,
  the session check, the item panel with a sql_qa item's query result, and the progress
  panel), timed server-side around the script run; in the live app the progress panel
  refreshes on its own timer instead.

Prints p50 / p95 / max in milliseconds and PASS/FAIL against the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.store import Store, assignment  # noqa: E402
from rewards.types import TASKS  # noqa: E402

ANNOTATORS = 20
PROMPTS_PER_TASK = 500
PAGE_TARGET_MS, SAVE_TARGET_MS = 150.0, 20.0


def now() -> str:
    return "2026-01-01T00:00:00.000+00:00"


def completion_text(rng: random.Random, task: str, i: int) -> str:
    words = ("cliente", "entrega", "produto", "prazo", "qualidade", "preço", "loja", "frete", "avaliação")
    body = " ".join(rng.choice(words) for _ in range(rng.randint(40, 250)))
    if task == "extraction":
        return json.dumps({"sentimento": "positivo", "resumo": body[:200], "nota": rng.randint(1, 5)},
                          ensure_ascii=False)
    if task == "sql_qa":
        return f"```sql\nSELECT count(*) FROM orders WHERE order_status = 'delivered';\n```\n{body}"
    return f"Item {i}: {body}"


def seed(store: Store, n_rollouts: int, n_annotations: int) -> list:
    rng = random.Random(7)
    users = [store.add_user(f"bench{i:02d}", "annotator", "bench-senha-1") for i in range(ANNOTATORS)]
    settings = store.get_settings()
    conn = store.conn
    t0 = time.perf_counter()
    with store.transaction(immediate=True):
        prompts = []
        for task in TASKS:
            for p in range(PROMPTS_PER_TASK):
                messages = [{"role": "system", "content": "Você é um analista de e-commerce."},
                            {"role": "user", "content": f"{task} {p}: " + "contexto " * 60}]
                prompts.append((f"{task}-bench{p:04d}", task, "train", json.dumps(messages, ensure_ascii=False),
                                "{}", now()))
        conn.executemany("INSERT INTO prompts (prompt_id, task, split, messages, meta, created_at)"
                         " VALUES (?, ?, ?, ?, ?, ?)", prompts)
        rows, queue = [], []
        for rid in range(1, n_rollouts + 1):
            prompt_id, task = prompts[rid % len(prompts)][:2]
            rows.append((rid, prompt_id, task, "sample", "bench", "bench-model", None, "{}", rid // len(prompts),
                         completion_text(rng, task, rid), 100, 200, 0, task, rng.random(),
                         json.dumps({"format": 0.5}), "[]", "bench-v1", f"bench-{rid}", now()))
            shuffle = assignment.shuffle_key(rid)
            queue.append([rid, task, assignment.target_for(shuffle, settings), 0, 0, shuffle])
        conn.executemany(
            "INSERT INTO rollouts (id, prompt_id, task, source, batch_id, model_id, checkpoint_id, gen_params,"
            " sample_index, completion, prompt_tokens, completion_tokens, truncated, reward_name, reward_total,"
            " reward_components, reward_notes, reward_version, dedup_key, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        # Annotations in serving order (per task, by shuffle), each item up to its target,
        # balanced across tasks, from distinct annotators: what real scoring would leave.
        by_task = {t: sorted((q for q in queue if q[1] == t), key=lambda q: q[5]) for t in TASKS}
        annotations, assignments, history = [], [], []
        per_task = n_annotations // len(TASKS)
        aid = 0
        for task in TASKS:
            given = 0
            for q in by_task[task]:
                if given >= per_task:
                    break
                for who in rng.sample(users, q[2])[: per_task - given]:
                    aid += 1
                    score = rng.randint(1, 5)
                    annotations.append((aid, q[0], who.id, 0, score, int(rng.random() < 0.05), None,
                                        round(rng.uniform(4, 60), 2), now(), now()))
                    assignments.append((q[0], who.id, 0, "done", now(), now()))
                    history.append((aid, score, 0, None, now(), who.username))
                    q[3] += 1
                    q[4] += 1
                    given += 1
        conn.executemany("INSERT INTO annotations (id, rollout_id, annotator_id, round, score, flag_reward_wrong,"
                         " comment, seconds, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         annotations)
        conn.executemany("INSERT INTO assignments (rollout_id, annotator_id, round, status, served_at, updated_at)"
                         " VALUES (?, ?, ?, ?, ?, ?)", assignments)
        conn.executemany("INSERT INTO annotation_history (annotation_id, score, flag_reward_wrong, comment,"
                         " changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?)", history)
        conn.executemany("INSERT INTO item_queue (rollout_id, task, target, claimed, scored, shuffle)"
                         " VALUES (?, ?, ?, ?, ?, ?)", queue)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"seeded {n_rollouts:,} rollouts, {len(annotations):,} annotations in {time.perf_counter() - t0:.1f} s")
    return users


def summary(name: str, ms: list[float], target: float | None = None) -> bool:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    verdict = "" if target is None else ("  PASS" if p95 <= target else "  FAIL") + f" (target p95 <= {target:.0f} ms)"
    print(f"{name:<34} n={len(ms):<4} p50={statistics.median(ms):7.1f} ms  p95={p95:7.1f} ms  "
          f"max={ms[-1]:7.1f} ms{verdict}")
    return target is None or p95 <= target


def _time_script_runs() -> list[float]:
    """Record the server-side duration of every script run (the page after a key press:
    callback + save + next item + progress + rendering), without AppTest's polling."""
    from streamlit.runtime.scriptrunner import script_runner

    times: list[float] = []
    original = script_runner.ScriptRunner._run_script

    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            times.append((time.perf_counter() - start) * 1000)

    script_runner.ScriptRunner._run_script = timed
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=100_000)
    parser.add_argument("--annotations", type=int, default=50_000)
    parser.add_argument("--steps", type=int, default=100, help="items scored in each measurement")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.db"
        store = Store(path)
        users = seed(store, args.rollouts, args.annotations)
        print(f"store file: {path.stat().st_size / 1e6:.0f} MB")
        me = users[0]

        # Store calls alone.
        save_ms, next_ms, progress_ms = [], [], []
        for _ in range(args.steps):
            t = time.perf_counter()
            item = store.next_item(me)
            next_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            store.record_annotation(me, item["rollout_id"], random.randint(1, 5), seconds=12.5)
            save_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            store.progress(me)
            progress_ms.append((time.perf_counter() - t) * 1000)

        # The page, server side, as a key press drives it: logged in through a store session
        # (checked on every run), with a commerce database for the sql_qa items' query results.
        os.environ["TUCANO_AUDIT_STORE"] = str(path)
        os.environ["TUCANO_AUDIT_HOME"] = tmp
        from data.build import build

        build(tmp, size="small", seed=1)
        from streamlit.testing.v1 import AppTest

        from audit_app.ui.context import SESSION_ID, SESSION_USER

        script_ms = _time_script_runs()
        at = AppTest.from_file(str(ROOT / "audit_app" / "pages" / "annotate.py"), default_timeout=60)
        at.session_state[SESSION_USER] = me
        at.session_state[SESSION_ID] = store.open_session(me)[0]
        t = time.perf_counter()
        at.run()
        first_ms = (time.perf_counter() - t) * 1000
        if at.exception:
            print(at.exception[0].value)
            return 1
        page_ms, panel_ms = [], []
        before = store.progress(me)["mine"]["scored"]
        script_ms.clear()
        for step in range(args.steps):
            shown = at.session_state["annotate_item"]["rollout_id"]  # buttons carry the item's id
            at.button(key=f"annotate_score_{shown}_{step % 5 + 1}").click()
            t = time.perf_counter()
            at.run()
            page_ms.append((time.perf_counter() - t) * 1000)
            panel_ms.append(at.session_state["annotate_panel_ms"])
        assert not at.exception, at.exception
        # Every key press really saved a score (the timings are of real work).
        assert store.progress(me)["mine"]["scored"] == before + args.steps
        store.close()

    print(f"{'page: first load (cold imports)':<34} {first_ms:7.1f} ms")
    ok = summary("store.next_item", next_ms)
    ok &= summary("store.record_annotation (save)", save_ms, SAVE_TARGET_MS)
    ok &= summary("store.progress", progress_ms)
    ok &= summary("item panel: next item + render", panel_ms, PAGE_TARGET_MS)
    # Informational: AppTest cannot rerun a fragment alone, so these include the progress panel.
    summary("whole page run (+progress), server", script_ms, PAGE_TARGET_MS)
    summary("whole page run, AppTest wall time", page_ms)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
