"""Annotations: scores with history, bad scores, flags, skips, undo, progress."""

from __future__ import annotations

import pytest

from data.store.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from data.store.roles import SYSTEM
from tests.fixtures_users import seed_rollouts


def test_score_then_rescore_keeps_history(store, users, rollout_ids):
    ann = users["annotator"]
    rid = rollout_ids[0]
    first = store.record_annotation(ann, rid, 4, seconds=12.5)
    assert not first.updated and first.round == 0
    second = store.record_annotation(ann, rid, "2", comment="errei")
    assert int(second) == int(first) and second.updated and second.previous_score == 4
    row = store.get_annotation(ann, rid)
    assert row["score"] == 2 and row["comment"] == "errei" and row["seconds"] == 12.5
    history = store.annotation_history(first)
    assert [h["score"] for h in history] == [4, 2]
    assert {h["changed_by"] for h in history} == {"annotator"}
    assert store.query("SELECT count(*) AS n FROM annotations")[0]["n"] == 1


@pytest.mark.parametrize("bad, message", [
    ("", "score is empty"), ("   ", "score is empty"), ("abc", "got 'abc'"), ("3.5", "got 3.5"),
    (0, "from 1 to 5; got 0"), (6, "got 6"), (2.5, "got 2.5"), (True, "got True"), ([3], "got [3]"),
    (float("nan"), "got nan"), (None, "score is empty"),
])
def test_bad_scores_are_refused_and_store_unchanged(store, users, rollout_ids, bad, message):
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        store.record_annotation(users["annotator"], rollout_ids[0], bad)
    assert store.query("SELECT count(*) AS n FROM annotations")[0]["n"] == 0
    assert store.query("SELECT count(*) AS n FROM annotation_history")[0]["n"] == 0


def test_score_for_missing_rollout(store, users, rollout_ids):
    with pytest.raises(NotFound, match="rollout 99999 does not exist"):
        store.record_annotation(users["annotator"], 99999, 3)
    with pytest.raises(InvalidInput, match="rollout id must be a whole number"):
        store.record_annotation(users["annotator"], "x1", 3)


def test_bad_comment_and_seconds(store, users, rollout_ids):
    with pytest.raises(InvalidInput, match="comment is too long"):
        store.record_annotation(users["annotator"], rollout_ids[0], 3, comment="x" * 6000)
    with pytest.raises(InvalidInput, match="seconds"):
        store.record_annotation(users["annotator"], rollout_ids[0], 3, seconds=-1)
    saved = store.record_annotation(users["annotator"], rollout_ids[0], 3, seconds=10 ** 9)
    assert store.get_annotation(users["annotator"], rollout_ids[0])["seconds"] == 24 * 3600 and saved


def test_roles_for_scoring(store, users, rollout_ids):
    for role in ("engineer", "reviewer"):
        with pytest.raises(PermissionDenied, match="scoring needs role annotator"):
            store.record_annotation(users[role], rollout_ids[0], 3)
        with pytest.raises(PermissionDenied):
            store.next_item(users[role])
    with pytest.raises(PermissionDenied, match="user account"):
        store.record_annotation(SYSTEM, rollout_ids[0], 3)
    assert store.record_annotation(users["admin"], rollout_ids[0], 3)  # admin may do everything
    ann = store.list_annotations()
    assert [(a["annotator"], a["score"]) for a in ann] == [("admin", 3)]


def test_flag_with_comment_with_and_without_score(store, users, rollout_ids):
    ann = users["annotator"]
    store.record_annotation(ann, rollout_ids[0], 5, flag=True, comment="  reward deu 0 mas está certo ")
    row = store.get_annotation(ann, rollout_ids[0])
    assert row["flag_reward_wrong"] == 1 and row["comment"] == "reward deu 0 mas está certo"
    # Flag after scoring keeps the score.
    store.record_annotation(ann, rollout_ids[1], 2)
    store.flag_item(ann, rollout_ids[1], "json válido, nota baixa demais")
    row = store.get_annotation(ann, rollout_ids[1])
    assert (row["score"], row["flag_reward_wrong"]) == (2, 1)
    # A flag alone, with no score.
    store.flag_item(ann, rollout_ids[2], "não sei avaliar; a reward parece errada")
    row = store.get_annotation(ann, rollout_ids[2])
    assert row["score"] is None and row["flag_reward_wrong"] == 1
    mine = store.progress(ann)["mine"]
    assert mine["scored"] == 2 and mine["flagged"] == 3


def test_undo_removes_first_score_and_serves_item_again(store, users, rollout_ids):
    ann = users["annotator"]
    item = store.next_item(ann)
    store.record_annotation(ann, item["rollout_id"], 4)
    following = store.next_item(ann)
    assert following["rollout_id"] != item["rollout_id"]
    undone = store.undo_last(ann)
    assert undone == {"rollout_id": item["rollout_id"], "annotation_id": undone["annotation_id"],
                      "removed": True, "score": None}
    assert store.get_annotation(ann, item["rollout_id"]) is None
    assert store.query("SELECT count(*) AS n FROM annotation_history")[0]["n"] == 0
    # The undone item comes back first, then the one that was already on screen.
    assert store.next_item(ann)["rollout_id"] == item["rollout_id"]
    store.record_annotation(ann, item["rollout_id"], 3)
    assert store.next_item(ann)["rollout_id"] == following["rollout_id"]
    queue = store.query("SELECT claimed, scored FROM item_queue WHERE rollout_id = ?", [item["rollout_id"]])[0]
    assert queue == {"claimed": 1, "scored": 1}


def test_undo_of_an_update_restores_previous_version(store, users, rollout_ids):
    ann = users["annotator"]
    store.record_annotation(ann, rollout_ids[0], 4)
    store.record_annotation(ann, rollout_ids[0], 1, flag=True, comment="mudei")
    undone = store.undo_last(ann)
    assert undone["removed"] is False and undone["score"] == 4
    row = store.get_annotation(ann, rollout_ids[0])
    assert (row["score"], row["flag_reward_wrong"], row["comment"]) == (4, 0, None)
    assert store.undo_last(ann)["removed"] is True
    assert store.undo_last(ann) is None


def test_undo_only_touches_my_own_scores(store, users, rollout_ids):
    ann, admin = users["annotator"], users["admin"]
    store.record_annotation(ann, rollout_ids[0], 4)
    store.record_annotation(admin, rollout_ids[1], 2)
    assert store.undo_last(ann)["rollout_id"] == rollout_ids[0]
    assert store.get_annotation(admin, rollout_ids[1])["score"] == 2


def test_skip_frees_item_for_others_not_me(store, users, rollout_ids):
    ann, admin = users["annotator"], users["admin"]
    store.update_settings({"annotators_per_item": 1, "agreement_share": 0.0}, actor=admin)
    item = store.next_item(ann, task="push")
    store.skip(ann, item["rollout_id"], reason="texto ilegível")
    seen = set()
    while (nxt := store.next_item(ann, task="push")) is not None:
        seen.add(nxt["rollout_id"])
        store.record_annotation(ann, nxt["rollout_id"], 3)
    assert item["rollout_id"] not in seen and len(seen) == 4
    assert store.next_item(admin, task="push")["rollout_id"] == item["rollout_id"]
    assert store.progress(ann)["mine"]["skipped"] == 1
    with pytest.raises(Conflict, match="already scored"):
        store.skip(ann, next(iter(seen)))


def test_two_browsers_of_one_annotator(store, users, rollout_ids):
    """Both tabs show the same item; the second save updates it, with history and a flag
    the page can show ("you had already scored this item")."""
    ann = users["annotator"]
    tab_a, tab_b = store.next_item(ann), store.next_item(ann)
    assert tab_a == tab_b
    store.record_annotation(ann, tab_a["rollout_id"], 5)
    second = store.record_annotation(ann, tab_b["rollout_id"], 3)
    assert second.updated and second.previous_score == 5
    assert store.query("SELECT count(*) AS n FROM annotations")[0]["n"] == 1
    queue = store.query("SELECT claimed, scored FROM item_queue WHERE rollout_id = ?", [tab_a["rollout_id"]])[0]
    assert queue == {"claimed": 1, "scored": 1}


def test_one_megabyte_completion(store, users):
    seed_rollouts(store, per_task=1)
    big = "<script>alert(1)</script> " + "á" * 1_000_000
    [rid] = store.add_rollouts([{"prompt_id": "push-0", "model_id": "m", "completion": big, "reward_name": "push",
                                 "reward_total": 0.0, "reward_version": "v"}])
    ann = users["annotator"]
    served = None
    while (item := store.next_item(ann, task="push")) is not None:
        if item["rollout_id"] == rid:
            served = item
        store.record_annotation(ann, item["rollout_id"], 1)
    assert served is not None and served["completion"] == big
    assert store.get_annotation(ann, rid)["score"] == 1


def test_progress_counts(store, users, rollout_ids):
    ann = users["annotator"]
    store.update_settings({"agreement_share": 0.0}, actor=users["admin"])
    config = store.gate_thresholds()["config"]
    store.set_gate_thresholds(users["admin"], {**config, "defaults": {**config["defaults"], "min_items": 3}})
    for seconds in (10, 20, 60):
        item = store.next_item(ann)
        store.record_annotation(ann, item["rollout_id"], 3, seconds=seconds)
    progress = store.progress(ann)
    assert progress["median_seconds"] == 20
    assert progress["mine"]["scored"] == 3 and sum(progress["mine"]["by_task"].values()) == 3
    assert progress["team"] == {"annotations": 3, "annotators": 1, "items_scored": 3, "items_complete": 3,
                                "items_total": 20}
    per_task = progress["per_task"]
    assert sorted(t["scored"] for t in per_task.values()) == [0, 1, 1, 1]  # balanced across tasks
    assert all(t["items"] == 5 and t["minimum"] == t["goal"] == 3 and not t["reached"] and t["short_of_rollouts"] == 0
               for t in per_task.values())
    team_only = store.progress()
    assert team_only["mine"] is None and team_only["team"] == progress["team"]
