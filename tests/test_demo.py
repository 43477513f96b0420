"""`tucano-audit demo`: on an empty home it builds the data, creates the accounts, samples a
first batch with progress, and serves the app; run again, it reuses all of it.

The first batch uses the tiny model (`--model`) to stay fast; the demo model's own
conversion is covered by tests/test_models_demo.py.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demo_args(model_dir) -> list[str]:
    return ["--model", str(model_dir), "--prompts", "1", "--per-prompt", "2", "--max-new-tokens", "16"]


def test_demo_on_a_fresh_home_then_again(tmp_path, tiny_model_dir, capsys, monkeypatch):
    import httpx

    pytest.importorskip("data.build", reason="data.build not available yet")
    home = tmp_path / "home"
    port = _free_port()
    env = {**os.environ, "TUCANO_AUDIT_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("TUCANO_AUDIT_STORE", None)
    env.pop("TUCANO_AUDIT_JOB_ID", None)
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "audit_app", "demo", "--port", str(port),
                                 *_demo_args(tiny_model_dir)],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        healthy = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).text == "ok"
            except httpx.HTTPError:
                pass
            if healthy:
                break
            time.sleep(0.5)
        text = log.read_text()
        assert healthy, text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert "[1/5] data: building" in text
    assert "[3/5] accounts" in text
    assert re.search(r"\[progress\] 8/8 completions", text), text
    assert f"app: starting on http://localhost:{port}" in text
    for login in ("annotator   password: annotator-demo", "engineer    password: engineer-demo",
                  "admin       password: admin-demo"):
        assert login in text

    from data.store import Store

    with Store(home / "store.db") as store:
        assert store.authenticate("annotator", "annotator-demo").role == "annotator"
        assert store.authenticate("engineer", "engineer-demo").role == "engineer"
        assert len(store.list_users()) == 5
        assert len(store.list_rollouts(batch_id="demo-first-batch", limit=None)) == 8

    # Again, in-process and without the app: everything is reused, nothing is added.
    from audit_app.cli import main

    monkeypatch.setenv("TUCANO_AUDIT_HOME", str(home))
    monkeypatch.delenv("TUCANO_AUDIT_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--no-app", *_demo_args(tiny_model_dir)]) == 0
    again = capsys.readouterr().out
    assert "data: reusing" in again and "reusing the first batch (8 rollouts)" in again
    assert "existing account: password as you left it" in again
    assert "app: not started (--no-app)" in again
    with Store(home / "store.db") as store:
        assert store.count_rollouts() == 8 and len(store.list_users()) == 5


def test_demo_rejects_bad_numbers(tmp_path, monkeypatch, capsys):
    from audit_app.cli import main

    monkeypatch.setenv("TUCANO_AUDIT_HOME", str(tmp_path / "home"))
    assert main(["demo", "--no-app", "--port", "0"]) == 2
    assert "--port must be between 1 and 65535" in capsys.readouterr().err
    assert main(["demo", "--no-app", "--per-prompt", "0"]) == 2
    assert not (tmp_path / "home").exists()  # nothing done before the check
