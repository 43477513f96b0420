"""`tucano-audit jobs`: list and cancel jobs, and `jobs run ID`, the wrapper every job runs in.

    tucano-audit jobs list [--all] [--log ID]
    tucano-audit jobs cancel ID [--grace 10]
    tucano-audit jobs run ID          # started by audit_app.jobs.runner.start_job, not by hand

`jobs run` reads the job's argv from the store, runs that tucano-audit command in this
process, and records the outcome itself: succeeded (exit 0), failed (the exit code and the
last log line), or cancelled (SIGTERM, which it turns into an exception so open store
transactions roll back and finished batches stay committed).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys

from audit_app.jobs.runner import cancel_job, log_tail, process_start, reconcile_jobs
from data import paths
from data.store import Store, progress
from data.store.roles import SYSTEM


def register(subparsers) -> None:
    p = subparsers.add_parser("jobs", help="list, follow and cancel background jobs",
                              description="Background jobs (sampling, training, comparison) in the store.")
    p.add_argument("--store", default=None, help="store database (default: $TUCANO_AUDIT_STORE, else <home>/store.db)")
    sub = p.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)

    ls = sub.add_parser("list", help="recent jobs with status and progress")
    ls.add_argument("--all", action="store_true", help="include finished jobs (default: the last 20 of any status)")
    ls.add_argument("--active", action="store_true", help="only queued / running / cancelling jobs")
    ls.add_argument("--log", type=int, metavar="ID", help="print the end of job ID's log instead")
    ls.set_defaults(func=list_jobs)

    cancel_p = sub.add_parser("cancel", help="stop a job: SIGTERM, then SIGKILL after a grace period")
    cancel_p.add_argument("job_id", type=int)
    cancel_p.add_argument("--grace", type=float, default=10.0, help="seconds to wait before SIGKILL (default 10)")
    cancel_p.set_defaults(func=cancel)

    run = sub.add_parser("run", help="run a recorded job in this process (used by the job runner)")
    run.add_argument("job_id", type=int)
    run.set_defaults(func=run_job)


def _store(args):
    return Store(args.store or paths.store_path())


def list_jobs(args: argparse.Namespace) -> int:
    with _store(args) as store:
        reconcile_jobs(store)
        if args.log is not None:
            print(log_tail(store.get_job(args.log)), end="")
            return 0
        jobs = store.list_jobs(active=True if args.active else None, limit=None if args.all else 20)
        if not jobs:
            print("no jobs")
            return 0
        print(f"{'id':>4}  {'kind':<8} {'status':<10} {'progress':<12} {'by':<10} command")
        for j in jobs:
            progress = f"{j['done']}/{j['total']}" if j["total"] else "-"
            extra = f" exit={j['exit_code']}" if j["exit_code"] not in (None, 0) else ""
            print(f"{j['id']:>4}  {j['kind']:<8} {j['status']:<10} {progress:<12} {j['created_by']:<10} "
                  f"{' '.join(j['argv'])}{extra}")
    return 0


def cancel(args: argparse.Namespace) -> int:
    with _store(args) as store:
        job = cancel_job(store, SYSTEM, args.job_id, grace=args.grace)
    print(f"job {job['id']}: {job['status']}" + (f" ({job['error']})" if job.get("error") else ""))
    return 0


class JobCancelled(BaseException):
    """Raised in the job process on SIGTERM; BaseException so `except Exception` cannot swallow it."""


def _on_sigterm(signum, frame):
    raise JobCancelled()


@contextlib.contextmanager
def _job_environment(job_id: int, store_path: str):
    """progress.report finds the job through these variables, whoever started this process;
    they are put back as they were afterwards, so a caller running a job in its own process
    (tests, a notebook) does not keep reporting to it."""
    names = {progress.ENV_JOB_ID: str(job_id), paths.ENV_STORE: store_path}
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_job(args: argparse.Namespace) -> int:
    store = _store(args)
    with _job_environment(args.job_id, store.path):
        return _run_job(store, args)


def _run_job(store, args: argparse.Namespace) -> int:
    job_id = args.job_id
    job = store.get_job(job_id)
    if job["status"] not in ("queued", "running"):
        print(f"job {job_id} is {job['status']}; not running it", file=sys.stderr)
        return 2
    store.mark_job_started(job_id, pid=os.getpid(), pid_start=process_start(os.getpid()))
    signal.signal(signal.SIGTERM, _on_sigterm)
    print(f"job {job_id} ({job['kind']}): tucano-audit {' '.join(job['argv'])}", flush=True)
    status, error = "failed", None
    try:
        code = args.dispatch(list(job["argv"]))
        status = "succeeded" if code == 0 else "failed"
    except JobCancelled:
        code, status = 128 + signal.SIGTERM, "cancelled"
        print(f"job {job_id}: cancelled (SIGTERM)", file=sys.stderr, flush=True)
    except SystemExit as exc:  # argparse errors inside the command
        code = exc.code if isinstance(exc.code, int) else 2
        status = "succeeded" if code == 0 else "failed"
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.stdout.flush()
    sys.stderr.flush()
    if status != "cancelled" and store.get_job(job_id)["status"] == "cancelling":
        # Someone asked it to stop and the command handled SIGTERM itself (e.g. training saves
        # a checkpoint first and exits normally): it was still cancelled.
        status = "cancelled"
    if status == "failed":
        lines = [ln for ln in log_tail(store.get_job(job_id), 4000).splitlines() if ln.strip()]
        error = lines[-1][:500] if lines else f"exit code {code}"
    store.finish_job(job_id, status=status, exit_code=code, error=error)
    store.close()
    return code
