"""Store methods for comparisons: creation and resume by key, results, pairs, examples,
blind judgements and notes, with the role checks."""

from __future__ import annotations

import pytest

from data.store.errors import InvalidInput, NotFound, PermissionDenied
from data.store.roles import SYSTEM, User
from tests.fixtures_users import add_accounts

REVIEWER = User(id=7, username="rita", role="reviewer")
ANNOTATOR = User(id=8, username="ana", role="annotator")
ENGINEER = User(id=9, username="edu", role="engineer")


@pytest.fixture(autouse=True)
def _accounts(store):
    add_accounts(store, REVIEWER, ANNOTATOR, ENGINEER)


def make_comparison(store, *, samples=1, key="k1", sides=("tuned",)):
    prompts = [
        {"prompt_id": f"{task}-{i}", "task": task, "messages": [{"role": "user", "content": f"{task} {i}"}],
         "meta": {"rating": 3} if task == "extraction" else {}}
        for task in ("extraction", "push") for i in range(3)
    ]
    cid, created = store.create_comparison(
        SYSTEM, key=key, base_model="tiny", sides=[{"label": s, "adapter": f"/a/{s}"} for s in sides],
        eval_path="eval.jsonl", eval_sha256="abc", gen_params={"temperature": 0.1, "seed": 1},
        samples=samples, tasks=["extraction", "push"], prompts=prompts, reward_versions={"push": "v1"})
    return cid, created, prompts


def result(pid, side, reward, i=0, text=None):
    return {"prompt_id": pid, "side": side, "sample_index": i, "completion": text or f"{side} {pid} {i}",
            "reward_name": pid.split("-")[0], "reward_version": "v1", "reward_total": reward,
            "reward_components": {"c": reward}, "reward_notes": ["n"], "truncated": False}


def test_create_resume_progress_and_pairs(store):
    cid, created, prompts = make_comparison(store)
    assert created
    again, created2, _ = make_comparison(store)
    assert (again, created2) == (cid, False)
    c = store.get_comparison(cid)
    assert c["side_labels"] == ["tuned"] and c["gen_params"]["temperature"] == 0.1
    assert c["progress"] == {"expected": 12, "done": 0, "per_side": {"base": 0, "tuned": 0},
                             "expected_per_side": 6, "partial": True}
    rows = [result(p["prompt_id"], "base", 0.5) for p in prompts]
    rows += [result(p["prompt_id"], "tuned", r) for p, r in zip(prompts[:4], (0.9, 0.5, 0.1, 0.7), strict=True)]
    assert store.add_compare_results(cid, rows) == 10
    assert store.add_compare_results(cid, rows[:3]) == 0  # a resumed batch adds nothing twice
    assert store.comparison_progress(cid)["done"] == 10
    pairs = store.compare_pairs(cid, "tuned")
    assert [p["prompt_id"] for p in pairs] == ["extraction-0", "extraction-1", "extraction-2", "push-0"]
    assert pairs[0] == {"prompt_id": "extraction-0", "task": "extraction", "base": 0.5, "tuned": 0.9}
    got = store.compare_results(cid, "tuned")[0]
    assert got["reward_components"] == {"c": 0.9} and got["reward_notes"] == ["n"] and got["truncated"] is False
    with pytest.raises(NotFound, match="no side"):
        store.compare_pairs(cid, "seed-9")
    store.set_comparison_status(cid, "partial", message="interrupted", out_dir="/tmp/x")
    assert store.get_comparison(cid)["status"] == "partial"
    assert [c["id"] for c in store.list_comparisons()] == [cid]


def test_samples_average_and_incomplete_prompts_left_out(store):
    cid, _, prompts = make_comparison(store, samples=2)
    p0, p1 = prompts[0]["prompt_id"], prompts[1]["prompt_id"]
    store.add_compare_results(cid, [result(p0, "base", 0.2, 0), result(p0, "base", 0.4, 1),
                                    result(p0, "tuned", 1.0, 0), result(p0, "tuned", 0.6, 1),
                                    result(p1, "base", 0.2, 0), result(p1, "tuned", 0.2, 0)])
    pairs = store.compare_pairs(cid, "tuned")
    assert len(pairs) == 1 and pairs[0]["base"] == pytest.approx(0.3) and pairs[0]["tuned"] == pytest.approx(0.8)


def test_examples_filters_and_sort(store):
    cid, _, prompts = make_comparison(store)
    tuned = (0.9, 0.5, 0.1, 0.7, 0.55, 0.5)
    store.add_compare_results(cid, [result(p["prompt_id"], "base", 0.5) for p in prompts]
                              + [result(p["prompt_id"], "tuned", r) for p, r in zip(prompts, tuned, strict=True)])
    ex = store.compare_examples(cid, "tuned")
    assert [e["prompt_id"] for e in ex][:2] == ["extraction-0", "push-0"]
    assert ex[0]["delta"] == pytest.approx(0.4) and ex[0]["outcome"] == "improved"
    assert ex[0]["base_results"][0]["completion"] == "base extraction-0 0"
    assert ex[0]["messages"][0]["content"] == "extraction 0" and ex[0]["meta"] == {"rating": 3}
    asc = store.compare_examples(cid, "tuned", sort="delta_asc")
    assert asc[0]["prompt_id"] == "extraction-2"
    assert {e["prompt_id"] for e in store.compare_examples(cid, "tuned", outcome="unchanged")} == {
        "extraction-1", "push-2"}
    assert [e["prompt_id"] for e in store.compare_examples(cid, "tuned", tasks=["push"], outcome="improved")] == [
        "push-0", "push-1"]
    assert [e["prompt_id"] for e in store.compare_examples(cid, "tuned", min_abs_delta=0.3)] == [
        "extraction-0", "extraction-2"]
    assert store.count_compare_examples(cid, "tuned", min_abs_delta=0.3) == 2
    assert len(store.compare_examples(cid, "tuned", limit=2, offset=1)) == 2
    with pytest.raises(InvalidInput, match="outcome"):
        store.compare_examples(cid, "tuned", outcome="better")


def test_blind_judgements_store_the_side_shown(store):
    cid, _, prompts = make_comparison(store)
    pid = prompts[0]["prompt_id"]
    store.add_compare_results(cid, [result(pid, "base", 0.5), result(pid, "tuned", 0.9)])
    jid = store.record_blind_judgement(REVIEWER, cid, prompt_id=pid, tuned_side="tuned", sample_index=0,
                                       left_side="tuned", choice="left", seconds=3.5)
    j = store.blind_judgements(cid)[0]
    assert (j["left_side"], j["right_side"], j["choice"], j["winner"], j["task"]) == (
        "tuned", "base", "left", "tuned", "extraction")
    # The same reviewer changing their mind updates the row.
    again = store.record_blind_judgement(REVIEWER, cid, prompt_id=pid, tuned_side="tuned", sample_index=0,
                                         left_side="tuned", choice="right")
    assert again == jid and store.blind_judgements(cid)[0]["winner"] == "base"
    with pytest.raises(PermissionDenied):
        store.record_blind_judgement(ANNOTATOR, cid, prompt_id=pid, tuned_side="tuned", sample_index=0,
                                     left_side="base", choice="tie")
    with pytest.raises(InvalidInput, match="choice"):
        store.record_blind_judgement(REVIEWER, cid, prompt_id=pid, tuned_side="tuned", sample_index=0,
                                     left_side="base", choice="both")
    with pytest.raises(NotFound, match="no base/tuned pair"):
        store.record_blind_judgement(REVIEWER, cid, prompt_id=prompts[1]["prompt_id"], tuned_side="tuned",
                                     sample_index=0, left_side="base", choice="tie")


def test_notes_and_role_checks(store):
    cid, _, prompts = make_comparison(store)
    nid = store.add_review_note(REVIEWER, cid, prompts[0]["prompt_id"], "  tuned invents a field  ", side="tuned")
    notes = store.review_notes(cid)
    assert notes[0]["id"] == nid and notes[0]["note"] == "tuned invents a field" and notes[0]["author"] == "rita"
    store.add_review_note(ENGINEER, cid, prompts[1]["prompt_id"], "ok")
    assert len(store.review_notes(cid, prompts[1]["prompt_id"])) == 1
    with pytest.raises(PermissionDenied):
        store.add_review_note(ANNOTATOR, cid, prompts[0]["prompt_id"], "x")
    with pytest.raises(InvalidInput, match="empty"):
        store.add_review_note(REVIEWER, cid, prompts[0]["prompt_id"], "   ")
    with pytest.raises(NotFound, match="no prompt"):
        store.add_review_note(REVIEWER, cid, "nope", "x")
    with pytest.raises(InvalidInput, match="side"):
        store.add_review_note(REVIEWER, cid, prompts[0]["prompt_id"], "x", side="other")
    with pytest.raises(PermissionDenied):
        store.create_comparison(REVIEWER, key="k2", base_model="m", sides=[{"label": "t"}], eval_path=None,
                                eval_sha256="x", gen_params={}, samples=1, tasks=["push"],
                                prompts=[{"prompt_id": "p", "task": "push", "messages": []}], reward_versions={})
    with pytest.raises(InvalidInput, match="labels"):
        make_comparison(store, key="k3", sides=("base",))
    with pytest.raises(NotFound):
        store.get_comparison(999)


def test_file_store_round_trip(file_store):
    cid, _, prompts = make_comparison(file_store)
    file_store.add_compare_results(cid, [result(prompts[0]["prompt_id"], "base", 0.25)])
    assert file_store.comparison_progress(cid)["per_side"]["base"] == 1
