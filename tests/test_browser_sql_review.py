"""Real browser: a sql_qa item puts the completion first, above the fold of a 1000 px
window, with the prompt and its long schema folded behind the question, and beside the
completion what its query returns (rows and count, or the error), run read-only on the
home's commerce database; the reference answer never appears.
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.fixtures_browser import login, wait_for_app_idle

pytestmark = pytest.mark.browser

PASSWORD = "ana-senha-123"
REFERENCE = "[[4242.42]]"  # the reference answer: must never reach the page
SCHEMA = "\n".join(f"- orders_{i}(order_id TEXT, customer_id TEXT, status TEXT, value REAL)" for i in range(60))
QUESTION = "Quantos pedidos foram entregues em SP?"
COMPLETIONS = {
    "rows": "```sql\nSELECT status, count(*) AS pedidos FROM orders GROUP BY status ORDER BY status\n```\n"
            "A consulta conta os pedidos por status.",
    "error": "```sql\nSELECT estado_inexistente FROM orders\n```\nConta os pedidos.",
    "write": "```sql\nDELETE FROM orders\n```\nApaga tudo.",
    "none": "Não sei escrever SQL para isso.",
}


def make_commerce_db(path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (order_id TEXT, status TEXT, state TEXT)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                         [(f"o{i}", ("delivered", "shipped", "canceled")[i % 3], "SP") for i in range(30)])


def test_sql_items_show_the_completion_first_with_its_result(home, app_server, browser_page, tmp_path):
    from data import paths
    from data.store import Store

    make_commerce_db(paths.commerce_db())
    with Store(home / "store.db") as store:
        store.add_user("ana", "annotator", PASSWORD)
        store.add_prompts([{
            "prompt_id": "sql_qa-fold", "task": "sql_qa", "reference_sql": "SELECT 4242.42",
            "reference_answer": REFERENCE,
            "prompt": [{"role": "system", "content": "Você é analista de dados e escreve SQL para SQLite."},
                       {"role": "user", "content": f"Pergunta de negócio: {QUESTION}\n\n"
                                                   f"Tabelas que você pode usar (SQLite):\n{SCHEMA}\n\n"
                                                   "Escreva a consulta SQL que responde à pergunta."}]}])
        ids = store.add_rollouts([{"prompt_id": "sql_qa-fold", "model_id": "m", "completion": text,
                                   "sample_index": i, "reward_name": "sql_qa", "reward_total": 0.5,
                                   "reward_version": "v"} for i, text in enumerate(COMPLETIONS.values())])
    kinds = dict(zip(ids, COMPLETIONS, strict=True))
    server = app_server(home / "store.db")
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1000})
    login(page, server.url, "ana", PASSWORD)

    seen = set()
    for n in range(len(ids)):
        caption = page.get_by_text("Item ").first
        caption.wait_for()
        wait_for_app_idle(page)
        rid = int(caption.inner_text().split()[1])
        kind = kinds[rid]
        seen.add(kind)
        page.locator(f".st-key-annotate_score_{rid}_1 button").wait_for()
        # The completion starts well above the fold; the schema is folded away.
        code = page.locator("[data-testid='stCode']").first
        assert code.bounding_box()["y"] + 40 < 1000, code.bounding_box()
        summary = page.get_by_text(f"Question: {QUESTION}")
        assert summary.is_visible()
        assert not page.get_by_text("orders_59(order_id").is_visible()
        assert REFERENCE not in page.inner_text("body") and "4242" not in page.inner_text("body")
        panel = page.locator("[data-testid='stMain']").inner_text()
        assert "What the query returns" in panel
        if kind == "rows":
            page.get_by_text("3 rows · read-only").wait_for()
            assert "delivered" in panel and "canceled" in panel
            page.screenshot(path=str(tmp_path / "sql_item.png"))
        elif kind in ("error", "write"):
            assert "The query does not run" in panel
        else:
            assert "No SQL query found in the completion." in panel
        if n == 0:
            summary.click()  # unfolding shows the prompt and its schema
            page.get_by_text("orders_59(order_id", exact=False).wait_for()
        page.keyboard.press("3")
        page.wait_for_function(
            "(rid) => ![...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
            ".some(e => e.innerText.startsWith('Item ' + rid + ' '))", arg=rid)
    assert seen == set(COMPLETIONS)
    with sqlite3.connect(paths.commerce_db()) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 30  # the DELETE never ran
