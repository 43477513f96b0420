"""AppTest smoke tests of the log-in, log-out, annotate and admin pages, for every role.

Each test runs the real page script headless (streamlit.testing.v1.AppTest) against a
file store named by TUCANO_AUDIT_STORE, exactly as `tucano-audit app` wires it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from audit_app.ui.context import SESSION_USER
from data.store.roles import ROLES
from rewards.types import TASKS

APP = Path(__file__).resolve().parent.parent / "audit_app"
PASSWORD = "correct-horse-9"


@pytest.fixture(scope="session")
def app_store_template(tmp_path_factory) -> Path:
    """A closed store file with the users below (scrypt is slow on purpose: hash once)."""
    from data.store import Store

    path = tmp_path_factory.mktemp("app-template") / "store.db"
    with Store(path) as store:
        for role in ROLES:
            store.add_user(f"{role}1", role, PASSWORD, email=f"{role}1@example.com")
        store.add_user("gone", "annotator", PASSWORD)
        store.disable_user("gone", actor=store.get_user("admin1"))
    return path


@pytest.fixture
def app_store(app_store_template, tmp_path, monkeypatch):
    """A file store (a fresh copy per test) with one active user per role (password PASSWORD)
    and one disabled annotator, named by TUCANO_AUDIT_STORE as the app command does."""
    import shutil

    from data.store import Store

    path = tmp_path / "app-store.db"
    shutil.copy(app_store_template, path)
    monkeypatch.setenv("TUCANO_AUDIT_STORE", str(path))
    store = Store(path)
    yield store
    store.close()


def run_app(session_user=None, *, page: str | None = None) -> AppTest:
    """The whole app (navigation included), or one page file, optionally logged in."""
    target = APP / ("ui/streamlit_app.py" if page is None else f"pages/{page}")
    at = AppTest.from_file(str(target), default_timeout=60)
    if session_user is not None:
        at.session_state[SESSION_USER] = session_user
    return at.run()


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.markdown, *at.caption, *at.error, *at.warning,
                               *at.info, *at.success, *at.subheader, *at.header)]
    parts += [str(e.value) for e in at.code]
    return "\n".join(str(p) for p in parts)


# -- log in / log out ----------------------------------------------------------------------

def test_visitor_sees_only_the_login_form(app_store):
    at = run_app()
    assert not at.exception
    assert [t.value for t in at.title] == ["tucano-audit"]
    assert at.text_input(key="login_username") and at.text_input(key="login_password")
    assert SESSION_USER not in at.session_state
    # No single sign-on button without [auth] secrets.
    assert not [b for b in at.button if "single sign-on" in str(b.label)]


def _log_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button[0].click().run()


@pytest.mark.parametrize("username,password", [("annotator1", "wrong-pass"), ("nobody", PASSWORD),
                                               ("gone", PASSWORD), ("", "")])
def test_failed_login_does_not_say_which_part_was_wrong(app_store, username, password):
    at = _log_in(run_app(), username, password)
    assert not at.exception
    assert [e.value for e in at.error] == ["Wrong username or password."]
    assert SESSION_USER not in at.session_state


@pytest.mark.parametrize("role", ROLES)
def test_login_sets_the_session_user_of_each_role(app_store, role):
    at = _log_in(run_app(), f"{role}1", PASSWORD)
    # (The role's first page belongs to another part of the app; only the log-in is checked.)
    user = at.session_state[SESSION_USER]
    assert (user.username, user.role) == (f"{role}1", role)
    assert "login_username" not in [w.key for w in at.text_input]


def test_logout_forgets_the_user(app_store):
    at = run_app(app_store.get_user("annotator1"))
    at.session_state["annotate_something"] = 1
    at.switch_page("../pages/logout.py").run()
    assert not at.exception
    assert SESSION_USER not in at.session_state
    assert "annotate_something" not in at.session_state
    assert "You are logged out" in at.info[0].value
    at.run()  # the browser opens the log-in page
    assert at.text_input(key="login_username")


def test_disabled_account_is_logged_out_on_next_interaction(app_store):
    at = run_app(app_store.get_user("annotator1"))
    app_store.disable_user("annotator1", actor=app_store.get_user("admin1"))
    at.run()
    assert SESSION_USER not in at.session_state
    assert at.text_input(key="login_username")


def test_single_sign_on_button_appears_when_auth_is_configured(app_store):
    at = AppTest.from_file(str(APP / "ui" / "streamlit_app.py"), default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "tucano", "client_secret": "s",
                          "server_metadata_url": "https://id.example.com/.well-known/openid-configuration"}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button if "single sign-on" in str(b.label)] == ["Log in with single sign-on"]


AUTH_SECRETS = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                "client_id": "tucano", "client_secret": "s",
                "server_metadata_url": "https://id.example.com/.well-known/openid-configuration"}


def run_sso(user_info: dict) -> AppTest:
    at = AppTest.from_file(str(APP / "ui" / "streamlit_app.py"), default_timeout=60)
    at.secrets["auth"] = AUTH_SECRETS
    at.user = user_info
    return at.run()


def test_single_sign_on_identity_logs_in_the_account_with_that_email(app_store):
    at = run_sso({"is_logged_in": True, "email": "Engineer1@Example.com", "email_verified": True})
    assert not at.exception
    assert at.session_state[SESSION_USER].username == "engineer1"


@pytest.mark.parametrize("claims", [{"email": "stranger@example.com"},
                                    {"email": "engineer1@example.com", "email_verified": False},
                                    {"email": "gone@example.com"}, {}])
def test_single_sign_on_without_a_matching_active_account_is_refused(app_store, claims):
    app_store.add_user("gone2", "annotator", email="gone@example.com")
    app_store.disable_user("gone2", actor=app_store.get_user("admin1"))
    at = run_sso({"is_logged_in": True, **claims})
    assert not at.exception
    assert SESSION_USER not in at.session_state
    assert "no active account" in at.error[0].value
    assert [b.label for b in at.button if "Sign out" in str(b.label)] == ["Sign out of single sign-on"]


# -- annotate -------------------------------------------------------------------------------

@pytest.fixture
def items(app_store):
    from tests.fixtures_browser import seed_items

    return seed_items(app_store, per_task=2)


def shown_item(at: AppTest) -> int:
    caption = next(c.value for c in at.caption if c.value.startswith("Item "))
    return int(caption.split()[1])


@pytest.mark.parametrize("role", ["engineer", "reviewer"])
def test_annotate_refuses_roles_without_annotation(app_store, items, role):
    at = run_app(app_store.get_user(f"{role}1"), page="annotate.py")
    assert not at.exception
    assert "needs role annotator" in at.error[0].value
    assert not at.button


def test_annotate_refuses_a_visitor(app_store, items):
    at = run_app(page="annotate.py")
    assert "needs a logged-in user" in at.error[0].value


@pytest.mark.parametrize("role", ["annotator", "admin"])
def test_annotate_shows_one_item_blind_and_safe(app_store, items, role):
    at = run_app(app_store.get_user(f"{role}1"), page="annotate.py")
    assert not at.exception
    rid = shown_item(at)
    assert rid in items
    completion = at.code[0].value
    assert "<script>window.__pwned" in completion  # shown as text, verbatim
    page = texts(at)
    assert "0.123" not in page and "test-model" not in page and "seed-version" not in page
    assert any("**1**" in m.value for m in at.markdown)  # guidelines beside the item
    # Every action button is keyed by the item it was drawn for.
    assert [b.key for b in at.button][:5] == [f"annotate_score_{rid}_{n}" for n in range(1, 6)]


def test_score_saves_with_time_and_advances(app_store, items):
    annotator = app_store.get_user("annotator1")
    at = run_app(annotator, page="annotate.py")
    first = shown_item(at)
    at.button(key=f"annotate_score_{first}_4").click().run()
    assert not at.exception
    saved = app_store.get_annotation(annotator, first)
    assert saved["score"] == 4 and saved["flag_reward_wrong"] == 0 and saved["seconds"] >= 0
    assert shown_item(at) != first
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["My scores"] == "1" and metrics["Team: items scored"] == f"1 / {len(items)}"
    assert float(metrics["My median time per item"].removesuffix(" s")) == pytest.approx(saved["seconds"], abs=0.1)
    per_task = at.dataframe[0].value
    assert list(per_task["task"]) == list(TASKS) and per_task["scored"].sum() == 1 and per_task["mine"].sum() == 1


def test_flag_with_comment_is_saved_with_the_score(app_store, items):
    annotator = app_store.get_user("annotator1")
    at = run_app(annotator, page="annotate.py")
    rid = shown_item(at)
    at.button(key=f"annotate_flag_toggle_{rid}").click().run()
    assert at.checkbox(key=f"annotate_flag_{rid}").value is True
    at.text_area(key=f"annotate_comment_{rid}").input("penaliza vírgula decimal").run()
    at.button(key=f"annotate_score_{rid}_2").click().run()
    saved = app_store.get_annotation(annotator, rid)
    assert (saved["score"], saved["flag_reward_wrong"], saved["comment"]) == (2, 1, "penaliza vírgula decimal")
    # The next item starts unflagged, with an empty comment box.
    nxt = shown_item(at)
    assert at.checkbox(key=f"annotate_flag_{nxt}").value is False
    assert at.text_area(key=f"annotate_comment_{nxt}").value == ""


def test_undo_brings_the_item_back(app_store, items):
    annotator = app_store.get_user("annotator1")
    at = run_app(annotator, page="annotate.py")
    first = shown_item(at)
    at.button(key=f"annotate_score_{first}_5").click().run()
    assert shown_item(at) != first
    at.button(key="annotate_undo").click().run()
    assert not at.exception
    assert app_store.get_annotation(annotator, first) is None
    assert shown_item(at) == first
    at.button(key="annotate_undo").click().run()
    assert [t.value for t in at.toast] == ["Nothing to undo."]


def test_skip_moves_on_without_a_score(app_store, items):
    annotator = app_store.get_user("annotator1")
    at = run_app(annotator, page="annotate.py")
    first = shown_item(at)
    at.button(key=f"annotate_skip_{first}").click().run()
    assert shown_item(at) != first
    assert app_store.get_annotation(annotator, first) is None
    assert app_store.progress(annotator)["mine"]["skipped"] == 1


def test_empty_queue_says_so(app_store):
    at = run_app(app_store.get_user("annotator1"), page="annotate.py")
    assert not at.exception
    assert "Nothing left to score" in at.success[0].value


def test_annotators_are_told_when_a_task_cannot_reach_the_audit_minimum(app_store, items):
    """2 rollouts per task, the gate's minimum 100 (push: 3): once everything is scored, the page
    says which tasks the store cannot get to the minimum and that an engineer must sample more."""
    admin = app_store.get_user("admin1")
    config = app_store.gate_thresholds()["config"]
    app_store.set_gate_thresholds(admin, {**config, "tasks": {"push": {"min_items": 3}}})
    annotator = app_store.get_user("annotator1")
    at = run_app(annotator, page="annotate.py")
    per_task = at.dataframe[0].value.set_index("task")
    assert per_task.loc["push", "audit needs"] == 3 and per_task.loc["sql_qa", "audit needs"] == 100
    assert per_task.loc["push", "reachable"] == "no: 1 more to sample"
    while (item := app_store.next_item(annotator)) is not None:
        app_store.record_annotation(annotator, item["rollout_id"], 3)
    at = run_app(annotator, page="annotate.py")
    assert "Nothing left to score" in at.success[0].value
    warnings = [w.value for w in at.warning]
    assert "push: the audit needs 3 scored items, but the store holds only 2 push completions. An engineer must " \
           "sample 1 more (Sample rollouts page) before this task can be audited." in warnings
    assert any(w.startswith("sql_qa: the audit needs 100 scored items") for w in warnings)


def test_other_annotators_scores_and_comments_stay_hidden(app_store, items):
    app_store.update_settings({"annotators_per_item": 2}, actor=app_store.get_user("admin1"))
    other = app_store.get_user("annotator1")
    while (item := app_store.next_item(other)) is not None:
        app_store.record_annotation(other, item["rollout_id"], 1, flag=True, comment="OTHER-PERSON-COMMENT")
    app_store.add_user("annotator2", "annotator", PASSWORD)
    at = run_app(app_store.get_user("annotator2"), page="annotate.py")
    rid = shown_item(at)
    assert app_store.list_annotations(rollout_id=rid)[0]["comment"] == "OTHER-PERSON-COMMENT"
    assert "OTHER-PERSON-COMMENT" not in texts(at)
    assert at.checkbox(key=f"annotate_flag_{rid}").value is False


# -- admin ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["annotator", "engineer", "reviewer", None])
def test_admin_page_refuses_everyone_but_admins(app_store, role):
    at = run_app(app_store.get_user(f"{role}1") if role else None, page="admin.py")
    assert not at.exception
    assert at.error and ("needs role admin" in at.error[0].value or "logged-in" in at.error[0].value)
    assert not at.tabs


def admin_page(app_store) -> AppTest:
    at = run_app(app_store.get_user("admin1"), page="admin.py")
    assert not at.exception
    return at


def submit(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception
    return at


def test_admin_adds_users_and_is_told_about_duplicates(app_store):
    at = admin_page(app_store)
    at.text_input(key="admin_new_username").input("bia")
    at.selectbox(key="admin_new_role").select("reviewer")
    at.text_input(key="admin_new_password").input("bia-senha-1")
    submit(at, "Add user")
    assert [s.value for s in at.success] == ["Added bia (reviewer)."]
    assert app_store.authenticate("bia", "bia-senha-1").role == "reviewer"
    at.text_input(key="admin_new_username").input("bia")
    at.text_input(key="admin_new_password").input("outra-senha-1")
    submit(at, "Add user")
    assert "already exists" in at.error[0].value
    at.text_input(key="admin_new_username").input("semsenha")
    submit(at, "Add user")
    assert "needs a password or an email" in at.error[0].value


def test_admin_changes_role_password_and_disables(app_store):
    at = admin_page(app_store)
    at.selectbox(key="admin_target").select("annotator1")
    at.selectbox(key="admin_target_role").select("engineer")
    submit(at, "Set role")
    assert app_store.get_user("annotator1").role == "engineer"
    at.text_input(key="admin_target_password").input("nova-senha-9")
    submit(at, "Set password")
    assert app_store.authenticate("annotator1", "nova-senha-9") is not None
    submit(at, "Disable")
    assert app_store.get_user("annotator1").active is False
    submit(at, "Enable")
    assert app_store.get_user("annotator1").active is True
    # The last admin cannot demote itself: the store refuses, the page says why.
    at.selectbox(key="admin_target").select("admin1")
    at.selectbox(key="admin_target_role").select("annotator")
    submit(at, "Set role")
    assert "last active admin" in at.error[0].value
    assert app_store.get_user("admin1").role == "admin"


def test_admin_changes_assignment_settings(app_store):
    at = admin_page(app_store)
    at.number_input(key="admin_setting_annotators_per_item").set_value(3)
    at.number_input(key="admin_setting_agreement_share").set_value(0.5)
    submit(at, "Save settings")
    settings = app_store.get_settings()
    assert (settings["annotators_per_item"], settings["agreement_share"]) == (3, 0.5)
    assert {h["key"] for h in app_store.settings_history()} == {"annotators_per_item", "agreement_share"}
    submit(at, "Save settings")
    assert [i.value for i in at.info] == ["Nothing changed."]


def _push_line(i: int) -> dict:
    return {"prompt_id": f"push-up{i}", "task": "push", "split": "train",
            "prompt": [{"role": "user", "content": "Escreva um push sobre frete grátis."}],
            "model_id": "gpu-box", "completion": f"Frete grátis hoje! Aproveite {i}"}


def test_admin_imports_jsonl_with_per_line_errors_then_exports(app_store):
    import json

    lines = [json.dumps(_push_line(1)), "{not json", json.dumps({**_push_line(2), "task": "poetry"}),
             json.dumps(_push_line(3))]
    at = admin_page(app_store)
    at.file_uploader(key="admin_upload").upload("lote.jsonl", "\n".join(lines).encode(), "application/jsonl")
    at.run()
    submit(at, "Import")
    assert "2 rollouts added" in at.warning[0].value and "2 bad lines" in at.warning[0].value
    errors = at.dataframe[-1].value
    assert list(errors["line"]) == [2, 3]
    assert "not valid JSON" in errors["reason"][0] and "unknown task" in errors["reason"][1]
    assert app_store.count_rollouts("push") == 2
    submit(at, "Import")  # the same file again adds nothing
    assert "0 rollouts added, 2 already present" in at.warning[0].value

    at.selectbox(key="admin_export_fmt").select("parquet")
    submit(at, "Prepare file")
    download = at.get("download_button")[0]
    assert download.proto.label == "Download rollouts.parquet (2 rows)"


def test_a_one_megabyte_completion_is_cut_for_display_only(app_store):
    from audit_app.ui.render import MAX_DISPLAY_CHARS

    app_store.add_prompts([{"prompt_id": "push-big", "task": "push",
                            "prompt": [{"role": "user", "content": "Escreva um push."}]}])
    big = "<script>x</script>" + "a" * 1_000_000
    [rid] = app_store.add_rollouts([{"prompt_id": "push-big", "model_id": "m", "completion": big,
                                     "reward_name": "push", "reward_total": 0.0, "reward_version": "v"}])
    at = run_app(app_store.get_user("annotator1"), page="annotate.py")
    assert not at.exception and shown_item(at) == rid
    assert at.code[0].value == big[:MAX_DISPLAY_CHARS]
    assert any("1,000,018 characters" in c.value and "showing the first 20,000" in c.value for c in at.caption)
    at.button(key=f"annotate_score_{rid}_1").click().run()
    assert app_store.get_annotation(app_store.get_user("annotator1"), rid)["score"] == 1


def test_two_browsers_of_one_annotator_update_instead_of_duplicating(app_store, items):
    annotator = app_store.get_user("annotator1")
    first, second = run_app(annotator, page="annotate.py"), run_app(annotator, page="annotate.py")
    rid = shown_item(first)
    assert shown_item(second) == rid  # the same held item, not a second reservation
    first.button(key=f"annotate_score_{rid}_3").click().run()
    second.button(key=f"annotate_score_{rid}_4").click().run()
    assert not second.exception
    assert [t.value for t in second.toast] == [f"Item {rid}: updated your earlier score 4."]
    rows = app_store.list_annotations(rollout_id=rid)
    assert [(r["annotator"], r["score"]) for r in rows] == [("annotator1", 4)]
    assert [h["score"] for h in app_store.annotation_history(rows[0]["id"])] == [3, 4]
