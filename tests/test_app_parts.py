"""The app's plain helpers: the `app` command line, safe rendering, guidelines, shortcuts, SSO matching."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from audit_app.cli import app as cli_app
from audit_app.ui import guidelines, keyboard, render
from rewards.types import TASKS


def _args(**kw):
    base = {"port": 8501, "address": "127.0.0.1", "store": None, "headless": False}
    base.update(kw)
    return argparse.Namespace(**base)


def test_app_command_passes_store_and_home_as_absolute_paths(home, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, env, cwd = cli_app.build_command(_args(store="rel/audit.db", port=8600, headless=True))
    assert argv[:5] == [sys.executable, "-m", "streamlit", "run", str(cli_app.APP_FILE)]
    assert argv[argv.index("--server.port") + 1] == "8600"
    assert argv[argv.index("--server.headless") + 1] == "true"
    assert argv[argv.index("--browser.gatherUsageStats") + 1] == "false"
    assert env["TUCANO_AUDIT_STORE"] == str(tmp_path / "rel" / "audit.db")
    assert env["TUCANO_AUDIT_HOME"] == str(home)
    assert (cwd / ".streamlit" / "config.toml").exists()


def test_app_command_defaults_to_env_store_then_home(home, monkeypatch):
    monkeypatch.delenv("TUCANO_AUDIT_STORE", raising=False)
    assert cli_app.resolve_store(None) == home / "store.db"
    monkeypatch.setenv("TUCANO_AUDIT_STORE", str(home / "other.db"))
    assert cli_app.resolve_store(None) == home / "other.db"
    argv, env, _ = cli_app.build_command(_args())
    assert "--server.headless" not in argv
    assert env["TUCANO_AUDIT_STORE"] == str(home / "other.db")


def test_app_command_rejects_a_bad_port(home):
    with pytest.raises(ValueError, match="--port"):
        cli_app.build_command(_args(port=70000))


def test_app_command_is_registered():
    from audit_app.cli import build_parser

    args = build_parser().parse_args(["app", "--port", "9000", "--headless"])
    assert args.func is cli_app.run and args.port == 9000 and args.headless


def test_app_url_never_prints_the_wildcard_address():
    assert cli_app.app_url("0.0.0.0", 8501) == "http://127.0.0.1:8501"
    assert cli_app.app_url("10.0.0.5", 80) == "http://10.0.0.5:80"


def test_clip_keeps_short_text_and_cuts_long_text():
    assert render.clip("abc") == render.Clipped("abc", 3, False)
    assert render.clip(None).text == ""
    big = "x" * (render.MAX_DISPLAY_CHARS + 10)
    cut = render.clip(big)
    assert cut.clipped and len(cut.text) == render.MAX_DISPLAY_CHARS and cut.total_chars == len(big)


def test_guess_language_only_calls_valid_json_json():
    assert render.guess_language('{"a": 1}') == "json"
    assert render.guess_language('{"a": 1') is None
    assert render.guess_language("<script>alert(1)</script>") is None


def test_invisible_characters_are_counted():
    assert render.invisible_count("abc") == 0
    assert render.invisible_count("a\u202eb\u200bc") == 2


def test_every_task_has_a_guideline_with_anchors_1_3_5():
    for task in TASKS:
        g = guidelines.guideline_for(task)
        assert [a.score for a in g.anchors] == [1, 3, 5]
        text = g.to_markdown()
        assert "**1**" in text and "**5**" in text
    with pytest.raises(KeyError, match="known"):
        guidelines.guideline_for("poetry")


def test_shortcuts_are_bindable_keys():
    from streamlit.elements.lib.shortcut_utils import normalize_shortcut

    assert keyboard.native_shortcuts()
    for key in [*keyboard.SCORE_KEYS.values(), keyboard.SKIP_KEY, keyboard.UNDO_KEY, keyboard.FLAG_KEY]:
        assert normalize_shortcut(key) == key.lower()
    assert "1 … 5" in keyboard.help_markdown()


def test_pages_never_pass_model_text_to_unsafe_html():
    pages = sorted((Path(cli_app.APP_FILE).parent.parent / "pages").glob("*.py"))
    assert len(pages) >= 8
    for path in [*pages, Path(render.__file__)]:
        assert "unsafe_allow_html=True" not in path.read_text(encoding="utf-8"), path


def test_prepare_store_migrates_and_reconciles_jobs(home, capsys):
    import subprocess

    from data.store import Store

    path = home / "fresh" / "store.db"
    cli_app.prepare_store(path)
    with Store(path) as store:
        assert "001_core" in store.applied_migrations()
        job_id = store.create_job("sample", ["sample", "--help"])
        finished = subprocess.Popen(["true"])
        finished.wait()
        store.mark_job_started(job_id, pid=finished.pid, pid_start="gone")
    cli_app.prepare_store(path)
    assert f"marked 1 job(s) whose process had ended: {job_id}" in capsys.readouterr().out
    with Store(path) as store:
        assert store.get_job(job_id)["status"] in ("lost", "failed", "succeeded")


def test_job_progress_moves_within_a_batch():
    from audit_app.jobs.runner import progress_view
    from audit_app.ui.job_view import progress_text

    running = {"status": "running", "done": 0, "total": 16, "message": "batch 1/2: token 57/160",
               "progress": {"fraction": 0.178, "tokens": 912, "tokens_per_s": 11.7, "eta_s": 83.0,
                            "batch": 1, "batches": 2, "step": 57, "max_steps": 160}}
    view = progress_view(running)
    assert view["fraction"] == pytest.approx(0.178) and view["tokens"] == 912 and view["eta"] == "1 min 23 s"
    assert progress_text(view, "sample") == "0 / 16 completions · batch 1/2, token 57/160"
    finished = {**running, "status": "succeeded", "done": 16, "progress": {**running["progress"], "fraction": 1.0}}
    view = progress_view(finished)
    assert progress_text(view, "sample") == "16 / 16 completions" and view["eta"] is None
    # A job that reports no fraction (an older row) still shows done / total.
    assert progress_view({"status": "running", "done": 3, "total": 4, "progress": {}})["fraction"] == 0.75


def test_item_excerpt_is_the_end_of_the_prompt_that_belongs_to_the_item():
    from audit_app.ui.item_view import item_excerpt

    fields = "\n".join(f'- "field_{i}": descrição longa do campo {i}.' for i in range(10))
    review = 'Avaliação do cliente:\nComentário: "Chegou quebrado e atrasado."'
    messages = [{"role": "system", "content": "Você extrai JSON."},
                {"role": "user", "content": f"Extraia os campos:\n{fields}\n\n{review}\n\nResponda somente com o JSON."}]
    excerpt = item_excerpt(messages, max_chars=200)
    assert excerpt.startswith("Avaliação do cliente:") and excerpt.endswith("Responda somente com o JSON.")
    assert "field_3" not in excerpt  # the instructions every item shares stay in the full prompt
    huge = [{"role": "user", "content": "x" * 5000}]
    assert len(item_excerpt(huge, max_chars=300)) == 301 and item_excerpt(huge, max_chars=300).startswith("…")
    assert item_excerpt([{"role": "system", "content": "só sistema"}]) == ""
    assert item_excerpt(None) == ""
