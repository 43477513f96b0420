"""Fixtures: Debian chromium through Playwright and a live Streamlit server.

Real-browser tests are marked `@pytest.mark.browser`. They need Debian's chromium at
/usr/bin/chromium (`make browser` installs it; Playwright's own browser download cannot
work offline) and skip with that reason when it is missing.

Fixtures
- `chromium_executable` (session): the path "/usr/bin/chromium", or skip.
- `browser` (session): a Playwright sync `Browser` launched from that executable with
  CHROMIUM_ARGS (no sandbox, no GPU, no background network: the machine is offline).
- `browser_page` (function): a fresh `Page` in its own context (own cookies, so each
  test starts logged out), 1400x1000, 15 s default timeout; closed after the test.
- `app_server` (function): a factory. Prepare a store file first (users, rollouts...),
  then `server = app_server(store_path)` starts
  `python -m audit_app app --port <free port> --store <store_path> --headless`
  on 127.0.0.1 in its own process group with TUCANO_AUDIT_HOME = the test's `home`,
  waits until /_stcore/health answers "ok" (60 s at most; the log tail is shown if it
  dies or hangs) and returns an `AppServer` (`url`, `store_path`, `port`, `log_path`,
  `process`). Every server started is killed (its whole process group) after the test.
  `store_path` defaults to `<home>/store.db`; `extra_env` adds environment variables.

Helpers (import them: `from tests.fixtures_browser import login, seed_items, wait_for_app_idle`)
- `wait_for_app_idle(page)`: wait until Streamlit has finished its current script run.
- `login(page, url, username, password)`: open the app and log in through the form.
- `seed_items(store, per_task=2)`: prompts and scored rollouts of every task, queued for
  annotators; each completion carries an HTML/script payload that must never run.

Example

    @pytest.mark.browser
    def test_something(home, app_server, browser_page):
        store = Store(home / "store.db"); store.add_user("ana", "annotator", password="pw-ana-123")
        store.close()
        server = app_server(home / "store.db")
        login(browser_page, server.url, "ana", "pw-ana-123")
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STARTUP_TIMEOUT_S = 60
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class AppServer:
    url: str
    port: int
    store_path: Path
    log_path: Path
    process: subprocess.Popen

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(server: AppServer, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"app exited with code {server.process.returncode}:\n{server.log_tail()}")
        try:
            response = httpx.get(f"{server.url}/_stcore/health", timeout=2)
            if response.status_code == 200 and response.text.strip() == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"app not healthy after {timeout:.0f} s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def start_app(home: Path, store_path: Path, log_path: Path, *, extra_env: dict[str, str] | None = None,
              timeout: float = STARTUP_TIMEOUT_S) -> AppServer:
    """`tucano-audit app` on `store_path` with `home` as its home, in its own process group,
    output to `log_path`; returned once healthy (stop it with `stop_app`)."""
    port = free_port()
    env = dict(os.environ)
    env["TUCANO_AUDIT_HOME"] = str(home)
    env.pop("TUCANO_AUDIT_JOB_ID", None)
    env.update(extra_env or {})
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "audit_app", "app", "--port", str(port),
             "--store", str(store_path), "--headless"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    server = AppServer(f"http://127.0.0.1:{port}", port, Path(store_path), Path(log_path), process)
    try:
        _wait_healthy(server, timeout)
    except RuntimeError:
        stop_app(server)
        raise
    return server


def stop_app(server: AppServer) -> None:
    _stop(server.process)


@pytest.fixture
def app_server(home, tmp_path):
    """Factory: start the app on a prepared store; see the module docstring."""
    started: list[AppServer] = []

    def start(store_path: str | Path | None = None, *, extra_env: dict[str, str] | None = None,
              timeout: float = STARTUP_TIMEOUT_S) -> AppServer:
        store_path = Path(store_path or home / "store.db").resolve()
        log_path = tmp_path / f"app-{len(started)}.log"
        server = start_app(home, store_path, log_path, extra_env=extra_env, timeout=timeout)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_app(server)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        found = shutil.which("chromium")
        pytest.skip(f"Debian chromium is not at {CHROMIUM} (found: {found}); run `make browser` "
                    "(apt-get install chromium) to run the browser tests")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_executable):
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    playwright = playwright_api.sync_playwright().start()
    try:
        instance = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS,
                                              headless=True)
    except Exception:
        playwright.stop()
        raise
    yield instance
    instance.close()
    playwright.stop()


@pytest.fixture
def browser_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="pt-BR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


# -- helpers for tests --------------------------------------------------------------------

def wait_for_app_idle(page, timeout_ms: int = 15_000) -> None:
    """Wait until the Streamlit script run triggered by the last interaction has finished.

    While a run is in progress the app root carries data-test-script-state="running";
    a short first wait lets a just-sent interaction start its run before we look.
    """
    page.wait_for_timeout(150)
    page.wait_for_function(
        "() => { const app = document.querySelector('[data-testid=\"stApp\"]');"
        " return app && app.getAttribute('data-test-script-state') !== 'running'"
        " && app.getAttribute('data-test-connection-state') === 'CONNECTED'; }",
        timeout=timeout_ms,
    )


def login(page, url: str, username: str, password: str) -> None:
    """Open the app and log in through the username/password form."""
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()
    wait_for_app_idle(page)


def seed_items(store, per_task: int = 2, *, model_id: str = "test-model") -> list[int]:
    """Put `per_task` prompts with one rollout each per task into `store`, ready to annotate
    (rewards given explicitly, so no reward code runs). Every completion carries an HTML
    payload (`<script>window.__pwned = N</script>`, an <img onerror>) that must show as
    text, never run. Returns the rollout ids."""
    from rewards.types import TASKS

    prompts, rollouts = [], []
    for task in TASKS:
        for i in range(per_task):
            pid = f"{task}-seed{i:04d}"
            prompts.append({"prompt_id": pid, "task": task, "split": "train", "prompt": [
                {"role": "system", "content": "Você é um assistente de e-commerce."},
                {"role": "user", "content": f"Tarefa {task} número {i}: responda com cuidado."}]})
            n = len(rollouts)
            rollouts.append({
                "prompt_id": pid, "model_id": model_id, "completion":
                    f'{{"resposta": "item {n}"}} <b>negrito</b><script>window.__pwned = {n + 1}</script>'
                    f'<img src="x" onerror="window.__pwned = {n + 1}">',
                "reward_name": task, "reward_total": 0.123, "reward_components": {"format": 0.123},
                "reward_version": "seed-version", "source": "sample", "batch_id": "seed",
            })
    store.add_prompts(prompts)
    return store.add_rollouts(rollouts)
