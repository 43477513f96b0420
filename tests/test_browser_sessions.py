"""Real browser: a log-in lasts across reloads, bookmarks and new tabs, lands on the page
asked for, ends with log-out (its cookie is then worthless), ends on the next action
when the account is disabled or given another role, and repeated wrong passwords make
the next attempt wait.
"""

from __future__ import annotations

import time

import pytest

from tests.fixtures_browser import seed_items, wait_for_app_idle

pytestmark = pytest.mark.browser

PW = {"rui": "rui-senha-123", "ana": "ana-senha-123", "bia": "bia-senha-123"}


@pytest.fixture
def server(home, app_server):
    from data.store import Store

    with Store(home / "store.db") as store:
        store.add_user("rui", "engineer", PW["rui"])
        store.add_user("ana", "annotator", PW["ana"])
        store.add_user("bia", "reviewer", PW["bia"])
        seed_items(store, per_task=3)
    return app_server(home / "store.db")


def fill_login(page, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()
    wait_for_app_idle(page)


def see_title(page, expected: str) -> None:
    """Wait until the page shows the title `expected` (a run may still be drawing it)."""
    page.get_by_role("heading", name=expected, exact=True, level=1).wait_for()


def session_cookie(page, timeout_s: float = 10) -> dict:
    """The session cookie, once the page has traded its log-in for it."""
    for _ in range(int(timeout_s * 10)):
        found = [c for c in page.context.cookies() if c["name"] == "tucano_session"]
        if found:
            return found[0]
        page.wait_for_timeout(100)
    raise AssertionError("no session cookie")


def open_page(page, url: str) -> None:
    page.goto(url)
    wait_for_app_idle(page)


def test_a_deep_link_logs_in_onto_its_page_and_the_session_survives_reloads(server, browser_page, home):
    page = browser_page
    open_page(page, f"{server.url}/jobs")
    page.get_by_label("Username").wait_for()
    see_title(page, "tucano-audit")
    assert "Page not found" not in page.inner_text("body")
    fill_login(page, "rui", PW["rui"])
    see_title(page, "Jobs")
    assert page.url == f"{server.url}/jobs"

    # The cookie is HTTP-only: the page's scripts cannot read it.
    cookie = session_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "tucano_session" not in page.evaluate("() => document.cookie")

    page.reload()
    wait_for_app_idle(page)
    see_title(page, "Jobs")
    assert page.url == f"{server.url}/jobs"
    other = page.context.new_page()  # a bookmark opened in another tab
    open_page(other, f"{server.url}/sample")
    see_title(other, "Sample rollouts")
    # A page the role cannot open says so at its own address.
    open_page(other, f"{server.url}/annotate")
    other.get_by_text("Annotate is for annotators; you are logged in as engineer.").wait_for()

    # Log out: back to the log-in page, and the old cookie no longer opens anything.
    page.get_by_text("Log out (rui)").click()
    page.wait_for_url(f"{server.url}/")
    wait_for_app_idle(page)
    page.get_by_label("Username").wait_for()
    assert not [c for c in page.context.cookies() if c["name"] == "tucano_session"]
    page.context.add_cookies([cookie])
    open_page(page, f"{server.url}/jobs")
    page.get_by_label("Username").wait_for()
    see_title(page, "tucano-audit")
    from data.store import Store

    with Store(home / "store.db") as store:
        assert [s["ended_reason"] for s in store.list_sessions("rui")] == ["logged out"]


def test_disabled_or_demoted_users_go_back_to_the_login_page_on_their_next_action(server, browser_page, home):
    from data.store import Store
    from data.store.roles import SYSTEM

    page = browser_page
    open_page(page, f"{server.url}/annotate")
    fill_login(page, "ana", PW["ana"])
    page.locator("[class*='st-key-annotate_score_'] button").first.wait_for()
    wait_for_app_idle(page)  # keys pressed before the item is fully drawn are ignored on purpose
    with Store(home / "store.db") as store:
        store.disable_user("ana", actor=SYSTEM)
    page.keyboard.press("4")
    page.get_by_text("You were logged out: the account was disabled").wait_for()
    with Store(home / "store.db") as store:
        assert store.list_annotations(annotator="ana") == []  # the press after disabling saved nothing

    second = page.context.browser.new_context().new_page()
    open_page(second, f"{server.url}/compare")
    fill_login(second, "bia", PW["bia"])
    see_title(second, "Base vs tuned")
    # The reload below must carry the session: wait until the browser has traded the log-in's
    # code for the cookie (on a loaded machine that can come after the page is drawn).
    session_cookie(second)
    with Store(home / "store.db") as store:
        store.set_role("bia", "annotator", actor=SYSTEM)
    second.reload()
    wait_for_app_idle(second)
    second.get_by_text("You were logged out: the account's role changed to annotator").wait_for()
    second.get_by_label("Username").wait_for()
    second.context.close()


def test_repeated_wrong_passwords_make_the_next_attempt_wait(server, browser_page):
    from data.store import Store

    page = browser_page
    open_page(page, server.url)
    for _ in range(3):
        fill_login(page, "rui", "not-the-password")
        page.get_by_text("Wrong username or password.").wait_for()
    with Store(server.store_path) as store:
        # Three more failures from this browser's address, now: the wait grows to 8 s, long
        # enough that the checks below never depend on how fast a loaded machine clicks.
        (client,) = {r["client"] for r in store.query("SELECT client FROM login_failures")}
        now = time.time()
        with store.transaction(immediate=True):
            store.db["login_failures"].insert_all({"username": "rui", "client": client, "at": now} for _ in range(3))
        assert store.login_wait("rui", client) > 5
    # The next attempt comes too early: refused unchecked, even with the right password.
    fill_login(page, "rui", PW["rui"])
    page.get_by_text("Too many failed log-ins. Wait").wait_for()
    # The same client trying another account is slowed down too.
    fill_login(page, "ana", "not-the-password")
    page.get_by_text("Too many failed log-ins. Wait").wait_for()
    with Store(server.store_path) as store:
        for _ in range(60):
            if store.login_wait("rui", client) == 0:
                break
            page.wait_for_timeout(500)
    fill_login(page, "rui", PW["rui"])
    see_title(page, "Audit & gate")
