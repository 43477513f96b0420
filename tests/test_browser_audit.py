"""The Audit & gate page in a real browser (Debian chromium through Playwright): the
per-task table fits the page, numbers are formatted (a tiny p-value reads like 4.6e-06,
an undefined figure is a dash, never `None`), the engineer is offered the rollouts a task
lacks, and the exploit check shows each family's score with its example folded away, as
text."""

from __future__ import annotations

import re
import time

import pytest

from data.store import Store
from rewards import versions
from tests.fixtures_browser import login, wait_for_app_idle
from tests.test_audit_support import GROUNDED, synthetic_items

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def seeded(path) -> None:
    """push: 120 items scored by three people (a tiny p-value); extraction: 30 items, one person
    (no agreement: undefined figures); sql_qa and insights: nothing."""
    now = versions.current_versions()
    with Store(path) as store:
        people = {n: store.add_user(n, "annotator", f"{n}-password-1") for n in ("ana", "bia", "caio")}
        store.add_user("eng", "engineer", "eng-password-1")
        for task, n, who, share in (("push", 120, ("ana", "bia", "caio"), 0.3), ("extraction", 30, ("ana",), 0)):
            items = synthetic_items(task, n, seed=3, annotators=who, double_share=share, repeat_share=0)
            grounded = {p: GROUNDED[task](p) for p in sorted({it["prompt_id"] for it in items})}
            store.add_prompts([{"prompt_id": p, "task": task, "prompt": [{"role": "user", "content": text}], **meta}
                               for p, (text, meta) in grounded.items()])
            ids = store.add_rollouts([{"prompt_id": it["prompt_id"], "model_id": "m", "sample_index": it["rollout_id"],
                                       "completion": it["completion"], "reward_name": task,
                                       "reward_total": it["reward_total"], "reward_components": it["reward_components"],
                                       "reward_version": now[task]} for it in items])
            for rid, it in zip(ids, items, strict=True):
                for a in it["annotations"]:
                    store.conn.execute("INSERT INTO annotations (rollout_id, annotator_id, round, score, created_at,"
                                       " updated_at) VALUES (?, ?, 0, ?, 'now', 'now')",
                                       [rid, people[a["annotator"]].id, a["score"]])


def test_audit_table_fits_and_reads_well(home, app_server, browser_page, tmp_path):
    seeded(home / "store.db")
    server = app_server(home / "store.db")
    page = browser_page
    login(page, server.url, "eng", "eng-password-1")  # engineers land on the Audit & gate page
    table = page.get_by_test_id("stTable").first
    table.wait_for()
    wait_for_app_idle(page, timeout_ms=60_000)
    fits = page.evaluate("() => { const t = document.querySelector('[data-testid=stTable]');"
                         " const main = document.querySelector('[data-testid=stMain]');"
                         " return [t.scrollWidth, t.clientWidth, t.getBoundingClientRect().right,"
                         " main.getBoundingClientRect().right]; }")
    assert fits[0] <= fits[1] and fits[2] <= fits[3], fits
    cells = page.evaluate("() => [...document.querySelectorAll('[data-testid=stTable] tbody tr')]"
                          ".map(tr => [...tr.querySelectorAll('th, td')].map(c => c.innerText.trim()))")
    rows = {r[0]: r for r in cells}
    assert rows["push"][1] == "PASS" and re.fullmatch(r"\d\.\de‑\d\d", rows["push"][5]), rows["push"]
    assert rows["extraction"][7] == "–" and rows["sql_qa"][4] == "–"   # undefined: a dash
    body = page.get_by_test_id("stMain").inner_text()
    assert "None" not in body and "nan" not in body.lower().split()
    assert not re.search(r"0\.0000\d", body)
    assert "extraction: the audit needs 100 scored items but the store holds only 30" in body
    assert page.get_by_role("button", name=re.compile(r"Sample \d+ more extraction")).is_visible()
    page.screenshot(path=str(tmp_path / "audit.png"))
    # The other sections are tabs, not drawn until opened: the table paints first.
    assert page.locator(".js-plotly-plot").count() == 0 and page.get_by_test_id("stDataFrame").count() == 0
    # The exploit check: a row per family with its median and the bar; examples folded away.
    page.get_by_role("tab", name="Exploit check").click()
    examples = page.get_by_test_id("stExpander").filter(has_text="Exploit examples, push")
    examples.wait_for()
    wait_for_app_idle(page)
    assert page.get_by_test_id("stTable").count() == 0  # the gate's tab is not drawn meanwhile
    examples.get_by_text("Exploit examples, push").click()
    code = examples.get_by_test_id("stCode")
    code.first.wait_for()
    # One example per family, shown as text: the placeholders family's braces and brackets stay literal.
    assert code.count() >= 10 and re.search(r"\{nome\}|\[PRODUTO\]", examples.inner_text())
    page.get_by_role("tab", name="Charts").click()
    page.locator(".js-plotly-plot").first.wait_for()
    assert page.locator(".js-plotly-plot").count() == 3
    # A point of the scatter opens its rollout below it.
    scatter = page.locator(".js-plotly-plot").nth(2)
    scatter.locator(".scatterlayer .point").first.wait_for()
    wait_for_app_idle(page)
    scatter.locator(".scatterlayer .point").nth(5).click(force=True)
    opened = page.get_by_test_id("stExpander").filter(has_text=re.compile(r"Rollout \d+ · (push|extraction)"))
    opened.first.wait_for()
    wait_for_app_idle(page)
    assert not page.get_by_test_id("stException").count()
    assert "Reward breakdown" in opened.first.inner_text()
    page.screenshot(path=str(tmp_path / "exploits.png"), full_page=True)


def test_a_server_computes_the_audit_before_anyone_visits(home, app_server):
    """The server's start warms the Audit & gate page's default audit, so the first engineer
    of a server that has been up a while does not wait for it. Seen from outside: the audit
    stores each task's remaining need (what the annotate page reads) with no visitor at all."""
    seeded(home / "store.db")
    with Store(home / "store.db") as store:
        assert store.audit_targets() == {}
    server = app_server(home / "store.db")  # only its health check has been asked for
    deadline = time.monotonic() + 90
    targets = {}
    while time.monotonic() < deadline and len(targets) < 4:
        time.sleep(0.5)
        with Store(server.store_path) as store:
            targets = store.audit_targets()
    assert set(targets) == {"extraction", "sql_qa", "insights", "push"}
    assert targets["push"]["target_items"] >= 100
