"""AppTest smoke tests of the Audit & gate page for every role that may see it.

The real page script runs headless against a file store named by TUCANO_AUDIT_STORE,
as `tucano-audit app` wires it; annotators are refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from audit_app.ui.context import SESSION_USER
from data.store import Store
from rewards import versions
from tests.test_audit_support import add_user, seed_store, synthetic_items

PAGE = Path(__file__).resolve().parent.parent / "audit_app" / "pages" / "audit.py"


@pytest.fixture
def page_store(tmp_path, monkeypatch):
    path = tmp_path / "store.db"
    monkeypatch.setenv("TUCANO_AUDIT_STORE", str(path))
    now = versions.current_versions()
    store = Store(path)
    items = synthetic_items("push", 120, seed=1)
    items[2]["annotations"][0].update(flag=True, comment="<b>longo</b> demais")
    seed_store(store, items, reward_version=now["push"])
    people = {role: add_user(store, f"{role}1", role) for role in ("annotator", "engineer", "reviewer", "admin")}
    yield store, people
    store.close()


def open_page(user) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state[SESSION_USER] = user
    return at.run()


def open_tab(at: AppTest, name: str) -> AppTest:
    """Switch the page's tabs as a click in the browser does (each tab is drawn only while open)."""
    at.session_state["audit_view"] = name
    return at.run()


def all_text(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.title, *at.markdown, *at.caption, *at.error, *at.warning,
                                            *at.info, *at.success))


def test_annotator_is_refused(page_store):
    _, people = page_store
    at = open_page(people["annotator"])
    assert not at.exception
    assert "needs role engineer, reviewer" in at.error[0].value
    assert not at.title


@pytest.mark.parametrize("role", ["engineer", "reviewer", "admin"])
def test_page_shows_the_audit_and_records_a_decision(page_store, role):
    store, people = page_store
    at = open_page(people[role])
    assert not at.exception
    text = all_text(at)
    assert "No gate decision for the current reward versions" in text
    assert "PASS  push: rho 0.8" in text
    assert "FAIL  sql_qa: no rollouts for this task; sample some first" in text
    assert not at.get("plotly_chart") and not at.dataframe  # other tabs: not drawn while the gate's is open
    assert len(open_tab(at, "Charts").get("plotly_chart")) == 3
    # Flagged item first in the queue; opening it shows the rollout, safely.
    open_tab(at, "Disagreement queue")
    at.selectbox(key="audit_queue_task").set_value("push").run()
    pick = at.selectbox(key="audit_queue_pick")
    assert pick.options[1] == "rollout 3"
    at = pick.set_value(3).run()
    assert not at.exception
    assert any(e.label.startswith("Rollout 3 · push") for e in at.expander)
    assert "completion 2" in [c.value for c in at.code]
    # Record a decision: it is stored under this user and shown as the one in force.
    at = at.button(key="audit_record").click().run()
    assert not at.exception
    (row,) = store.gate_decisions()
    assert row["computed_by"] == f"{role}1" and row["passed"] is False
    assert f"Recorded gate decision #{row['id']}: FAIL" in all_text(at)
    assert f"Gate decision #{row['id']} ({role}1" in all_text(at)
    # Threshold editing is offered to admins only.
    at = open_tab(at, "Thresholds & history")
    assert any(b.label == "Save thresholds" for b in at.button) == (role == "admin")


def test_admin_edits_thresholds_and_the_audit_follows(page_store):
    store, people = page_store
    at = open_page(people["admin"])
    assert not any(b.label == "Save thresholds" for b in at.button)  # another tab: not drawn
    at = open_tab(at, "Thresholds & history")
    at.number_input(key="audit_th_min_items").set_value(150)
    at.text_input(key="audit_th_note").input("more data first")
    at = [b for b in at.button if b.label == "Save thresholds"][0].click().run()
    assert not at.exception
    assert store.gate_thresholds()["revision"] == 1
    assert store.gate_threshold_history()[0]["changed_by"] == "admin1"
    at = open_tab(at, "Gate")
    assert "FAIL  push: 120 scored items < 150 needed" in all_text(at)


def test_page_with_an_empty_store_fails_closed(tmp_path, monkeypatch):
    monkeypatch.setenv("TUCANO_AUDIT_STORE", str(tmp_path / "empty.db"))
    with Store(tmp_path / "empty.db") as store:
        user = add_user(store, "eng", "engineer")
    at = open_page(user)
    assert not at.exception
    text = all_text(at)
    for task in ("extraction", "sql_qa", "insights", "push"):
        assert f"FAIL  {task}: no rollouts for this task" in text
    assert "No scored extraction items yet." in all_text(open_tab(at, "Disagreement queue"))
    assert "No exploit family could be built" in all_text(open_tab(at, "Exploit check"))


def exploit_table(at: AppTest):
    (table,) = [d.value for d in at.dataframe if "family" in d.value.columns]
    return table


def test_exploit_check_shows_families_scores_and_examples(page_store):
    store, people = page_store
    at = open_page(people["engineer"])
    assert not at.exception
    assert not at.dataframe  # the exploit check is a tab of its own
    at = open_tab(at, "Exploit check")
    table = exploit_table(at)
    push = table[table["task"] == "push"]
    assert set(push["family"]) >= {"constant_template", "placeholders", "off_brief", "shouting"}
    assert (push["result"] == "ok").all() and (push["median"] < push["bar"]).all()
    (examples,) = [e for e in at.expander if e.label.startswith("Exploit examples, push")]
    shown = [c.value for c in examples.code]
    assert len(shown) == len(push) and all(shown)  # one example per family, as text (st.code)


def test_a_reward_a_constant_answer_games_fails_on_the_page(tmp_path, monkeypatch):
    """Push prompts without a brief: the grounded push reward cannot check fidelity, so the
    constant template earns what the pushes people scored 5 earn."""
    path = tmp_path / "store.db"
    monkeypatch.setenv("TUCANO_AUDIT_STORE", str(path))
    with Store(path) as store:
        items = synthetic_items("push", 120, seed=1)
        seed_store(store, items, reward_version=versions.current_versions()["push"],
                   prompt_texts={it["prompt_id"]: "Escreva um push curto." for it in items})
        user = add_user(store, "eng", "engineer")
    at = open_page(user)
    assert not at.exception
    text = all_text(at)
    assert "FAIL  push: exploit family pays: constant_template median 0.9" in text
    at = open_tab(at, "Exploit check")
    table = exploit_table(at)
    assert table.iloc[0]["family"] == "constant_template" and table.iloc[0]["result"] == "FAIL"
    (examples,) = [e for e in at.expander if e.label.startswith("Exploit examples, push")]
    assert any("Aproveite as ofertas especiais da semana" in c.value for c in examples.code)
