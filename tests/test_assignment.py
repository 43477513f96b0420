"""Assignment: leases, agreement share, unannounced repeats, task balance, settings."""

from __future__ import annotations

from collections import Counter

import pytest

from data.store import assignment
from data.store.errors import InvalidInput, PermissionDenied
from tests.fixtures_users import seed_rollouts

BLIND_KEYS = {"rollout_id", "prompt_id", "task", "messages", "completion"}


def annotators(store, n: int) -> list:
    # Single sign-on accounts: no password hashing, so many users stay cheap.
    return [store.add_user(f"ann{i}", "annotator", email=f"ann{i}@example.com") for i in range(n)]


def score_all(store, user, score=3) -> list[int]:
    done = []
    while (item := store.next_item(user)) is not None:
        store.record_annotation(user, item["rollout_id"], score)
        done.append(item["rollout_id"])
    return done


def test_next_item_is_blind(store, users, rollout_ids):
    item = store.next_item(users["annotator"])
    assert set(item) == BLIND_KEYS
    assert item["messages"][0] == {"role": "system", "content": "Você é um assistente."}
    assert item["completion"].startswith("resposta ")


def test_concurrent_annotators_never_share_an_unfinished_item(store, users, rollout_ids):
    store.update_settings({"agreement_share": 0.0}, actor=users["admin"])
    people = annotators(store, 3)
    held = [store.next_item(p)["rollout_id"] for p in people]
    assert len(set(held)) == 3
    # Asking again (a reload) returns the same item, not a new one.
    assert [store.next_item(p)["rollout_id"] for p in people] == held
    # Everyone works to the end: every item scored exactly once.
    scored = Counter()
    while True:
        progressed = False
        for p in people:
            item = store.next_item(p)
            if item:
                store.record_annotation(p, item["rollout_id"], 4)
                scored[item["rollout_id"]] += 1
                progressed = True
        if not progressed:
            break
    assert sorted(scored) == sorted(rollout_ids) and set(scored.values()) == {1}


def test_agreement_items_get_exactly_the_configured_annotators(store, users, rollout_ids):
    store.update_settings({"agreement_share": 1.0, "agreement_annotators": 2}, actor=users["admin"])
    people = annotators(store, 3)
    per_item = Counter()
    for p in people:
        for rid in score_all(store, p):
            per_item[rid] += 1
    assert set(per_item.values()) == {2} and len(per_item) == len(rollout_ids)
    # The third annotator only got what the first two had not doubled up on.
    progress = store.progress()
    assert progress["team"]["items_complete"] == len(rollout_ids)


def test_agreement_share_is_about_the_setting(store, users):
    seed_rollouts(store, per_task=250, prompts_per_task=5)
    targets = Counter(r["target"] for r in store.query("SELECT target FROM item_queue"))
    assert 0.15 < targets[2] / 1000 < 0.25 and targets[1] + targets[2] == 1000
    store.update_settings({"annotators_per_item": 3}, actor=users["admin"])
    assert {r["target"] for r in store.query("SELECT target FROM item_queue")} == {3}
    store.update_settings({"annotators_per_item": 1, "agreement_share": 0.5, "agreement_annotators": 4},
                          actor=users["admin"])
    targets = Counter(r["target"] for r in store.query("SELECT target FROM item_queue"))
    assert set(targets) == {1, 4} and 0.45 < targets[4] / 1000 < 0.55
    # The SQL re-targeting and the Python rule agree item by item.
    settings = store.get_settings()
    for row in store.query("SELECT shuffle, target FROM item_queue LIMIT 200"):
        assert assignment.target_for(row["shuffle"], settings) == row["target"]


def test_repeat_comes_back_unannounced(store, users, rollout_ids):
    store.update_settings({"repeat_share": 1.0, "repeat_gap": 3, "agreement_share": 0.0}, actor=users["admin"])
    ann = users["annotator"]
    first = store.next_item(ann)
    store.record_annotation(ann, first["rollout_id"], 4)
    served = []
    for _ in range(3):
        item = store.next_item(ann)
        served.append(item["rollout_id"])
        store.record_annotation(ann, item["rollout_id"], 2)
    repeat = store.next_item(ann)
    assert repeat == first  # same item, same blind fields, nothing saying "repeat"
    saved = store.record_annotation(ann, repeat["rollout_id"], 5)
    assert saved.round == 1 and not saved.updated
    rounds = store.query("SELECT round, score FROM annotations WHERE rollout_id = ? ORDER BY round",
                         [first["rollout_id"]])
    assert rounds == [{"round": 0, "score": 4}, {"round": 1, "score": 5}]
    # The repeat is not a second annotator: the item still counts one scorer.
    assert store.query("SELECT scored FROM item_queue WHERE rollout_id = ?", [first["rollout_id"]])[0]["scored"] == 1
    # Undo of the repeat removes only round 1.
    assert store.undo_last(ann)["rollout_id"] == first["rollout_id"]
    assert store.get_annotation(ann, first["rollout_id"])["round"] == 0


def test_repeat_share_zero_never_repeats(store, users, rollout_ids):
    store.update_settings({"repeat_share": 0.0}, actor=users["admin"])
    done = score_all(store, users["annotator"])
    assert len(done) == len(set(done)) == len(rollout_ids)


def test_expired_lease_frees_the_item(store, users, rollout_ids):
    store.update_settings({"agreement_share": 0.0}, actor=users["admin"])
    first, second = annotators(store, 2)
    held = store.next_item(first, task="push")["rollout_id"]
    assert store.next_item(second, task="push")["rollout_id"] != held
    store.skip(second, store.next_item(second, task="push")["rollout_id"])
    # Time passes beyond the lease (moved back rather than waited for).
    store.conn.execute("UPDATE assignments SET lease_until = 0 WHERE rollout_id = ?", [held])
    got = {store.next_item(second, task="push")["rollout_id"]}
    while (item := store.next_item(second, task="push")) is not None:
        store.record_annotation(second, item["rollout_id"], 3)
        got.add(item["rollout_id"])
    assert held in got
    # The first annotator's late save still lands (and is theirs).
    assert store.record_annotation(first, held, 2)
    assert sorted(a["annotator"] for a in store.list_annotations(rollout_id=held)) == ["ann0", "ann1"]


def test_disabling_a_user_frees_their_items(store, users, rollout_ids):
    store.update_settings({"agreement_share": 0.0}, actor=users["admin"])
    first, second = annotators(store, 2)
    held = store.next_item(first, task="sql_qa")["rollout_id"]
    store.disable_user("ann0", actor=users["admin"])
    assert held in score_all(store, second)


def test_tasks_are_balanced(store, users):
    seed_rollouts(store, per_task=30)
    seed_rollouts(store, per_task=0)
    store.add_rollouts([{"prompt_id": "push-0", "model_id": "other", "completion": f"extra {i}",
                         "reward_name": "push", "reward_total": 1.0, "reward_version": "v"} for i in range(40)])
    store.update_settings({"agreement_share": 0.0}, actor=users["admin"])
    ann = users["annotator"]
    tasks = []
    for _ in range(40):
        item = store.next_item(ann)
        tasks.append(item["task"])
        store.record_annotation(ann, item["rollout_id"], 3)
    counts = Counter(tasks)
    assert set(counts.values()) == {10}  # push has 70 items but gets no more than its share
    assert set(tasks[:4]) == {"extraction", "sql_qa", "insights", "push"}


def test_settings_are_admin_only_validated_and_recorded(store, users):
    assert store.get_settings() == assignment.defaults()
    with pytest.raises(PermissionDenied):
        store.update_settings({"annotators_per_item": 2}, actor=users["annotator"])
    with pytest.raises(PermissionDenied):
        store.update_settings({"annotators_per_item": 2}, actor=users["engineer"])
    for bad, message in [({"agreement_share": 1.5}, "between 0.0 and 1.0"), ({"annotators_per_item": "two"},
                         "whole number"), ({"annotators_per_item": 1.5}, "whole number"),
                         ({"color": "blue"}, "unknown setting 'color'"), ({"lease_minutes": float("inf")}, "number")]:
        with pytest.raises(InvalidInput, match=message):
            store.update_settings(bad, actor=users["admin"])
    new = store.update_settings({"annotators_per_item": "2", "repeat_share": 0.1}, actor=users["admin"])
    assert new["annotators_per_item"] == 2 and store.get_settings() == new
    history = store.settings_history()
    assert {(h["key"], h["old_value"], h["new_value"], h["changed_by"]) for h in history} == {
        ("annotators_per_item", 1, 2, "admin"), ("repeat_share", 0.05, 0.1, "admin")}
    assert store.query("SELECT updated_by FROM settings WHERE key = 'repeat_share'")[0]["updated_by"] == "admin"


def test_nothing_left_returns_none(store, users):
    assert store.next_item(users["annotator"]) is None
    seed_rollouts(store, per_task=1)
    assert len(score_all(store, users["annotator"])) == 4
    assert store.next_item(users["annotator"]) is None


def test_task_filter(store, users, rollout_ids):
    ann = users["annotator"]
    held = store.next_item(ann)
    other = "push" if held["task"] != "push" else "insights"
    assert store.next_item(ann, task=other)["task"] == other
    with pytest.raises(InvalidInput, match="unknown task 'poems'"):
        store.next_item(ann, task="poems")


def test_counters_match_a_recount_after_random_work(store, users):
    """The queue counters (code) and the progress counters (triggers) equal a fresh recount
    after a random mix of every action."""
    import random

    seed_rollouts(store, per_task=12)
    admin = users["admin"]
    people = annotators(store, 3) + [users["annotator"]]
    rng = random.Random(4)
    for _ in range(300):
        who = rng.choice(people)
        action = rng.random()
        item = store.next_item(who)
        if item is None:
            continue
        rid = item["rollout_id"]
        if action < 0.55:
            store.record_annotation(who, rid, rng.randint(1, 5), flag=rng.random() < 0.1, seconds=rng.uniform(1, 9))
        elif action < 0.65:
            store.flag_item(who, rid, "estranho")
        elif action < 0.75:
            store.skip(who, rid)
        elif action < 0.9:
            store.undo_last(who)
        elif action < 0.95:
            store.conn.execute("UPDATE assignments SET lease_until = 0 WHERE rollout_id = ?", [rid])
        else:
            store.update_settings({"agreement_share": rng.choice([0.0, 0.2, 1.0]),
                                   "repeat_share": rng.choice([0.0, 0.5])}, actor=admin)
    store.next_item(people[0])  # frees expired leases
    queue = {r["rollout_id"]: r for r in store.query("SELECT * FROM item_queue")}
    scored = Counter(r["rollout_id"] for r in store.query(
        "SELECT rollout_id FROM annotations WHERE round = 0 AND score IS NOT NULL"))
    claimed = Counter(r["rollout_id"] for r in store.query(
        "SELECT rollout_id FROM assignments WHERE round = 0 AND status IN ('leased', 'done')"))
    assert {rid: (q["scored"], q["claimed"]) for rid, q in queue.items()} == {
        rid: (scored[rid], claimed[rid]) for rid in queue}
    assert sum(scored.values()) > 20
    recount = {r["task"]: (r["items"], r["scored"], r["complete"]) for r in store.query(
        "SELECT task, count(*) AS items, sum(scored > 0) AS scored, sum(scored > 0 AND scored >= target) AS complete"
        " FROM item_queue GROUP BY task")}
    assert {r["task"]: (r["items"], r["scored"], r["complete"]) for r in store.query("SELECT * FROM task_counts")} \
        == recount
    mine = {(r["annotator_id"], r["task"]): (r["scored"], r["flagged"]) for r in store.query(
        "SELECT a.annotator_id, r.task, sum(a.score IS NOT NULL) AS scored, sum(a.flag_reward_wrong) AS flagged"
        " FROM annotations a JOIN rollouts r ON r.id = a.rollout_id GROUP BY a.annotator_id, r.task")}
    kept = {(r["annotator_id"], r["task"]): (r["scored"], r["flagged"])
            for r in store.query("SELECT * FROM annotator_counts WHERE scored > 0 OR flagged > 0")}
    assert kept == mine
