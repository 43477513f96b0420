"""AppTest of the Sample and Jobs pages: roles, the form starting a real sampling job (tiny
model), progress and first completions, checkpoints from runs, the job list, log and cancel."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from audit_app.ui.context import SESSION_USER

PAGES = Path(__file__).resolve().parent.parent / "audit_app" / "pages"


@pytest.fixture
def page_store(sample_home, monkeypatch):
    from data.store import Store
    from data.store.roles import ROLES

    path = sample_home / "store.db"
    monkeypatch.setenv("TUCANO_AUDIT_STORE", str(path))
    store = Store(path)
    store.users = {role: store.add_user(f"{role}1", role, "pw-123456") for role in ROLES}
    yield store
    store.close()


def run_page(name: str, user) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    at.session_state[SESSION_USER] = user
    return at.run()


def _texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.markdown, *at.caption, *at.error, *at.info, *at.subheader)]
    parts += [str(e.value) for e in at.code] + [str(e.label) for e in at.expander]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", ["sample.py", "jobs.py"])
def test_pages_are_for_engineers(page_store, page):
    at = run_page(page, page_store.users["annotator"])
    assert not at.exception
    assert any("engineer" in e.value for e in at.error)
    at = run_page(page, page_store.users["engineer"])
    assert not at.exception and not at.error
    assert "No" in _texts(at)  # "No sampling job yet." / "No jobs yet."


def test_bad_form_input_is_shown_not_started(page_store):
    at = run_page("sample.py", page_store.users["engineer"])
    at.multiselect(key="sample_tasks").set_value([])
    at = _submit(at)
    assert not at.exception
    assert any("unknown task" in e.value for e in at.error)
    assert page_store.list_jobs() == []


def _submit(at: AppTest) -> AppTest:
    return next(b for b in at.button if b.label == "Start sampling").click().run()


@pytest.mark.slow
def test_start_follow_and_list_a_sampling_job(page_store, tiny_model_dir):
    at = run_page("sample.py", page_store.users["engineer"])
    at.text_input(key="sample_base").input(str(tiny_model_dir))
    at.multiselect(key="sample_tasks").set_value(["push", "insights"])
    at.number_input(key="sample_prompts").set_value(2)
    at.number_input(key="sample_per_prompt").set_value(2)
    at.number_input(key="sample_max_new_tokens").set_value(16)
    at = _submit(at)
    assert not at.exception, at.exception
    job_id = at.session_state["sample_job_id"]
    job = page_store.get_job(job_id)
    assert job["created_by"] == "engineer1" and job["argv"][:3] == ["sample", "--model", str(tiny_model_dir)]

    deadline = time.monotonic() + 120
    while page_store.get_job(job_id)["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
    at = at.run()
    text = _texts(at)
    assert f"Job {job_id}: succeeded" in text, text
    assert "8 / 8 completions" in [p.proto.text for p in at.get("progress")][0]
    assert len(at.expander) == 5  # the first completions, with their rewards
    assert "reward" in at.expander[0].label

    at = run_page("jobs.py", page_store.users["engineer"])
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["id"]) == [job_id] and list(table["status"]) == ["succeeded"]
    assert "stored 8 rollouts" in _texts(at)


def test_jobs_page_cancels_a_running_job(page_store):
    """A job row whose process is real and still running; the page's button stops it."""
    from audit_app.jobs import runner as jobs

    engineer = page_store.users["engineer"]
    job_id = page_store.create_job("sample", ["sample", "--prompts", "1"], actor=engineer)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    started = jobs.process_start(proc.pid)
    jobs._children[(proc.pid, started)] = proc
    page_store.mark_job_started(job_id, pid=proc.pid, pid_start=started)
    at = run_page("jobs.py", engineer)
    assert f"Job {job_id}: running" in _texts(at)
    at = next(b for b in at.button if b.label == "Cancel job").click().run()
    assert not at.exception
    assert proc.wait(timeout=20) is not None
    assert page_store.get_job(job_id)["status"] == "cancelled"


def test_checkpoints_from_runs_and_folders(page_store, sample_home, tiny_model_dir):
    from train.sampling import list_checkpoints

    folder = sample_home / "runs" / "r7" / "checkpoint-20"
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tiny_model_dir)}))
    (sample_home / "runs" / "r7" / "notes").mkdir()
    found = list_checkpoints(page_store)
    assert found == [{"label": "r7/checkpoint-20", "adapter": str(folder.resolve()),
                      "base_model": str(tiny_model_dir), "run": None, "step": None}]
    at = run_page("sample.py", page_store.users["engineer"])
    assert at.selectbox(key="sample_checkpoint").options == ["r7/checkpoint-20"]
