"""Real browser (Debian chromium through Playwright) against `tucano-audit app`: a reviewer
reads the side-by-side view (inline highlights, escaped hostile completions, a note saved)
and judges blind pairs with the arrow keys and T; the store keeps each choice with the
side that was shown on the left, and no model name appears on the blind page."""

from __future__ import annotations

import pytest

from tests.fixtures_browser import login, wait_for_app_idle
from tests.test_compare_pages import seed_comparison

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "rita-senha-123"
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def test_reviewer_side_by_side_and_blind_review(home, app_server, browser_page):
    from data.store import Store

    with Store(home / "store.db") as store:
        store.add_user("rita", "reviewer", PASSWORD)
        cid = seed_comparison(store)
        # Make one tuned completion hostile: it must show as text and never run.
        store.conn.execute("UPDATE compare_results SET completion = ? WHERE prompt_id = 'insights-1' AND side != 'base'",
                           [f"Vendas caíram {HOSTILE} em SP."])
    server = app_server(home / "store.db")
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, server.url, "rita", PASSWORD)

    # -- side by side --------------------------------------------------------------------
    page.get_by_role("link", name="Base vs tuned").click()
    page.get_by_text("Side by side").wait_for()
    wait_for_app_idle(page)
    assert page.locator("table").first.inner_text().startswith("Task")
    page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for()  # the delta chart drew
    example = page.locator(".st-key-compare_ex_extraction-0")
    assert example.locator("del.diff-del").first.inner_text() == "negativo"
    assert example.locator("ins.diff-ins").first.inner_text() == "positivo"
    hostile = page.locator(".st-key-compare_ex_insights-1")
    assert HOSTILE in hostile.locator(".tdiff").nth(1).inner_text()
    assert page.evaluate("() => window.__pwned") is None and not dialogs
    # A note typed on one example is stored with its author.
    box = page.locator(".st-key-compare_note_extraction-0 input")
    box.fill("tuned flips the sentiment")
    box.press("Enter")
    wait_for_app_idle(page)
    page.get_by_text("📝 rita: tuned flips the sentiment").wait_for()

    # -- blind review with the keyboard ---------------------------------------------------
    page.get_by_role("link", name="Blind review").click()
    page.get_by_text("Win rate of the tuned model").wait_for()
    wait_for_app_idle(page)
    main = page.locator("[data-testid='stMain']").inner_text()
    pair_view = main.lower().split("win rate")[0]
    assert "run1" not in main and "tiny-base" not in main and "base" not in pair_view and "tuned" not in pair_view
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # keys go to the page
    # The pair on screen is the container keyed blind_pair_<n> (n counts the pairs this tab
    # drew): a key moved the page on when n changes. (Comparing the texts shown missed it
    # when two pairs of the tiny model's outputs read the same.)
    pair_on_screen = ("() => { const el = document.querySelector('[class*=\"st-key-blind_pair_\"]');"
                      " return el ? [...el.classList].find((c) => c.startsWith('st-key-blind_pair_')) : null; }")
    for key in ("ArrowLeft", "t", "ArrowRight"):
        before = page.evaluate(pair_on_screen)
        assert before is not None
        page.keyboard.press(key)
        wait_for_app_idle(page)
        page.wait_for_function(f"(before) => ({pair_on_screen})() !== before", arg=before)
        wait_for_app_idle(page)
    assert page.evaluate("() => window.__pwned") is None and not dialogs

    with Store(home / "store.db") as store:
        notes = store.review_notes(cid)
        assert [(n["prompt_id"], n["author"], n["note"]) for n in notes] == [
            ("extraction-0", "rita", "tuned flips the sentiment")]
        judged = store.blind_judgements(cid)
        assert [j["choice"] for j in judged] == ["left", "tie", "right"]
        for j in judged:
            assert {j["left_side"], j["right_side"]} == {"base", "run1/best_checkpoint"}
            expected = "tie" if j["choice"] == "tie" else (
                "base" if (j["left_side"] if j["choice"] == "left" else j["right_side"]) == "base" else "tuned")
            assert j["winner"] == expected and j["reviewer"] == "rita" and j["seconds"] > 0
        assert len({j["prompt_id"] for j in judged}) == 3
