"""The job runner: long work (sampling, training, comparison) as a detached process.

    job_id = start_job(store, actor, "sample", ["sample", "--tasks", "push", "--prompts", "4"])
    cancel_job(store, actor, job_id)         # SIGTERM to its process group, SIGKILL after a grace
    reconcile_jobs(store)                    # rows whose process is gone -> failed / lost

Why a process and not a thread: Streamlit reruns scripts and may restart; a model loaded in
a thread would die with a rerun or block the server. A job is `python -m audit_app jobs run
ID` started in its own session (so its process group can be signalled as one, and closing
the app does not kill it), with TUCANO_AUDIT_JOB_ID and TUCANO_AUDIT_STORE in its
environment and stdout/stderr in `<home>/jobs/ID.log`. That wrapper reads the job's argv
from the store, runs the command in-process, and records its own exit code and status.
When a process dies without saying so (SIGKILL, out of memory, a reboot), reconcile_jobs
notices that its pid is gone and marks the row failed (exit code known) or lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from data import paths
from data.store.errors import InvalidInput
from data.store.progress import ENV_JOB_ID
from data.store.roles import User

GRACE_SECONDS = 10.0
# A job row with no pid yet is given this long to start before reconcile calls it lost.
START_TIMEOUT_SECONDS = 120.0
# Popen objects of jobs this process started: polling them reaps the child (a finished child
# left unreaped is a zombie whose pid still "exists") and yields its exit code. Keyed by the
# process (pid and start time), not the job id: job ids are per store, and a process may
# open several stores (tests do).
_children: dict[tuple[int, str | None], subprocess.Popen] = {}


def check_shape(argv: list[str]) -> None:
    """The checks a job's argv needs at this level: a non-empty list of strings, not a job
    command itself. Parsing the flags is the CLI's business (audit_app.cli.start_job)."""
    if not isinstance(argv, list | tuple) or not argv or not all(isinstance(a, str) for a in argv):
        raise InvalidInput("a job's argv must be a non-empty list of strings")
    if argv[0] == "jobs":
        raise InvalidInput("a job cannot run another `jobs` command")


def start_job(store, actor: User, kind: str, argv: list[str], *, meta: dict | None = None) -> int:
    """Record and start `tucano-audit <argv...>` as a detached job; returns the job id.

    Callers build `argv` from validated values (launch, the compare and sample services);
    audit_app.cli.start_job also parses free-form argv first."""
    if store.path == ":memory:":
        raise InvalidInput("jobs need a store in a file (a job process opens it by path)")
    check_shape(argv)
    job_id = store.create_job(kind, list(argv), actor=actor, meta=meta)
    log_path = paths.jobs_dir() / f"{job_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    store.set_job_log(job_id, str(log_path))
    env = dict(os.environ)
    env[ENV_JOB_ID] = str(job_id)
    env[paths.ENV_STORE] = str(Path(store.path).resolve())
    env[paths.ENV_HOME] = str(paths.home())
    env["PYTHONUNBUFFERED"] = "1"
    # Jobs share the machine with the app and with each other: OpenMP threads that spin while
    # waiting starve one another on a small machine (see train/models/loading.py).
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "audit_app", "jobs", "run", str(job_id)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,  # own session and process group: cancel signals them all
                close_fds=True,
            )
    except OSError as exc:
        store.finish_job(job_id, status="failed", error=f"could not start: {exc}")
        raise
    started = process_start(proc.pid)
    _children[(proc.pid, started)] = proc
    store.mark_job_started(job_id, pid=proc.pid, pid_start=started)
    return job_id


def cancel_job(store, actor: User, job_id: int, *, grace: float = GRACE_SECONDS) -> dict:
    """SIGTERM the job's process group; SIGKILL it if still alive after `grace` seconds.

    The job records 'cancelled' itself when it stops on SIGTERM (its finished batches are
    already committed); if it had to be killed, this records it. Returns the job row.
    """
    job = store.request_cancel(job_id, actor=actor)
    pid = job.get("pid")
    if not pid or not _same_process(pid, job.get("pid_start")):
        store.finish_job(job_id, status="cancelled", error="cancelled before its process ran")
        return store.get_job(job_id)
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid, job.get("pid_start")):
        time.sleep(0.1)
    if _alive(pid, job.get("pid_start")):
        _signal_group(pid, signal.SIGKILL)
        for _ in range(50):
            if not _alive(pid, job.get("pid_start")):
                break
            time.sleep(0.1)
        store.finish_job(job_id, status="cancelled", exit_code=-signal.SIGKILL,
                         error=f"killed after {grace:g} s without stopping on SIGTERM")
    else:
        code = _exit_code(pid, job.get("pid_start"))
        store.finish_job(job_id, status="cancelled", exit_code=code)
    return store.get_job(job_id)


def reconcile_jobs(store) -> list[int]:
    """Close the rows of active jobs whose process is gone; returns the ids changed."""
    from datetime import UTC, datetime

    changed = []
    for job in store.list_jobs(active=True, limit=None):
        pid = job.get("pid")
        if not pid:
            created = datetime.fromisoformat(job["created_at"])
            if (datetime.now(UTC) - created).total_seconds() > START_TIMEOUT_SECONDS:
                if store.finish_job(job["id"], status="lost", error="the job never started"):
                    changed.append(job["id"])
            continue
        if _alive(pid, job.get("pid_start")):
            continue
        code = _exit_code(pid, job.get("pid_start"))
        if job["status"] == "cancelling":
            done = store.finish_job(job["id"], status="cancelled", exit_code=code)
        elif code is not None:
            done = store.finish_job(job["id"], status="succeeded" if code == 0 else "failed", exit_code=code,
                                    error=None if code == 0 else f"process exited with code {code}"
                                    " without recording its end")
        else:
            done = store.finish_job(job["id"], status="lost",
                                    error="the job's process is gone and did not record how it ended")
        if done:
            changed.append(job["id"])
    return changed


def log_tail(job: dict, max_bytes: int = 20_000) -> str:
    """The end of a job's log (for the Jobs page and `jobs list --log`)."""
    path = job.get("log_path")
    if not path or not Path(path).is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - max_bytes))
        data = f.read()
    return data.decode("utf-8", errors="replace")


# -- processes ------------------------------------------------------------------------------
def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux /proc), to detect pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (comm) may hold spaces and parentheses: split after its closing parenthesis.
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if len(fields) > 19 else None


def _process_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _same_process(pid: int, pid_start: str | None) -> bool:
    """True while `pid` runs and is still the process we started (not a zombie, not reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else: cannot be ours unless the pid was reused
    if _process_state(pid) == "Z":
        return False
    if pid_start is not None:
        now = process_start(pid)
        if now is not None and now != pid_start:
            return False
    return True


def _alive(pid: int, pid_start: str | None) -> bool:
    proc = _children.get((pid, pid_start))
    if proc is not None and proc.poll() is not None:
        return False
    return _same_process(pid, pid_start)


def _exit_code(pid: int, pid_start: str | None) -> int | None:
    """The exit code if this process started the job and it has ended (else unknown)."""
    proc = _children.get((pid, pid_start))
    if proc is None:
        return None
    return proc.poll()


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the job leads its own group (start_new_session)
    except ProcessLookupError:
        pass


def progress_view(job: dict) -> dict:
    """What a page shows of a job's progress: the share done (finer than done/total while a
    batch is generating), done/total, where the batch is, tokens, tokens/s and ETA text."""
    done, total = job.get("done") or 0, job.get("total")
    extra = job.get("progress") or {}
    eta = extra.get("eta_s")
    fraction = extra.get("fraction")
    if fraction is None:
        fraction = done / total if total else 0.0
    where = ""
    if extra.get("step") is not None and extra.get("max_steps"):
        where = f"batch {extra.get('batch', 1)}/{extra.get('batches', 1)}, token {extra['step']}/{extra['max_steps']}"
    running = job["status"] in ("running", "queued")
    return {
        "fraction": min(1.0, max(0.0, float(fraction))),
        "done": done,
        "total": total,
        "where": where if running and done != total else "",
        "tokens": extra.get("tokens"),
        "tokens_per_s": extra.get("tokens_per_s"),
        "eta": None if eta is None or not running else _duration(eta),
        "message": job.get("message") or "",
        "batch_id": extra.get("batch_id"),
    }


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def job_summary(job: dict) -> dict:
    """One row of the Jobs table."""
    view = progress_view(job)
    return {
        "id": job["id"],
        "kind": job["kind"],
        "status": job["status"],
        "progress": f"{view['done']}/{view['total']}" if view["total"] else "",
        "by": job["created_by"],
        "started": (job.get("started_at") or job["created_at"])[:19].replace("T", " "),
        "finished": (job.get("finished_at") or "")[:19].replace("T", " "),
        "exit code": job.get("exit_code"),
        "command": "tucano-audit " + " ".join(job["argv"]),
    }
