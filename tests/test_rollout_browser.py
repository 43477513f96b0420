"""The rollout browser (engineers) and the per-annotator figures (admins): store queries,
the leave-one-out agreement, and both pages run headless for every role."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from audit_app.ui.context import SESSION_USER
from audit_app.ui.team import annotator_figures
from data.store.browse import BASE_CHECKPOINT, RolloutFilter
from data.store.errors import InvalidInput, PermissionDenied
from data.store.roles import ROLES, SYSTEM

PAGES = Path(__file__).resolve().parent.parent / "audit_app" / "pages"


def seed(store) -> dict[str, int]:
    """Six push rollouts: two models/checkpoints, rewards 0.0-1.0, scored by three people
    (ana and bia agree, caio contradicts them), one flagged; returns rollout ids by name."""
    store.add_prompts([{"prompt_id": f"push-{i}", "task": "push", "prompt": [{"role": "user", "content": f"Push {i}"}]}
                       for i in range(6)])
    ids = store.add_rollouts([{
        "prompt_id": f"push-{i}", "model_id": "tiny", "checkpoint_id": None if i < 4 else "run1:50",
        "completion": f"Volte {i}!", "reward_name": "push", "reward_total": i / 5, "reward_version": "v"}
        for i in range(6)])
    people = {name: store.add_user(name, "annotator", f"{name}-senha-123") for name in ("ana", "bia", "caio")}
    for i, rid in enumerate(ids[:5]):
        good = 1 + i % 5
        store.record_annotation(people["ana"], rid, good, seconds=10 + i)
        store.record_annotation(people["bia"], rid, good, seconds=20 + i, flag=i == 0, comment="reward alto" if i == 0 else None)
        store.record_annotation(people["caio"], rid, 6 - good, seconds=2)
    store.skip(people["caio"], ids[5])
    return {f"r{i}": rid for i, rid in enumerate(ids)}


def test_filters_counts_and_sorting(store):
    ids = seed(store)

    def browse(**kw):
        return [r["id"] for r in store.browse_rollouts(SYSTEM, RolloutFilter(**kw), sort="reward_low")]

    assert browse() == [ids[f"r{i}"] for i in range(6)]
    assert browse(reward_min=0.5) == [ids["r3"], ids["r4"], ids["r5"]]
    assert browse(checkpoint_id="run1:50") == [ids["r4"], ids["r5"]]
    assert browse(checkpoint_id=BASE_CHECKPOINT, model_id="tiny") == [ids[f"r{i}"] for i in range(4)]
    assert browse(human="unscored") == [ids["r5"]]
    assert browse(human=(1.0, 2.5)) == [ids["r0"]]  # scores 1, 1, 5: mean 2.33
    assert browse(flagged=True) == [ids["r0"]] and len(browse(flagged=False)) == 5
    assert store.count_browse(SYSTEM, RolloutFilter(human="scored")) == 5
    newest = store.browse_rollouts(SYSTEM, sort="newest", limit=2, offset=1)
    assert [r["id"] for r in newest] == [ids["r4"], ids["r3"]]
    row = store.browse_rollouts(SYSTEM, RolloutFilter(flagged=True))[0]
    assert (row["scores"], row["flags"], row["min_score"], row["max_score"]) == (3, 1, 1, 5)
    assert store.rollout_facets(SYSTEM) == [{"model_id": "tiny", "checkpoint_id": "", "rollouts": 4},
                                            {"model_id": "tiny", "checkpoint_id": "run1:50", "rollouts": 2}]


@pytest.mark.parametrize("kwargs,match", [({"task": "chat"}, "unknown task"), ({"reward_min": 0.8, "reward_max": 0.2},
                                          "reward range"), ({"human": (0, 9)}, "human score range"),
                                         ({"human": "maybe"}, "human must be")])
def test_bad_filters_name_what_is_wrong(store, kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        store.browse_rollouts(SYSTEM, RolloutFilter(**kwargs))


def test_only_engineers_browse_and_only_admins_read_annotator_figures(store, users):
    seed(store)
    for role in ("annotator", "reviewer"):
        with pytest.raises(PermissionDenied):
            store.browse_rollouts(users[role])
    assert store.browse_rollouts(users["engineer"])
    with pytest.raises(PermissionDenied):
        store.annotator_activity(users["engineer"])
    assert store.annotator_activity(users["admin"])


def test_leave_one_out_agreement_points_at_the_contrarian(store):
    seed(store)
    everyone, figures = annotator_figures(store, SYSTEM)
    by = {f.username: f for f in figures}
    assert set(by) == {"ana", "bia", "caio"}
    assert (by["ana"].scores, by["ana"].median_seconds, by["ana"].flags) == (5, 12, 0)
    assert (by["bia"].flags, by["caio"].skipped, by["caio"].shared_items) == (1, 1, 5)
    # Without caio, ana and bia agree perfectly; leaving out either of them leaves a pair in disagreement.
    assert by["caio"].alpha_without == pytest.approx(1.0)
    assert by["caio"].effect < 0 < by["ana"].effect and by["ana"].effect == pytest.approx(by["bia"].effect)
    assert everyone < 1.0 and not math.isnan(everyone)


def run(page: str, user) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=60)
    at.session_state[SESSION_USER] = user
    return at.run()


@pytest.fixture
def page_store(tmp_path, monkeypatch):
    from data.store import Store

    monkeypatch.setenv("TUCANO_AUDIT_STORE", str(tmp_path / "store.db"))
    monkeypatch.setenv("TUCANO_AUDIT_HOME", str(tmp_path / "home"))
    store = Store(tmp_path / "store.db")
    users = {role: store.add_user(f"{role}1", role, "pw-long-enough-1") for role in ROLES}
    yield store, users
    store.close()


@pytest.mark.parametrize("role", ROLES)
def test_rollouts_page_per_role(page_store, role):
    store, users = page_store
    ids = seed(store)
    at = run("rollouts.py", users[role])
    assert not at.exception
    if role in ("annotator", "reviewer"):
        assert "needs role engineer" in at.error[0].value and not at.dataframe
        return
    assert "6 rollouts" in at.number_input(key="rollouts_page").label
    at.selectbox(key="rollouts_flagged").select(True).run()
    assert "1 rollouts" in at.number_input(key="rollouts_page").label
    assert at.selectbox(key="rollouts_open").value == ids["r0"]
    scores = at.table[-1].value
    assert sorted(scores["annotator"]) == ["ana", "bia", "caio"] and "reward alto" in list(scores["comment"])
    assert any("Reward 0.000" in m.value for m in at.markdown)


def test_empty_pages_say_what_to_do_next(page_store):
    store, users = page_store
    at = run("rollouts.py", users["engineer"])
    assert "No rollouts yet" in at.info[0].value and not at.exception
    at = run("annotators.py", users["admin"])
    assert "Nobody has scored an item yet" in at.info[0].value and not at.exception


def test_annotators_page(page_store):
    store, users = page_store
    seed(store)
    at = run("annotators.py", users["engineer"])
    assert "needs role admin" in at.error[0].value
    at = run("annotators.py", users["admin"])
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["annotator"]) == ["ana", "bia", "caio"]
    assert table.set_index("annotator").loc["caio", "alpha without them"] == "1.00"
    assert "None" not in table.to_string() and "nan" not in table.to_string()
