"""Real browser: every stored score belongs to an item the annotator saw first.

The page's own DOM is watched from before the app loads (a MutationObserver records each
item id the "Item N · task T" caption shows, with the time), and every key press is
timed. Then an annotator holds a key down (auto-repeat), presses keys every 50 ms, and
finally scores 60 items one by one; the store must hold only scores of items that were on
screen before the score was saved, one save per item, and never the item still on screen.
The last phase prints the key-to-next-item times (median and max over 60 presses).
"""

from __future__ import annotations

import statistics
from datetime import datetime

import pytest

from tests.fixtures_browser import login, seed_items, wait_for_app_idle

pytestmark = pytest.mark.browser

PASSWORD = "ana-senha-123"

# Installed before any page script: records displayed item ids and key presses (Date.now,
# the same clock as the server's timestamps on this machine).
RECORDER = """
window.__shown = []; window.__keys = [];
window.addEventListener("keydown", (e) => window.__keys.push({t: Date.now(), key: e.key, repeat: e.repeat}), true);
const look = () => {
  const el = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
    .find((c) => /^Item \\d+ · task/.test(c.innerText.trim()));
  const id = el ? Number(el.innerText.trim().split(" ")[1]) : null;
  const last = window.__shown.length ? window.__shown[window.__shown.length - 1].id : undefined;
  if (id !== null && id !== last) window.__shown.push({id, t: Date.now()});
};
new MutationObserver(look).observe(document, {subtree: true, childList: true, characterData: true});
"""


def shown(page) -> list[dict]:
    return page.evaluate("() => window.__shown")


def current(page) -> int:
    return shown(page)[-1]["id"]


def settle(page) -> None:
    """Let any run a late key started finish."""
    page.wait_for_timeout(1500)
    wait_for_app_idle(page)


def saved_scores(home) -> list[dict]:
    from data.store import Store

    with Store(home / "store.db") as store:
        rows = store.list_annotations(annotator="ana")
        for row in rows:
            row["saves"] = len(store.annotation_history(row["id"]))
    return rows


def millis(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp() * 1000


def check_every_score_was_on_screen(page, home) -> list[dict]:
    displayed = {}
    for entry in shown(page):
        displayed.setdefault(entry["id"], entry["t"])
    rows = saved_scores(home)
    for row in rows:
        rid = row["rollout_id"]
        assert rid in displayed, f"item {rid} was scored but never shown"
        # Shown (browser clock) before the score was saved (server clock, same machine).
        assert displayed[rid] <= millis(row["created_at"]) + 5, (rid, displayed[rid], row["created_at"])
        assert row["saves"] == 1, f"item {rid} was saved {row['saves']} times"
    assert current(page) not in {r["rollout_id"] for r in rows}, "the item on screen is already scored"
    return rows


def shown_count(page) -> int:
    return len(shown(page))


def test_fast_and_held_keys_only_score_items_on_screen(home, app_server, browser_page):
    from data.store import Store
    from data.store.roles import SYSTEM

    with Store(home / "store.db") as store:
        store.add_user("ana", "annotator", PASSWORD)
        # No self-consistency repeats here: each item is shown once, so "shown before scored"
        # and "the item on screen is unscored" mean exactly that.
        store.update_settings({"repeat_share": 0.0}, actor=SYSTEM)
        seed_items(store, per_task=50)
    server = app_server(home / "store.db")
    page = browser_page
    page.add_init_script(RECORDER)
    login(page, server.url, "ana", PASSWORD)
    page.get_by_text("Item ").first.wait_for()
    wait_for_app_idle(page)
    first = current(page)
    page.locator(f".st-key-annotate_score_{first}_3 button").wait_for()  # keys act through drawn buttons

    # A held key: one keydown, then auto-repeat (Playwright marks repeated downs repeat=true).
    page.keyboard.down("3")
    for _ in range(20):
        page.wait_for_timeout(30)
        page.keyboard.down("3")
    page.keyboard.up("3")
    settle(page)
    rows = check_every_score_was_on_screen(page, home)
    assert [(r["rollout_id"], r["score"]) for r in rows] == [(first, 3)]
    assert sum(k["repeat"] for k in page.evaluate("() => window.__keys")) == 20

    # Keys every 50 ms, faster than items can be drawn: some are ignored, none lands unseen.
    for i in range(60):
        page.keyboard.press(str(i % 5 + 1))
        page.wait_for_timeout(50)
    settle(page)
    rows = check_every_score_was_on_screen(page, home)
    print(f"\n60 presses 50 ms apart: {len(rows) - 1} scores, {shown_count(page)} items shown so far")
    assert len(rows) >= 3, "fast presses must still score the items they were pressed on"

    # One key per item: how long from the key to the next item on screen.
    waits = []
    for i in range(60):
        before = len(shown(page))
        page.keyboard.press(str(i % 5 + 1))
        page.wait_for_function("(n) => window.__shown.length > n", arg=before, timeout=30_000)
        press = page.evaluate("() => window.__keys[window.__keys.length - 1].t")
        waits.append(shown(page)[before]["t"] - press)
        wait_for_app_idle(page)
    settle(page)
    rows = check_every_score_was_on_screen(page, home)
    print(f"\nkey-to-next-item over {len(waits)} presses: median {statistics.median(waits):.0f} ms, "
          f"max {max(waits):.0f} ms")
    assert len(rows) >= 60 + 3
