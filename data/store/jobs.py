"""Store methods for jobs (detached CLI subprocesses) and their progress (mixed into data.store.Store).

A job row goes queued -> running -> one of succeeded / failed / cancelled / lost
(cancelling in between when someone asked it to stop). Who writes what:
- audit_app.jobs.runner.start_job: create_job, then mark_job_started with the child's pid;
- the job process itself (`tucano-audit jobs run ID`): mark_job_started (its own pid),
  update_job_progress (through data.store.progress.report), finish_job with its exit code;
- audit_app.jobs.cancel_job / reconcile_jobs: request_cancel, and finish_job for a process
  that can no longer record its own end (killed, crashed, vanished).
finish_job never overwrites a final status, so the first honest account of an ending wins.
"""

from __future__ import annotations

import json

from data.store.errors import Conflict, InvalidInput, NotFound
from data.store.roles import SYSTEM, User
from data.store.values import dumps, utcnow

ACTIVE = ("queued", "running", "cancelling")
FINAL = ("succeeded", "failed", "cancelled", "lost")
STATUSES = ACTIVE + FINAL




def _decode(row: dict) -> dict:
    for key in ("argv", "meta", "progress"):
        row[key] = json.loads(row[key]) if row.get(key) else ({} if key != "argv" else [])
    return row


class JobsMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""

    def create_job(self, kind: str, argv: list[str], *, actor: User = SYSTEM, meta: dict | None = None,
                   log_path: str | None = None) -> int:
        """Record a new queued job (engineers and admins); returns its id."""
        by = self.acting(actor, "engineer", action="starting jobs")
        if not isinstance(kind, str) or not kind.strip():
            raise InvalidInput("job kind must be a non-empty name (sample, train, compare...)")
        if not isinstance(argv, list | tuple) or not argv or not all(isinstance(a, str) for a in argv):
            raise InvalidInput("job argv must be a non-empty list of strings (tucano-audit arguments)")
        stamp = utcnow()
        with self.transaction(immediate=True):
            return self.db["jobs"].insert({
                "kind": kind.strip(), "argv": dumps(list(argv)), "meta": dumps(meta or {}), "status": "queued",
                "created_by": by.username, "log_path": log_path, "created_at": stamp, "updated_at": stamp}).last_pk

    def set_job_log(self, job_id: int, log_path: str) -> None:
        self._job_update(job_id, log_path=log_path)

    def mark_job_started(self, job_id: int, *, pid: int, pid_start: str | None = None) -> None:
        """Record the job's process (the starter and the job itself both call this)."""
        with self.transaction(immediate=True) as conn:
            status = self._job_status(conn, job_id)
            if status in FINAL:
                return
            conn.execute(
                "UPDATE jobs SET pid = ?, pid_start = coalesce(?, pid_start),"
                " status = CASE WHEN status = 'queued' THEN 'running' ELSE status END,"
                " started_at = coalesce(started_at, ?), updated_at = ? WHERE id = ?",
                [pid, pid_start, utcnow(), utcnow(), job_id],
            )

    def get_job(self, job_id: int) -> dict:
        """One job (argv, meta and progress decoded); raises NotFound."""
        return _decode(self.get_row("jobs", job_id, f"job {job_id} does not exist"))

    def list_jobs(self, *, status: str | tuple[str, ...] | None = None, kind: str | None = None,
                  active: bool | None = None, limit: int | None = 50) -> list[dict]:
        """Jobs, newest first; `active=True` keeps queued/running/cancelling ones."""
        statuses: tuple[str, ...] | None
        if active is True:
            statuses = ACTIVE
        elif active is False:
            statuses = FINAL
        elif isinstance(status, str):
            statuses = (status,)
        else:
            statuses = status
        for s in statuses or ():
            if s not in STATUSES:
                raise InvalidInput(f"unknown job status {s!r}; valid: {', '.join(STATUSES)}")
        where, params = ["(:kind IS NULL OR kind = :kind)"], {"kind": kind, "limit": -1 if limit is None else limit}
        if statuses:
            names = [f":s{i}" for i in range(len(statuses))]
            where.append(f"status IN ({', '.join(names)})")
            params.update({f"s{i}": s for i, s in enumerate(statuses)})
        rows = self.query(f"SELECT * FROM jobs WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT :limit", params)
        return [_decode(r) for r in rows]

    def update_job_progress(self, job_id: int, *, done: int, total: int | None, message: str = "",
                            extra: dict | None = None) -> None:
        """Record how far the job is (called from inside the job via data.store.progress.report)."""
        with self.transaction(immediate=True) as conn:
            self._job_status(conn, job_id)
            conn.execute(
                "UPDATE jobs SET done = ?, total = ?, message = ?, progress = ?, updated_at = ? WHERE id = ?",
                [int(done), None if total is None else int(total), message or "", dumps(extra or {}),
                 utcnow(), job_id],
            )

    def request_cancel(self, job_id: int, *, actor: User) -> dict:
        """Mark an active job as cancelling (the caller then signals its process)."""
        by = self.acting(actor, "engineer", action="cancelling jobs")
        with self.transaction(immediate=True) as conn:
            status = self._job_status(conn, job_id)
            if status not in ACTIVE:
                raise Conflict(f"job {job_id} is {status}; only a queued or running job can be cancelled")
            conn.execute(
                "UPDATE jobs SET status = 'cancelling', cancel_requested_by = ?, updated_at = ? WHERE id = ?",
                [by.username, utcnow(), job_id],
            )
        return self.get_job(job_id)

    def finish_job(self, job_id: int, *, status: str, exit_code: int | None = None,
                   error: str | None = None) -> bool:
        """Record how a job ended; False (and no change) when it already has a final status."""
        if status not in FINAL:
            raise InvalidInput(f"a job ends as one of {', '.join(FINAL)}, not {status!r}")
        with self.transaction(immediate=True) as conn:
            if self._job_status(conn, job_id) in FINAL:
                return False
            conn.execute(
                "UPDATE jobs SET status = ?, exit_code = ?, error = ?, finished_at = ?, updated_at = ?"
                " WHERE id = ?",
                [status, exit_code, error, utcnow(), utcnow(), job_id],
            )
        return True

    # -- plumbing ---------------------------------------------------------------------
    def _job_status(self, conn, job_id: int) -> str:
        row = conn.execute("SELECT status FROM jobs WHERE id = ?", [job_id]).fetchone()
        if row is None:
            raise NotFound(f"job {job_id} does not exist")
        return row[0]

    def _job_update(self, job_id: int, **values) -> None:
        with self.transaction(immediate=True) as conn:
            self._job_status(conn, job_id)
            sets = ", ".join(f"{k} = ?" for k in values)
            conn.execute(f"UPDATE jobs SET {sets}, updated_at = ? WHERE id = ?", [*values.values(), utcnow(), job_id])
