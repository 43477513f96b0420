"""Real browser (Debian chromium through Playwright) against `tucano-audit app`:
an annotator logs in, scores five items with the keyboard alone, flags one with a
comment typed in the page, undoes the last score, and the store holds exactly that.
Completions carrying <script> and <img onerror> must show as text and never run.
"""

from __future__ import annotations

import re

import pytest

from tests.fixtures_browser import seed_items, wait_for_app_idle

pytestmark = pytest.mark.browser

PASSWORD = "ana-senha-123"
ITEM_CAPTION = re.compile(r"^Item (\d+) · task (\w+)$")


def shown_item(page) -> int:
    text = page.get_by_text(ITEM_CAPTION).inner_text()
    return int(ITEM_CAPTION.match(text.strip()).group(1))


def press_and_wait_for_next(page, key: str, current: int) -> int:
    page.keyboard.press(key)
    page.wait_for_function(
        "(current) => { const el = [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
        ".find(e => /^Item \\d+ · task/.test(e.innerText.trim()));"
        " return el && !el.innerText.includes('Item ' + current + ' ');}",
        arg=current,
    )
    wait_for_app_idle(page)
    return shown_item(page)


def test_annotator_scores_five_items_with_the_keyboard(home, app_server, browser_page):
    from data.store import Store

    with Store(home / "store.db") as store:
        store.add_user("ana", "annotator", PASSWORD)
        seed_items(store, per_task=2)
    server = app_server(home / "store.db")
    assert f"tucano-audit app: open {server.url}" in server.log_tail()
    page = browser_page

    # Log in with the keyboard: type, Tab, type, Enter.
    page.goto(server.url)
    page.get_by_label("Username").focus()
    page.keyboard.type("ana")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_text(ITEM_CAPTION).wait_for()
    wait_for_app_idle(page)

    scores = [3, 5, 1, 4, 2]
    flagged_at = 2
    comment = "recompensa errada: 1 2 3 s u f"  # keys typed in the box must not act
    seen: list[int] = []
    current = shown_item(page)
    for i, score in enumerate(scores):
        seen.append(current)
        # Completions are shown verbatim, and their scripts never run.
        assert "<script>window.__pwned" in page.locator("[data-testid='stCode']").first.inner_text()
        if i == flagged_at:
            page.keyboard.press("f")
            box = page.locator(f".st-key-annotate_comment_{current} textarea")
            page.wait_for_function("() => document.activeElement && document.activeElement.tagName === 'TEXTAREA'")
            page.keyboard.type(comment)
            wait_for_app_idle(page)
            assert box.input_value() == comment and shown_item(page) == current
            page.keyboard.press("Escape")
            # Leaving the box commits the comment, which reruns the item panel; on a loaded
            # machine that rerun can start late, so give it time to begin before waiting.
            page.wait_for_timeout(1000)
            wait_for_app_idle(page)
            assert page.evaluate("() => document.activeElement.tagName") != "TEXTAREA"
            assert page.get_by_role("checkbox", name="Reward looks wrong here").is_checked()
        current = press_and_wait_for_next(page, str(score), current)
    assert len(set(seen)) == 5 and current not in seen

    # U undoes the last score: its item comes back.
    current = press_and_wait_for_next(page, "u", current)
    assert current == seen[-1]
    assert page.evaluate("() => window.__pwned") is None

    with Store(home / "store.db") as store:
        ana = store.get_user("ana")
        rows = store.list_annotations(annotator="ana")
        assert {r["rollout_id"]: r["score"] for r in rows} == dict(zip(seen[:4], scores[:4], strict=True))
        assert [(r["rollout_id"], r["comment"]) for r in rows if r["flag_reward_wrong"]] == \
            [(seen[flagged_at], comment)]
        assert all(r["seconds"] is not None and r["seconds"] > 0 for r in rows)
        assert store.get_annotation(ana, seen[-1]) is None
        assert store.progress(ana)["mine"]["scored"] == 4
