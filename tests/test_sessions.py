"""Sessions and log-in throttling in the store, the signed cookie, and the two HTTP routes
that move a log-in into an HTTP-only cookie and out again."""

from __future__ import annotations

import pytest

from audit_app.auth import cookies
from data.store.roles import SYSTEM
from data.store.sessions import FAILURE_WINDOW_S, MAX_DELAY_S, backoff_seconds


@pytest.fixture
def ana(store):
    return store.add_user("ana", "annotator", "ana-senha-123")


def test_a_handoff_code_becomes_a_token_once(store, ana):
    session_id, code = store.open_session(ana, client="10.0.0.7")
    assert store.check_session(session_id).user == ana
    assert store.check_session(session_id).cookie_issued is False
    token, expires_at = store.redeem_handoff(code)
    assert store.redeem_handoff(code) is None  # single use
    assert store.redeem_handoff("made-up") is None and store.redeem_handoff("") is None
    check = store.check_session(token=token)
    assert (check.session_id, check.user, check.cookie_issued) == (session_id, ana, True)
    assert check.expires_at == expires_at
    assert store.check_session(token="another-token").ended == "unknown session"


@pytest.mark.parametrize("change,reason", [
    (lambda s: s.end_session(1), "logged out"),
    (lambda s: s.disable_user("ana", actor=SYSTEM), "the account was disabled"),
    (lambda s: s.set_role("ana", "reviewer", actor=SYSTEM), "the account's role changed to reviewer"),
    (lambda s: s.set_password("ana", "outra-senha-456", actor=SYSTEM), "the password was changed"),
])
def test_a_session_ends_with_its_reason(store, ana, change, reason):
    session_id, _ = store.open_session(ana)
    assert session_id == 1
    change(store)
    check = store.check_session(session_id)
    assert check.user is None and check.ended == reason
    assert store.list_sessions("ana")[0]["ended_reason"] == reason
    # Enabling the account or restoring the role does not bring an ended session back.
    store.enable_user("ana", actor=SYSTEM)
    store.set_role("ana", "annotator", actor=SYSTEM)
    assert store.check_session(session_id).user is None


def test_a_password_change_ends_every_session_of_that_account_only(store, ana):
    """Whoever holds an old session (another browser, a stolen cookie) is out once the
    password changes, the user's own change included; other accounts keep theirs."""
    bia = store.add_user("bia", "annotator", "bia-senha-123")
    here, _ = store.open_session(ana, client="10.0.0.7")
    there, _ = store.open_session(ana, client="10.0.0.8")
    hers, _ = store.open_session(bia)
    store.set_password("ana", "nova-senha-789", actor=ana)
    assert {store.check_session(s).ended for s in (here, there)} == {"the password was changed"}
    assert store.check_session(hers).user == bia
    fresh, _ = store.open_session(store.get_user("ana"))  # logging in again works
    assert store.check_session(fresh).user is not None


def test_a_session_expires(store, ana, monkeypatch):
    import time

    session_id, _ = store.open_session(ana, seconds=60)
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert store.check_session(session_id).ended == "the session expired"
    assert store.list_sessions("ana", live=True) == []


def test_only_active_accounts_open_sessions(store, ana):
    from data.store.errors import InvalidInput, PermissionDenied

    store.disable_user("ana", actor=SYSTEM)
    with pytest.raises(PermissionDenied, match="disabled"):
        store.open_session(store.get_user("ana"))
    with pytest.raises(PermissionDenied):
        store.open_session(SYSTEM)
    store.enable_user("ana", actor=SYSTEM)
    with pytest.raises(InvalidInput, match="at most 31 days"):
        store.open_session(ana, seconds=10**9)


def test_backoff_doubles_after_three_failures_and_is_capped():
    assert [backoff_seconds(n) for n in range(7)] == [0, 0, 0, 1, 2, 4, 8]
    assert backoff_seconds(40) == MAX_DELAY_S


def test_throttle_counts_per_username_and_per_client(store):
    t = 1_000_000.0
    for i in range(3):
        assert store.begin_login("Rui", "1.2.3.4", now=t + i)[0] is not None
    # Case variants share the username's counter; the wait runs from the last failure.
    assert store.begin_login("rui", "5.6.7.8", now=t + 2.5) == (None, pytest.approx(0.5))
    assert store.login_wait("RUI", "9.9.9.9", now=t + 2.5) == pytest.approx(0.5)
    assert store.begin_login("rui", "5.6.7.8", now=t + 3.0)[0] is not None  # 4th failure
    assert store.login_wait("rui", "x", now=t + 3.5) == pytest.approx(1.5)  # now 2 s
    # The first client tried three times too: another username from it waits as well.
    assert store.login_wait("someone-else", "1.2.3.4", now=t + 2.5) == pytest.approx(0.5)
    # A right password forgets that username's failures only: the client's guesses at
    # other accounts still count.
    for i in range(3):
        assert store.begin_login(f"guess{i}", "1.2.3.4", now=t + 10 * (i + 1))[0] is not None
    store.login_succeeded("rui")
    assert store.login_wait("rui", "new-client", now=t + 30.5) == 0
    assert store.login_wait("other", "1.2.3.4", now=t + 30.5) == pytest.approx(0.5)
    # Failures older than the window are forgotten.
    assert store.login_wait("other", "1.2.3.4", now=t + FAILURE_WINDOW_S + 20) == 0


def test_cookie_values_are_signed_and_expire(store):
    key = store.session_key()
    assert len(key) == 64 and key == store.session_key()
    value = cookies.sign(key, "the-token")
    assert cookies.unsign(key, value) == "the-token"
    assert cookies.unsign("another-key", value) is None
    assert cookies.unsign(key, value[:-2] + ("AA" if value[-2:] != "AA" else "BB")) is None
    assert cookies.unsign(key, value, max_age=-1) is None
    assert cookies.unsign(key, None) is None and cookies.unsign(key, "x" * 5000) is None


def test_the_routes_set_and_delete_an_http_only_cookie(file_store, monkeypatch):
    from starlette.applications import Starlette
    starlette_testclient = pytest.importorskip("starlette.testclient")

    from audit_app.auth import routes

    monkeypatch.setenv("TUCANO_AUDIT_STORE", file_store.path)
    routes._store.cache_clear()
    ana = file_store.add_user("ana", "annotator", "ana-senha-123")
    session_id, code = file_store.open_session(ana)
    client = starlette_testclient.TestClient(Starlette(routes=routes.routes()))
    answer = client.post(cookies.SESSION_ROUTE, content=code)
    assert answer.status_code == 204
    header = answer.headers["set-cookie"]
    assert header.startswith(f"{cookies.COOKIE}=") and "HttpOnly" in header and "SameSite=lax" in header
    assert file_store.check_session(session_id).cookie_issued
    assert client.post(cookies.SESSION_ROUTE, content=code).status_code == 400  # used up
    assert client.get(cookies.SESSION_ROUTE).status_code == 405

    answer = client.post(cookies.LOGOUT_ROUTE)
    assert answer.status_code == 204 and 'tucano_session=""' in answer.headers["set-cookie"]
    assert file_store.check_session(session_id).ended == "logged out"
    routes._store.cache_clear()
