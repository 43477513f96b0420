"""Progress reporting from inside a job process.

A job is `tucano-audit <command> ...` started detached by audit_app.jobs; the runner sets
TUCANO_AUDIT_JOB_ID and TUCANO_AUDIT_STORE in its environment. Long commands (sample,
train, compare) call `report(done, total, message, **extra)`; outside a job it only
prints, so the same command run by hand still shows where it is.
"""

from __future__ import annotations

import os
import sys
import time

from data.paths import ENV_STORE
from data.store import Store

ENV_JOB_ID = "TUCANO_AUDIT_JOB_ID"

_last_write = 0.0
_store = None


def current_job_id() -> int | None:
    value = os.environ.get(ENV_JOB_ID)
    return int(value) if value else None


def report(done: int, total: int, message: str = "", *, force: bool = False, **extra) -> None:
    """Record progress for the current job (at most twice a second unless `force`)."""
    global _last_write, _store
    print(f"[progress] {done}/{total} {message}".rstrip(), file=sys.stderr, flush=True)
    job_id = current_job_id()
    if job_id is None:
        return
    now = time.monotonic()
    if not force and done < total and now - _last_write < 0.5:
        return
    _last_write = now
    if _store is None:
        _store = Store(os.environ[ENV_STORE])
    _store.update_job_progress(job_id, done=done, total=total, message=message, extra=extra or None)
