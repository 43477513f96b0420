"""Jobs: store records, real detached processes (sampling with the tiny model), cancel with
SIGTERM/SIGKILL, a crash mid-way, reconcile, and the `jobs` CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from audit_app import cli
from audit_app.jobs import runner as jobs
from data.store.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from data.store.roles import SYSTEM


def _wait(predicate, timeout=120.0, every=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s")


def _sample_argv(model_dir, **over):
    opts = {"--tasks": ["push", "insights", "extraction"], "--prompts": "2", "--per-prompt": "3",
            "--max-new-tokens": "16", "--seed": "1", "--batch-size": "3"}
    opts.update(over)
    argv = ["sample", "--model", str(model_dir)]
    for k, v in opts.items():
        argv += [k, *v] if isinstance(v, list) else [k, v]
    return argv


# -- store records ---------------------------------------------------------------------------
def test_job_rows_and_roles(store, users):
    job_id = store.create_job("sample", ["sample", "--prompts", "1"], actor=users["engineer"], meta={"m": 1})
    job = store.get_job(job_id)
    assert job["status"] == "queued" and job["argv"] == ["sample", "--prompts", "1"] and job["meta"] == {"m": 1}
    assert job["created_by"] == "engineer"
    with pytest.raises(PermissionDenied):
        store.create_job("sample", ["sample"], actor=users["annotator"])
    with pytest.raises(InvalidInput, match="argv"):
        store.create_job("sample", [], actor=users["engineer"])
    store.mark_job_started(job_id, pid=12345, pid_start="99")
    store.update_job_progress(job_id, done=3, total=10, message="going", extra={"tokens_per_s": 5.5})
    job = store.get_job(job_id)
    assert (job["status"], job["pid"], job["done"], job["total"]) == ("running", 12345, 3, 10)
    assert job["progress"] == {"tokens_per_s": 5.5}
    assert [j["id"] for j in store.list_jobs(active=True)] == [job_id]
    with pytest.raises(PermissionDenied):
        store.request_cancel(job_id, actor=users["reviewer"])
    assert store.finish_job(job_id, status="succeeded", exit_code=0)
    assert not store.finish_job(job_id, status="failed", exit_code=1)  # the first ending stands
    assert store.get_job(job_id)["status"] == "succeeded"
    with pytest.raises(Conflict, match="succeeded"):
        store.request_cancel(job_id, actor=users["engineer"])
    with pytest.raises(NotFound):
        store.get_job(999)
    with pytest.raises(InvalidInput, match="unknown job status"):
        store.list_jobs(status="exploded")


def test_bad_commands_are_refused_before_a_row_exists(file_store, sample_home):
    with pytest.raises(InvalidInput, match="not a valid tucano-audit command"):
        cli.start_job(file_store, SYSTEM, "sample", ["sample", "--no-such-flag"])
    for start in (cli.start_job, jobs.start_job):
        with pytest.raises(InvalidInput, match="another `jobs`"):
            start(file_store, SYSTEM, "jobs", ["jobs", "list"])
    assert file_store.list_jobs() == []


def test_memory_store_cannot_run_jobs(store):
    with pytest.raises(InvalidInput, match="store in a file"):
        jobs.start_job(store, SYSTEM, "sample", ["sample"])


def test_reconcile_marks_a_vanished_process_lost(file_store):
    """A real process that ended without recording anything (as after a reboot)."""
    job_id = file_store.create_job("sample", ["sample"])
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    file_store.mark_job_started(job_id, pid=proc.pid, pid_start=jobs.process_start(proc.pid))
    proc.wait()
    assert jobs.reconcile_jobs(file_store) == [job_id]
    job = file_store.get_job(job_id)
    assert job["status"] == "lost" and "did not record" in job["error"]
    assert jobs.reconcile_jobs(file_store) == []


def test_reconcile_leaves_live_processes_alone(file_store):
    job_id = file_store.create_job("sample", ["sample"])
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        file_store.mark_job_started(job_id, pid=proc.pid, pid_start=jobs.process_start(proc.pid))
        assert jobs.reconcile_jobs(file_store) == []
        # The same pid with another start time is another process (pid reuse): not ours.
        file_store.mark_job_started(job_id, pid=proc.pid, pid_start="1")
        assert jobs.reconcile_jobs(file_store) == [job_id]
    finally:
        proc.kill()
        proc.wait()


def test_cancel_a_job_that_never_started(file_store):
    job_id = file_store.create_job("sample", ["sample"])
    job = jobs.cancel_job(file_store, SYSTEM, job_id)
    assert job["status"] == "cancelled"


# -- real job processes ------------------------------------------------------------------------
@pytest.mark.slow
def test_sample_job_runs_to_completion(file_store, sample_home, tiny_model_dir):
    job_id = jobs.start_job(file_store, SYSTEM, "sample", _sample_argv(tiny_model_dir), meta={"who": "test"})
    job = _wait(lambda: (j := file_store.get_job(job_id))["status"] in ("succeeded", "failed") and j)
    log = jobs.log_tail(job)
    assert job["status"] == "succeeded", log
    assert job["exit_code"] == 0 and job["done"] == job["total"] == 18
    assert job["progress"]["batch_id"] == f"job-{job_id}" and job["progress"]["tokens_per_s"] > 0
    assert job["log_path"] == str(sample_home / "jobs" / f"{job_id}.log")
    assert "stored 18 rollouts" in log and "Loading weights" not in log
    assert len(file_store.list_rollouts(batch_id=f"job-{job_id}", limit=None)) == 18


@pytest.mark.slow
def test_failing_job_records_exit_code_and_reason(file_store, sample_home, tmp_path, tiny_model_dir):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt_id": "x", "task": "poetry", "prompt": [{"role": "user", "content": "oi"}]}\n')
    job_id = jobs.start_job(file_store, SYSTEM, "sample", _sample_argv(tiny_model_dir, **{"--prompts-file": str(bad)}))
    job = _wait(lambda: (j := file_store.get_job(job_id))["status"] in ("succeeded", "failed") and j)
    assert job["status"] == "failed" and job["exit_code"] == 2
    assert "unknown task 'poetry'" in job["error"]


def _whole_batches(store, job_id, batch=3):
    rows = store.list_rollouts(batch_id=f"job-{job_id}", limit=None)
    assert len(rows) % batch == 0, f"{len(rows)} rows: a half-written batch"
    for r in rows:  # every stored row is complete: scored, with its generation record
        assert r["reward_version"] and r["reward_total"] is not None and r["completion_tokens"] is not None
    return rows


@pytest.mark.slow
def test_cancel_mid_way_keeps_finished_batches(file_store, sample_home, tiny_model_dir):
    argv = _sample_argv(tiny_model_dir, **{"--prompts": "30", "--max-new-tokens": "48"})
    job_id = jobs.start_job(file_store, SYSTEM, "sample", argv)
    _wait(lambda: len(file_store.list_rollouts(batch_id=f"job-{job_id}", limit=None)) >= 6, every=0.05)
    job = jobs.cancel_job(file_store, SYSTEM, job_id, grace=20)
    assert job["status"] == "cancelled"
    assert job["exit_code"] == 128 + signal.SIGTERM  # it stopped on SIGTERM and said so itself
    rows = _whole_batches(file_store, job_id)
    assert 6 <= len(rows) < 270
    assert "cancelled (SIGTERM)" in jobs.log_tail(job)
    with pytest.raises(Conflict):
        jobs.cancel_job(file_store, SYSTEM, job_id)


@pytest.mark.slow
def test_killed_job_is_reconciled_and_leaves_no_half_rows(file_store, sample_home, tiny_model_dir):
    argv = _sample_argv(tiny_model_dir, **{"--prompts": "30", "--max-new-tokens": "48"})
    job_id = jobs.start_job(file_store, SYSTEM, "sample", argv)
    _wait(lambda: len(file_store.list_rollouts(batch_id=f"job-{job_id}", limit=None)) >= 3, every=0.05)
    job = file_store.get_job(job_id)
    os.killpg(job["pid"], signal.SIGKILL)  # a crash: no chance to record anything
    _wait(lambda: jobs._children[(job["pid"], job["pid_start"])].poll() is not None)
    assert jobs.reconcile_jobs(file_store) == [job_id]
    job = file_store.get_job(job_id)
    assert job["status"] == "failed" and job["exit_code"] == -signal.SIGKILL
    _whole_batches(file_store, job_id)


@pytest.mark.slow
def test_jobs_cli(file_store, sample_home, tiny_model_dir, capsys):
    from audit_app.cli import main

    job_id = file_store.create_job("sample", _sample_argv(tiny_model_dir))
    before = dict(os.environ)
    # `jobs run` is what start_job launches; run in-process here it records its own ending.
    assert main(["jobs", "--store", file_store.path, "run", str(job_id)]) == 0
    assert file_store.get_job(job_id)["status"] == "succeeded"
    # The job's variables (which job progress reports to, which store) do not outlive it.
    assert dict(os.environ) == before
    assert main(["jobs", "--store", file_store.path, "list"]) == 0
    out = capsys.readouterr().out
    assert f"{job_id:>4}  sample" in out and "succeeded" in out and "18/18" in out
    assert main(["jobs", "--store", file_store.path, "cancel", str(job_id)]) == 2
    assert "only a queued or running job can be cancelled" in capsys.readouterr().err
