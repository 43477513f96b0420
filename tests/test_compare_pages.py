"""AppTest smoke tests of the compare and blind review pages, for every role."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from audit_app.ui.context import SESSION_USER
from data.store.roles import ROLES

PAGES = Path(__file__).resolve().parent.parent / "audit_app" / "pages"
TASKS = ["extraction", "sql_qa", "insights", "push"]


def seed_comparison(store, *, sides=("run1/best_checkpoint",)) -> int:
    """A finished comparison: 2 prompts per task, one identical push pair, a hostile completion."""
    from data.store.roles import SYSTEM

    prompts = [{"prompt_id": f"{t}-{i}", "task": t,
                "messages": [{"role": "user", "content": f"Pergunta {i} de {t}"}]} for t in TASKS for i in range(2)]
    cid, _ = store.create_comparison(
        SYSTEM, key=f"pages-{len(sides)}", base_model="tiny-base",
        sides=[{"label": s, "adapter": f"/r/{s}"} for s in sides], eval_path="/e.jsonl", eval_sha256="0" * 64,
        gen_params={"temperature": 0.1, "seed": 42}, samples=1, tasks=TASKS, prompts=prompts,
        reward_versions={t: "v" for t in TASKS})
    texts = {
        "extraction": ('{"sentimento": "negativo", "nota": 2}', '{"sentimento": "positivo", "nota": 2}'),
        "sql_qa": ("SELECT 1", "SELECT COUNT(*) FROM orders"),
        "insights": ("Vendas caíram.", "Vendas caíram <script>alert(1)</script> em SP."),
        "push": ("Volte já!", "Volte já!"),
    }
    rows = []
    for p in prompts:
        base_text, tuned_text = texts[p["task"]]
        i = int(p["prompt_id"][-1])
        rows.append({"prompt_id": p["prompt_id"], "side": "base", "completion": base_text, "reward_name": p["task"],
                     "reward_version": "v", "reward_total": 0.4, "reward_components": {"format": 0.4}})
        for s in sides:
            rows.append({"prompt_id": p["prompt_id"], "side": s, "completion": tuned_text,
                         "reward_name": p["task"], "reward_version": "v",
                         "reward_total": 0.4 if p["task"] == "push" else 0.4 + 0.2 * (i + 1),
                         "reward_components": {"format": 0.5}, "reward_notes": ["ok"]})
    store.add_compare_results(cid, rows)
    store.set_comparison_status(cid, "complete")
    return cid


@pytest.fixture
def app_store(tmp_path, monkeypatch):
    from data.store import Store

    path = tmp_path / "store.db"
    monkeypatch.setenv("TUCANO_AUDIT_STORE", str(path))
    monkeypatch.setenv("TUCANO_AUDIT_HOME", str(tmp_path / "home"))
    store = Store(path)
    users = {role: store.add_user(f"{role}1", role, "pw-long-enough-1") for role in ROLES}
    yield store, users
    store.close()


def run_page(page: str, user) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=60)
    at.session_state[SESSION_USER] = user
    return at.run()


def all_text(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.markdown, *at.caption, *at.error, *at.warning, *at.info,
                               *at.success, *at.subheader)]
    parts += [str(e.value) for e in at.code] + [str(e.value) for e in at.text]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("role", ROLES)
def test_compare_page_per_role(app_store, role):
    store, users = app_store
    seed_comparison(store)
    at = run_page("compare.py", users[role])
    assert not at.exception
    text = all_text(at)
    if role == "annotator":
        assert at.error and "needs role" in at.error[0].value and "Per task" not in text
        return
    assert "| Task | Base | Tuned | Δ | Δ % | Significant? |" in text
    assert "Side by side" in text and "`extraction-1`" in text
    # The hostile completion is escaped inside the diff HTML, never raw.
    html = "\n".join(str(h.proto.body) for h in at.get("html"))
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    # Engineers (and admins) may start a comparison; reviewers may not see the form.
    has_form = any(e.label == "Run a comparison" for e in at.expander)
    assert has_form == (role in ("engineer", "admin"))


def test_compare_filters_notes_and_seeds(app_store):
    store, users = app_store
    cid = seed_comparison(store, sides=("s42/best", "s123/best"))
    at = run_page("compare.py", users["reviewer"])
    assert "Across seeds" in [e.label for e in at.expander]
    at.selectbox(key="compare_outcome").set_value("unchanged").run()
    text = all_text(at)
    assert "`push-0`" in text and "`extraction-1`" not in text and "Identical completions." in text
    at.selectbox(key="compare_outcome").set_value("improved")
    at.selectbox(key="compare_sort").set_value("delta_asc").run()
    headers = [m.value for m in at.markdown if m.value.startswith("**`")]
    assert [h.split("`")[1] for h in headers] == ["extraction-0", "sql_qa-0", "insights-0",
                                                  "extraction-1", "sql_qa-1", "insights-1"]
    at.text_input(key="compare_note_extraction-0").input("tuned flips the sentiment")
    form_button = next(b for b in at.button if b.label == "Save note" and "extraction-0" in b.form_id)
    form_button.click().run()
    assert not at.exception
    notes = store.review_notes(cid)
    assert [(n["prompt_id"], n["note"], n["author"]) for n in notes] == [
        ("extraction-0", "tuned flips the sentiment", "reviewer1")]


@pytest.mark.parametrize("role", ROLES)
def test_blind_review_page_per_role(app_store, role):
    store, users = app_store
    cid = seed_comparison(store)
    at = run_page("blind_review.py", users[role])
    assert not at.exception
    if role in ("annotator", "engineer"):
        assert at.error and "needs role" in at.error[0].value
        return
    text = all_text(at)
    assert "run1" not in text and "tiny-base" not in text  # no model names anywhere
    assert "2 identical pairs not shown" in at.get("progress")[0].proto.text
    at.button(key=f"blind_choice_{at.session_state['blind_shown']}_left").click().run()
    assert not at.exception
    judgements = store.blind_judgements(cid)
    assert len(judgements) == 1 and judgements[0]["choice"] == "left"
    assert judgements[0]["left_side"] in ("base", "run1/best_checkpoint")
    assert judgements[0]["reviewer"] == f"{role}1"


def test_blind_review_runs_out_of_pairs(app_store):
    store, users = app_store
    seed_comparison(store)
    at = run_page("blind_review.py", users["reviewer"])
    for _ in range(6):
        at.button(key=f"blind_choice_{at.session_state['blind_shown']}_tie").click().run()
    assert not at.exception
    assert any("judged every pair" in s.value for s in at.success)
    assert len(store.blind_judgements(1)) == 6
    table = at.dataframe[0].value
    assert list(table["task"]) == [*TASKS, "overall"] and int(table["ties"].iloc[-1]) == 6


def test_pages_without_comparisons(app_store):
    store, users = app_store
    assert "No comparison yet" in all_text(run_page("compare.py", users["reviewer"]))
    assert "No comparison to review yet" in all_text(run_page("blind_review.py", users["reviewer"]))


def test_empty_states_name_the_next_step_not_a_command(app_store):
    store, users = app_store
    reviewer = all_text(run_page("compare.py", users["reviewer"]))
    assert "Engineers start one on this page" in reviewer and "tucano-audit" not in reviewer
    blind = all_text(run_page("blind_review.py", users["reviewer"]))
    assert "Engineers run one on Base vs tuned" in blind and "tucano-audit" not in blind
    engineer = all_text(run_page("compare.py", users["engineer"]))
    assert "a comparison needs the checkpoint of a finished training run" in engineer
    assert "tucano-audit" not in engineer
