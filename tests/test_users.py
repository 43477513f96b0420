"""Users, passwords and roles: hashing, login, admin-only changes, the users CLI."""

from __future__ import annotations

import io
import sys

import pytest

from audit_app.cli import main
from data.store import Store, passwords
from data.store.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from data.store.roles import SYSTEM, User


def test_hash_is_salted_scrypt_and_verifies():
    first, second = passwords.hash_password("correct horse"), passwords.hash_password("correct horse")
    assert first.startswith("scrypt$16384$8$1$") and first != second  # fresh salt each time
    assert "correct horse" not in first
    assert passwords.verify_password("correct horse", first)
    assert passwords.verify_password("correct horse", second)
    assert not passwords.verify_password("correct horsE", first)
    for broken in (None, "", "scrypt$1$2", "bcrypt$x$y$z$a$b", first.replace("$8$", "$x$")):
        assert not passwords.verify_password("correct horse", broken)


@pytest.mark.parametrize("bad", ["", "short", 12345678, "x" * 2000])
def test_password_policy_names_the_problem(bad):
    with pytest.raises(InvalidInput, match="password"):
        passwords.hash_password(bad)


def test_login_right_wrong_unknown_disabled(store, users):
    assert store.authenticate("annotator", "pw-annotator") == users["annotator"]
    assert store.authenticate("annotator", "pw-engineer") is None
    assert store.authenticate("nobody", "pw-annotator") is None
    assert store.authenticate(None, "pw-annotator") is None
    store.disable_user("annotator", actor=users["admin"])
    assert store.authenticate("annotator", "pw-annotator") is None
    assert store.get_user("annotator").active is False
    store.enable_user("annotator", actor=users["admin"])
    assert store.authenticate("annotator", "pw-annotator").active


def test_password_never_stored_in_clear(store, users):
    row = store.query("SELECT password_hash FROM users WHERE username = 'admin'")[0]
    assert row["password_hash"].startswith("scrypt$") and "pw-admin" not in row["password_hash"]


def test_add_user_validation_and_duplicates(store, users):
    with pytest.raises(InvalidInput, match="username"):
        store.add_user("bad name!", "annotator", "long-enough")
    with pytest.raises(InvalidInput, match="unknown role 'boss'"):
        store.add_user("carla", "boss", "long-enough")
    with pytest.raises(InvalidInput, match="password or an email"):
        store.add_user("carla", "annotator")
    with pytest.raises(Conflict, match="already exists"):
        store.add_user("annotator", "annotator", "long-enough")
    sso = store.add_user("dora", "reviewer", email="Dora@Example.com")
    assert store.get_user_by_email("dora@example.com") == sso
    assert store.authenticate("dora", "") is None  # no password: single sign-on only
    with pytest.raises(Conflict, match="email"):
        store.add_user("dora2", "reviewer", email="dora@example.com")


@pytest.mark.parametrize("role", ["annotator", "engineer", "reviewer"])
def test_only_admins_change_users(store, users, role):
    actor = users[role]
    with pytest.raises(PermissionDenied):
        store.add_user("eve", "admin", "long-enough", actor=actor)
    with pytest.raises(PermissionDenied):
        store.set_role(actor.username, "admin", actor=actor)
    with pytest.raises(PermissionDenied):
        store.disable_user("admin", actor=actor)
    with pytest.raises(PermissionDenied):
        store.set_password("admin", "new-password", actor=actor)
    assert store.get_user(actor.username).role == role
    # A user may change their own password.
    store.set_password(actor.username, "my-new-password", actor=actor)
    assert store.authenticate(actor.username, "my-new-password")


def test_role_changes_take_effect_and_are_logged(store, users):
    admin = users["admin"]
    store.set_role("annotator", "engineer", actor=admin)
    assert store.get_user("annotator").role == "engineer"
    # The stale User object still says annotator; the store checks the current row.
    with pytest.raises(PermissionDenied, match="is engineer"):
        store.next_item(users["annotator"])
    events = store.user_events("annotator")
    assert events[0]["action"] == "set-role" and events[0]["by"] == "admin"
    assert events[0]["detail"] == "annotator -> engineer"
    assert [e["action"] for e in events] == ["set-role", "add"]


def test_disabled_user_cannot_act(store, users):
    store.disable_user("annotator", actor=users["admin"])
    with pytest.raises(PermissionDenied, match="disabled"):
        store.next_item(users["annotator"])


def test_last_admin_is_kept(store, users):
    admin = users["admin"]
    with pytest.raises(Conflict, match="last active admin"):
        store.set_role("admin", "annotator", actor=admin)
    with pytest.raises(Conflict, match="last active admin"):
        store.disable_user("admin", actor=admin)
    store.set_role("engineer", "admin", actor=admin)
    store.disable_user("admin", actor=users["engineer"])
    assert not store.get_user("admin").active


def test_forged_actor_is_refused(store, users):
    forged = User(id=users["annotator"].id, username="annotator", role="admin")
    with pytest.raises(PermissionDenied):
        store.add_user("mallory", "admin", "long-enough", actor=forged)
    with pytest.raises(PermissionDenied, match="does not exist"):
        store.set_role("annotator", "admin", actor=User(id=999, username="ghost", role="admin"))
    with pytest.raises(NotFound):
        store.set_role("ghost", "admin", actor=SYSTEM)


def test_list_users(store, users):
    rows = store.list_users()
    assert [r["username"] for r in rows] == sorted(users)
    assert all(r["active"] is True and r["created_by"] == "system" for r in rows)
    assert set(rows[0]) == {"id", "username", "role", "email", "active", "created_at", "created_by"}


# -- CLI ---------------------------------------------------------------------------------

def run_cli(monkeypatch, capsys, *argv, stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_users_cli(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "s.db")
    assert run_cli(monkeypatch, capsys, "users", "add", "ana", "--role", "annotator", "--password", "pw-ana-123",
                   "--store", db)[0] == 0
    code, out, _ = run_cli(monkeypatch, capsys, "users", "add", "bia", "--role", "admin", "--store", db,
                           stdin="pw-bia-secret\n")
    assert code == 0 and "added bia (admin)" in out
    code, out, _ = run_cli(monkeypatch, capsys, "users", "list", "--store", db)
    assert "ana" in out and "annotator" in out and "bia" in out
    assert run_cli(monkeypatch, capsys, "users", "set-role", "ana", "reviewer", "--store", db)[0] == 0
    assert run_cli(monkeypatch, capsys, "users", "disable", "ana", "--store", db)[0] == 0
    code, out, _ = run_cli(monkeypatch, capsys, "users", "list", "--store", db)
    assert "reviewer" in out and "disabled" in out
    code, _, err = run_cli(monkeypatch, capsys, "users", "add", "ana", "--role", "annotator", "--password",
                           "pw-ana-123", "--store", db)
    assert code == 2 and err.strip() == "error: user 'ana' already exists"
    code, _, err = run_cli(monkeypatch, capsys, "users", "add", "cid", "--role", "annotator", "--store", db,
                           stdin="")
    assert code == 2 and "no password given" in err
    code, _, err = run_cli(monkeypatch, capsys, "users", "disable", "zed", "--store", db)
    assert code == 2 and "no user named 'zed'" in err
    with Store(db) as store:
        assert store.authenticate("bia", "pw-bia-secret").role == "admin"
        assert store.get_user("ana").active is False
    code, out, _ = run_cli(monkeypatch, capsys, "users", "enable", "ana", "--store", db)
    assert code == 0 and out.strip() == "enabled ana"
    code, out, _ = run_cli(monkeypatch, capsys, "users", "set-password", "ana", "--password", "pw-ana-456",
                           "--store", db)
    assert code == 0 and out.strip() == "password of ana changed"
    with Store(db) as store:
        assert store.authenticate("ana", "pw-ana-456").role == "reviewer"
        assert store.authenticate("ana", "pw-ana-123") is None


def test_users_cli_default_store_is_home(home, monkeypatch, capsys):
    assert run_cli(monkeypatch, capsys, "users", "add", "ana", "--role", "annotator", "--password",
                   "pw-ana-123")[0] == 0
    assert (home / "store.db").exists()
