"""Launching GRPO training runs: who may, when the audit gate allows it, and the seed queue.

    check = check_launch(store, user, recipe)       # allowed? and if not, the reasons in words
    ids = launch(store, user, recipe, seeds=[42, 123, 456])   # records the runs, starts the first
    refresh(store)                                  # dead processes -> failed; next queued seed starts
    cancel(store, user, run_id); resume(store, user, run_id)

The rules, enforced here and in the store (never only by a disabled button):
- engineers (and admins) only;
- the current gate decision (audit_app.audit.gate.current_decision: made for today's reward
  versions) must pass for every task in the recipe's mix; failing tasks may be excluded
  from the mix, and the exclusion is recorded with the run;
- a launch records the recipe snapshot, seed, gate decision, reward versions, git commit
  and who launched it, then starts `tucano-audit train --run-id N` as a job;
- one active training run at a time (a unique index in the store); several seeds wait in
  the store's queue and start one after another, also after an app or machine restart;
- skipping the gate is possible only from the command line (`--skip-gate`), and recorded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from audit_app.audit import gate
from audit_app.jobs import runner as jobs
from data import paths
from data.store.errors import Conflict, InvalidInput, PermissionDenied
from data.store.roles import SYSTEM, User, is_system
from rewards.versions import current_versions

ROLE = "engineer"
ACTION = "launching a training run"


class GateBlocked(PermissionDenied):
    """The launch rules do not allow this run now; the message lists the reasons."""


@dataclass
class LaunchCheck:
    allowed: bool
    reasons: list[str]
    tasks: list[str]
    decision: object | None = None  # audit_app.audit.gate.GateDecision
    failing_tasks: list[str] = field(default_factory=list)  # tasks the engineer could exclude


def git_commit() -> str | None:
    """The checkout's commit (with '-dirty' when files changed), or None outside git."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head


def reward_versions(tasks: list[str]) -> dict[str, str]:
    now = current_versions()
    return {t: now[t] for t in tasks}


def check_launch(store, actor: User | None, recipe, *, skip_gate: bool = False) -> LaunchCheck:
    """May `actor` launch `recipe` now? Every reason against, in words (empty when allowed)."""
    tasks, reasons, failing, decision = list(recipe.tasks), [], [], None
    try:
        store.acting(actor, ROLE, action=ACTION)
    except PermissionDenied as exc:
        reasons.append(str(exc))
    if skip_gate:
        if not is_system(actor):
            reasons.append("skipping the audit gate is allowed from the command line only")
    else:
        decision = gate.current_decision(store, tasks)
        if decision is None:
            reasons.append(f"no audit gate decision covers {', '.join(tasks)} at the current reward versions "
                           "(a reward changed, or no audit was run): compute one on the Audit & gate page")
        elif not decision.passed(tasks):
            failing = [t for t in tasks if t not in decision.per_task or not decision.per_task[t].passed]
            reasons += [f"gate decision #{decision.id} fails {line}" for line in decision.reasons(tasks)]
    busy = store.active_run() or next(iter(store.queued_runs()), None)
    if busy:
        reasons.append(f"training run {busy['id']} ({busy['name']}) is {busy['status']}: one training run at a "
                       "time; wait for it or cancel it")
    return LaunchCheck(allowed=not reasons, reasons=reasons, tasks=tasks, decision=decision, failing_tasks=failing)


def launch(store, actor: User, recipe, seeds: list[int] | None = None, *, skip_gate: bool = False,
           start: bool = True, first_status: str = "starting", run_dir: str | Path | None = None) -> list[int]:
    """Check the rules, check the run can start (prompts, model, machine), record one run per
    seed and start the first as a job (unless `start` is False: the caller trains in-process).

    Raises GateBlocked (with every reason), or the preflight's clear error, before anything
    is recorded."""
    # Lazy: the preflight brings transformers and TRL, seconds of import that the app's
    # pages and the CLI's other commands should not pay for.
    from train.grpo.run import preflight

    check = check_launch(store, actor, recipe, skip_gate=skip_gate)
    if not check.allowed:
        raise GateBlocked("cannot launch " + recipe.name + ": " + "; ".join(check.reasons))
    seeds = list(seeds) if seeds else [recipe.grpo.seed]
    preflight(recipe)
    ids = store.create_runs(
        actor, recipe=recipe.to_dict(), seeds=seeds, reward_versions=reward_versions(recipe.tasks),
        runs_root=paths.runs_dir(), gate_decision_id=None if skip_gate else check.decision.id,
        gate_skipped=skip_gate, git_commit=git_commit(), first_status=first_status,
        pid=os.getpid() if first_status == "running" else None,
        host=socket.gethostname() if first_status == "running" else None, run_dir=run_dir,
    )
    if start:
        start_run_job(store, actor, ids[0])
    return ids


def start_run_job(store, actor: User, run_id: int, *, resume: bool = False) -> int:
    """Start `tucano-audit train --run-id N` as a job for a run in 'starting'; returns the job id."""
    argv = ["train", "--store", str(Path(store.path).resolve()), "--run-id", str(run_id)]
    if resume:
        argv.append("--resume")
    try:
        job_id = jobs.start_job(store, actor, "train", argv, meta={"run_id": run_id})
    except Exception as exc:
        store.finish_run(run_id, "failed", stop_reason=f"could not start its job: {exc}")
        raise
    store.set_run_job(run_id, job_id)
    return job_id


def advance_queue(store) -> int | None:
    """Start the next queued seed when no run is active; returns its run id (or None)."""
    while True:
        run = store.claim_next_queued()
        if run is None:
            return None
        try:
            start_run_job(store, SYSTEM, run["id"])
        except Exception:  # recorded on the run as failed; try the next seed
            continue
        return run["id"]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; only its parent has not reaped it yet
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def refresh(store) -> list[int]:
    """Bring run rows in line with their processes; start the next queued seed. Returns the
    ids of runs closed here (a run whose process was killed shows as failed after one call)."""
    jobs.reconcile_jobs(store)
    closed = []
    run = store.active_run()
    if run is not None:
        verdict = None
        if run["job_id"]:
            job = store.get_job(run["job_id"])
            if job["status"] in ("succeeded", "failed", "cancelled", "lost"):
                status = "cancelled" if job["status"] == "cancelled" else "failed"
                why = job.get("error") or f"its job ended ({job['status']}) without recording the run's end"
                verdict = (status, why)
        elif run["pid"] and run["host"] == socket.gethostname() and not _pid_alive(run["pid"]):
            verdict = ("failed", f"its process {run['pid']} is gone (killed, crashed or the machine restarted)")
        if verdict and store.finish_run(run["id"], verdict[0], stop_reason=verdict[1]):
            closed.append(run["id"])
    advance_queue(store)
    return closed


def cancel(store, actor: User, run_id: int, *, queued_too: bool = True) -> dict:
    """Stop a run (its job gets SIGTERM, then SIGKILL) and, by default, the seeds queued with it."""
    actor = store.acting(actor, ROLE, action="cancelling a training run")
    run = store.get_run(run_id)
    if run["status"] in ("finished", "failed", "cancelled"):
        raise Conflict(f"run {run_id} already ended ({run['status']})")
    if queued_too:
        for other in store.queued_runs():
            if other["launch_id"] == run["launch_id"] and other["id"] != run_id:
                store.finish_run(other["id"], "cancelled", stop_reason=f"cancelled by {actor.username}",
                                 actor=actor.username)
    if run["status"] in ("starting", "running"):
        if run["job_id"]:
            job = store.get_job(run["job_id"])
            if job["status"] in ("queued", "running"):
                jobs.cancel_job(store, actor, run["job_id"])
        elif run["pid"] and run["host"] == socket.gethostname() and _pid_alive(run["pid"]):
            os.kill(run["pid"], signal.SIGTERM)  # a command-line run: it records its own end
    store.finish_run(run_id, "cancelled", stop_reason=f"cancelled by {actor.username}", actor=actor.username)
    return store.get_run(run_id)


def resume(store, actor: User, run_id: int) -> dict:
    """Continue a failed or cancelled run from its last complete checkpoint, as a job."""
    resume_checks(store, actor, run_id)
    store.reopen_run(actor, run_id)
    start_run_job(store, actor, run_id, resume=True)
    return store.get_run(run_id)


def resume_checks(store, actor: User, run_id: int) -> None:
    """Raise unless `run_id` may be resumed: engineer, rewards unchanged since it started (a
    resumed run must optimise what it started on) and, unless the gate was skipped at
    launch, the current gate decision still passes its tasks."""
    store.acting(actor, ROLE, action="resuming a training run")
    run = store.get_run(run_id)
    now = reward_versions(run["tasks"])
    changed = [f"{t}: {run['reward_versions'].get(t)} -> {v}" for t, v in now.items()
               if run["reward_versions"].get(t) != v]
    if changed:
        raise InvalidInput(f"run {run_id} cannot be resumed: its rewards changed since it started "
                           f"({'; '.join(changed)}); launch a new run")
    if not run["gate_skipped"]:
        decision = gate.current_decision(store, run["tasks"])
        if decision is None or not decision.passed(run["tasks"]):
            why = decision.reasons(run["tasks"]) if decision else ["no current gate decision"]
            raise GateBlocked(f"run {run_id} cannot be resumed: {'; '.join(why)}")


def parse_seeds(text: str) -> list[int]:
    """'42, 123 456' -> [42, 123, 456]; InvalidInput naming the bad part."""
    parts = [p for p in text.replace(",", " ").split() if p]
    if not parts:
        raise InvalidInput("give at least one seed (e.g. 42, 123, 456)")
    seeds = []
    for p in parts:
        if not p.lstrip("-").isdigit():
            raise InvalidInput(f"seed {p!r} is not a whole number")
        seeds.append(int(p))
    if len(set(seeds)) != len(seeds):
        raise InvalidInput(f"a seed is listed twice: {seeds}")
    return seeds
