"""Many processes writing one file store at once: every score lands, no "database is
locked" reaches the caller, and concurrent annotators never share an item by accident."""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections import Counter

from data.store import Store
from tests.fixtures_users import seed_rollouts

WRITERS, PER_WRITER = 8, 500


def _score_worker(path, username, rollout_ids, offset, barrier, results):
    try:
        store = Store(path)
        user = store.get_user(username)
        barrier.wait(timeout=60)
        for j, rid in enumerate(rollout_ids):
            store.record_annotation(user, rid, (offset + j) % 5 + 1, seconds=1.0)
        store.close()
        results.put((username, None))
    except BaseException:  # report everything, including "database is locked"
        results.put((username, traceback.format_exc()))


def _annotate_worker(path, username, barrier, results):
    try:
        store = Store(path)
        user = store.get_user(username)
        barrier.wait(timeout=60)
        done = []
        while (item := store.next_item(user)) is not None:
            store.record_annotation(user, item["rollout_id"], 3)
            done.append(item["rollout_id"])
        store.close()
        results.put((username, done))
    except BaseException:
        results.put((username, traceback.format_exc()))


def _run(target, args_per_process):
    # fork: the children start at once (spawn would re-import everything in each).
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(len(args_per_process)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, results)) for args in args_per_process]
    for p in procs:
        p.start()
    out = dict(results.get(timeout=180) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    return out


def test_eight_processes_write_500_scores_each(tmp_path):
    path = str(tmp_path / "store.db")
    with Store(path) as store:
        ids = seed_rollouts(store, per_task=PER_WRITER // 4, prompts_per_task=5)
        names = [store.add_user(f"w{i}", "annotator", email=f"w{i}@example.com").username for i in range(WRITERS)]
    assert len(ids) == PER_WRITER
    outcome = _run(_score_worker, [(path, name, ids, i, ) for i, name in enumerate(names)])
    errors = {name: err for name, err in outcome.items() if err}
    assert not errors, next(iter(errors.values()))
    with Store(path) as store:
        rows = store.query("SELECT u.username, a.rollout_id, a.score FROM annotations a"
                           " JOIN users u ON u.id = a.annotator_id")
        assert len(rows) == WRITERS * PER_WRITER
        position = {rid: j for j, rid in enumerate(ids)}
        for row in rows:
            offset = int(row["username"][1:])
            assert row["score"] == (offset + position[row["rollout_id"]]) % 5 + 1
        assert store.query("SELECT count(*) AS n FROM annotation_history")[0]["n"] == WRITERS * PER_WRITER
        assert {r["scored"] for r in store.query("SELECT scored FROM item_queue")} == {WRITERS}
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_concurrent_annotators_split_the_queue(tmp_path):
    path = str(tmp_path / "store.db")
    with Store(path) as store:
        ids = seed_rollouts(store, per_task=40)
        store.update_settings({"agreement_share": 0.0, "repeat_share": 0.0}, actor=store.add_user(
            "boss", "admin", email="boss@example.com"))
        names = [store.add_user(f"a{i}", "annotator", email=f"a{i}@example.com").username for i in range(4)]
    outcome = _run(_annotate_worker, [(path, name) for name in names])
    errors = [v for v in outcome.values() if isinstance(v, str)]
    assert not errors, errors[0]
    counts = Counter(rid for done in outcome.values() for rid in done)
    assert sorted(counts) == sorted(ids) and set(counts.values()) == {1}
