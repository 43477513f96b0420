"""The Audit & gate page as an engineer sees it in Chromium: seconds until its table shows.

Goal (the app issue): first paint under 2 s on the demo store. Timed, each from the user's
action to (1) the per-task table painted (stamped inside the page on the animation frame
after the table appears) and (2) the whole page done (its script run finished and the
table seen by Playwright, whose probe waits for the page's main thread to be free):

- login, server just started: the server answers its health check, the engineer logs in
  at once and lands on the Audit & gate page (the app's background warm-up of imports,
  reward versions and exploit benches may still be running);
- login, server warmed: the same after the server has been up for --settle seconds;
- reload: the page reloaded in the browser (the session cookie brings the user back);
- from the menu: another page first, then "Audit & gate" in the menu.

    .venv/bin/python bench/audit_page_browser.py [--home DIR] [--user engineer] [--password engineer-demo]
        [--rounds 3] [--settle 15]

The store is the home's store.db (what `make demo` made), copied first: the bench never
writes to it. Needs Debian's chromium (`make browser`). Prints the load average beside
each figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data import paths  # noqa: E402
from data.store import Store  # noqa: E402
from tests.fixtures_browser import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app, wait_for_app_idle  # noqa: E402

TABLE = "[data-testid=stTable]"

# Installed in every document before the app's own scripts: when the Audit & gate page's
# table first appears after `window.__armTable()`, the next animation frame (the frame that
# paints it) stamps `window.__tableAt` with the wall clock. Measured in the page because a
# probe from outside (Playwright's polling) runs only when the page's main thread is free,
# which on a loaded machine is after the charts below the table have rendered.
PAINT_PROBE = """
(() => {
  window.__tableAt = null;
  let armed = true;
  window.__armTable = () => { window.__tableAt = null; armed = true; };
  const seen = () => [...document.querySelectorAll('h1')].some(h => h.textContent.includes('Audit & gate'))
                     && document.querySelector('[data-testid=stTable]');
  const check = () => {
    if (armed && seen()) { armed = false; requestAnimationFrame(() => { window.__tableAt = Date.now(); }); }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true});
})();
"""


def table_after(page, action) -> tuple[float, float]:
    """(seconds from `action()` to the audit table painted, to the whole page's script run
    finished and the table visible to an outside probe)."""
    page.evaluate("window.__armTable && window.__armTable()")
    started = time.time()
    action()
    page.locator(TABLE).first.wait_for(timeout=120_000)
    wait_for_app_idle(page, timeout_ms=120_000)
    done = time.time() - started
    page.wait_for_function("window.__tableAt !== null", timeout=10_000)
    painted = page.evaluate("window.__tableAt") / 1000.0 - started
    return painted, done


def log_in(page, url: str, user: str, password: str):
    page.goto(url)
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    return lambda: page.get_by_role("button", name="Log in", exact=True).click()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=None, help="a demo home (default: the current home)")
    ap.add_argument("--user", default="engineer")
    ap.add_argument("--password", default="engineer-demo")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--settle", type=float, default=15.0, help="seconds the warmed server waits before the log-in")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    home = (args.home or paths.home()).resolve()
    source = home / "store.db"
    if not source.is_file():
        raise SystemExit(f"no store at {source}: run `make demo` first (or give --home)")
    figures: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for r in range(args.rounds):
            copy = Path(tmp) / f"store-{r}.db"
            with Store(source) as src:
                src.conn.execute("VACUUM INTO ?", [str(copy)])
            for label, settle in (("log-in, server just started", 0.0), ("log-in, server warmed", args.settle)):
                server = start_app(home, copy, Path(tmp) / f"app-{r}-{settle}.log")
                url = server.url
                try:
                    time.sleep(settle)
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    context.add_init_script(PAINT_PROBE)
                    page = context.new_page()
                    click = log_in(page, url, args.user, args.password)
                    figures.setdefault(label, []).append(table_after(page, click))
                    if settle:
                        figures.setdefault("reload", []).append(table_after(page, page.reload))
                        page.get_by_role("link", name="Rollouts").first.click()
                        wait_for_app_idle(page)
                        link = page.get_by_role("link", name="Audit & gate").first
                        figures.setdefault("from the menu", []).append(table_after(page, link.click))
                    page.context.close()
                finally:
                    stop_app(server)
        browser.close()
    load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    print(f"Audit & gate page on {source} ({args.rounds} rounds; goal: first paint < 2 s)  [{load}]")
    print("  seconds from the action to: the per-task table painted | the whole page done")
    for label, pairs in figures.items():
        painted, done = [p for p, _ in pairs], [d for _, d in pairs]
        print(f"  {label:<30} painted median {statistics.median(painted):.2f} s, max {max(painted):.2f} s "
              f"| done median {statistics.median(done):.2f} s, max {max(done):.2f} s "
              f"({', '.join(f'{p:.2f}/{d:.2f}' for p, d in pairs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
