"""Store methods for training runs, their metrics, checkpoints and the seed queue (mixed into data.store.Store).

A run moves queued -> starting -> running -> finished | failed | cancelled; a failed or
cancelled run may be reopened for resume (-> starting). 'starting' and 'running' are
the active states, and the unique partial index `idx_runs_one_active` lets at most one
row be in them: the database, not the page, guarantees one active training run.
Launching several seeds inserts one row per seed, the first active and the others
'queued' in order; `claim_next_queued` promotes the next one when nothing is active.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import uuid
from pathlib import Path

from data.store.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from data.store.roles import SYSTEM, User, is_system
from data.store.values import utcnow

ACTIVE = ("starting", "running")
TERMINAL = ("finished", "failed", "cancelled")
STATUSES = ("queued", *ACTIVE, *TERMINAL)
_JSON_COLUMNS = ("recipe", "tasks", "excluded_tasks", "reward_versions")



def _clean(value):
    """JSON-safe metric value: NaN/inf (which TRL can log) become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _run(row: dict) -> dict:
    out = dict(row)
    for key in _JSON_COLUMNS:
        out[key] = json.loads(out[key]) if out.get(key) is not None else None
    out["gate_skipped"] = bool(out["gate_skipped"])
    return out


class RunsMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""

    # -- creating ------------------------------------------------------------------------
    def create_runs(self, actor: User, *, recipe: dict, seeds: list[int], reward_versions: dict,
                    runs_root: str | Path, gate_decision_id: int | None = None, gate_skipped: bool = False,
                    git_commit: str | None = None, first_status: str = "starting", pid: int | None = None,
                    host: str | None = None, run_dir: str | Path | None = None) -> list[int]:
        """Record a launch: one run per seed, the first `first_status` ('starting' for a job,
        'running' for a process that is already training), the rest queued in order.

        Raises PermissionDenied (engineers only; skipping the gate only from the command
        line), InvalidInput (bad seeds, no gate decision) or Conflict (a run is already
        active or queued). `run_dir` names the first run's folder (a single-seed CLI run).
        """
        action = "launching a training run"
        actor = self.acting(actor, "engineer", action=action)
        if gate_skipped and not is_system(actor):
            raise PermissionDenied("skipping the audit gate is allowed from the command line only")
        if not gate_skipped and gate_decision_id is None:
            raise InvalidInput("a launch needs the passing gate decision it relies on (or an explicit gate skip)")
        if gate_skipped and gate_decision_id is not None:
            raise InvalidInput("a launch either relies on a gate decision or skips the gate, not both")
        if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise InvalidInput(f"seeds must be a non-empty list of integers, got {seeds!r}")
        if len(set(seeds)) != len(seeds):
            raise InvalidInput(f"a seed is listed twice: {seeds}")
        if first_status not in ("starting", "running"):
            raise InvalidInput(f"first_status must be 'starting' or 'running', got {first_status!r}")
        if run_dir is not None and len(seeds) != 1:
            raise InvalidInput("an explicit run folder fits a single seed only")
        tasks = [t for t in recipe["data"]["tasks"] if t not in recipe.get("excluded_tasks", [])]
        if gate_decision_id is not None:
            self._check_gate_decision(gate_decision_id, tasks)
        launch_id = uuid.uuid4().hex[:12]
        now = utcnow()
        ids: list[int] = []
        try:
            with self.transaction(immediate=True) as conn:
                busy = conn.execute(
                    "SELECT id, status, created_by FROM runs WHERE status IN ('queued', 'starting', 'running')"
                    " ORDER BY id LIMIT 1"
                ).fetchone()
                if busy:
                    raise Conflict(
                        f"training run {busy[0]} ({busy[1]}, launched by {busy[2]}) is not finished; "
                        "one training run at a time: wait for it or cancel it"
                    )
                position = conn.execute("SELECT COALESCE(MAX(queue_position), 0) FROM runs").fetchone()[0]
                for i, seed in enumerate(seeds):
                    status = first_status if i == 0 else "queued"
                    position += 1
                    run_id = self.db["runs"].insert({
                        "name": f"{recipe['name']} seed {seed}", "launch_id": launch_id,
                        "recipe_name": recipe["name"],
                        "recipe": json.dumps({**recipe, "grpo": {**recipe["grpo"], "seed": seed}}, sort_keys=True),
                        "recipe_fingerprint": _fingerprint(recipe, seed), "seed": seed, "tasks": json.dumps(tasks),
                        "excluded_tasks": json.dumps(recipe.get("excluded_tasks", [])),
                        "gate_decision_id": gate_decision_id, "gate_skipped": int(gate_skipped),
                        "reward_versions": json.dumps(reward_versions, sort_keys=True), "git_commit": git_commit,
                        "created_by": actor.username, "status": status,
                        "queue_position": position if status == "queued" else None,
                        "pid": pid if i == 0 else None, "host": host if i == 0 else None,
                        "max_steps": int(recipe["grpo"]["max_steps"]), "created_at": now,
                        "started_at": now if status == "running" else None, "updated_at": now}).last_pk
                    folder = Path(run_dir) if (run_dir is not None and i == 0) else (
                        Path(runs_root) / f"{recipe['name']}-run{run_id}-seed{seed}")
                    self.db["runs"].update(run_id, {"run_dir": str(folder)})
                    self._event(conn, run_id, "launched", {"seeds": seeds, "position": i}, actor.username)
                    if recipe.get("excluded_tasks"):
                        self._event(conn, run_id, "excluded_tasks", {"tasks": recipe["excluded_tasks"]},
                                    actor.username)
                    if gate_skipped:
                        self._event(conn, run_id, "gate_skipped", {}, actor.username)
                    ids.append(run_id)
        except sqlite3.IntegrityError as exc:
            if "idx_runs_one_active" in str(exc) or "runs.run_dir" in str(exc):
                raise Conflict(f"cannot start the run: {exc}") from exc
            raise
        return ids

    def _check_gate_decision(self, decision_id, tasks: list[str]) -> None:
        """InvalidInput unless `decision_id` is a stored decision that passed every task of the run."""
        if isinstance(decision_id, bool) or not isinstance(decision_id, int):
            raise InvalidInput(f"gate_decision_id must be a whole number, got {decision_id!r}")
        row = self.conn.execute("SELECT per_task FROM gate_decisions WHERE id = ?", [decision_id]).fetchone()
        if row is None:
            raise InvalidInput(f"gate decision {decision_id} does not exist; a launch must rely on a stored decision")
        per_task = json.loads(row[0])
        failing = [t for t in tasks if not (per_task.get(t) or {}).get("passed")]
        if failing:
            raise InvalidInput(f"gate decision {decision_id} does not pass {', '.join(failing)}; "
                               "it cannot authorise this run")

    # -- reading ---------------------------------------------------------------------------
    def get_run(self, run_id: int) -> dict:
        """The run as a dict (JSON columns decoded); NotFound if there is none."""
        return _run(self.get_row("runs", run_id, f"no training run {run_id}"))

    def list_runs(self, *, limit: int = 50, status: str | None = None) -> list[dict]:
        """Newest first; optionally only runs in `status`."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"unknown run status {status!r}; valid: {', '.join(STATUSES)}")
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        rows = self.query(f"SELECT * FROM runs {where} ORDER BY id DESC LIMIT ?", [*params, int(limit)])
        return [_run(r) for r in rows]

    def active_run(self) -> dict | None:
        rows = self.query("SELECT * FROM runs WHERE status IN ('starting', 'running') LIMIT 1")
        return _run(rows[0]) if rows else None

    def queued_runs(self) -> list[dict]:
        rows = self.query("SELECT * FROM runs WHERE status = 'queued' ORDER BY queue_position")
        return [_run(r) for r in rows]

    # -- moving through states -----------------------------------------------------------------
    def claim_next_queued(self) -> dict | None:
        """Promote the first queued run to 'starting' when nothing is active; None otherwise."""
        try:
            with self.transaction(immediate=True) as conn:
                if conn.execute("SELECT 1 FROM runs WHERE status IN ('starting', 'running')").fetchone():
                    return None
                row = conn.execute(
                    "SELECT id FROM runs WHERE status = 'queued' ORDER BY queue_position LIMIT 1"
                ).fetchone()
                if row is None:
                    return None
                conn.execute("UPDATE runs SET status = 'starting', queue_position = NULL, updated_at = ?"
                             " WHERE id = ?", [utcnow(), row[0]])
                self._event(conn, row[0], "dequeued", {}, SYSTEM.username)
        except sqlite3.IntegrityError:
            return None  # another process promoted one at the same moment
        return self.get_run(row[0])

    def set_run_job(self, run_id: int, job_id: int) -> None:
        self._update(run_id, job_id=job_id)

    def mark_run_running(self, run_id: int, *, pid: int, host: str) -> None:
        """The training process took the run (from 'starting'); raises Conflict otherwise."""
        now = utcnow()
        with self.transaction(immediate=True) as conn:
            status = self._status(conn, run_id)
            if status != "starting":
                raise Conflict(f"run {run_id} is {status}, not starting; it cannot be taken by a new process")
            conn.execute("UPDATE runs SET status = 'running', pid = ?, host = ?, started_at = COALESCE(started_at, ?),"
                         " heartbeat_at = ?, updated_at = ? WHERE id = ?", [pid, host, now, now, now, run_id])
            self._event(conn, run_id, "started", {"pid": pid, "host": host}, SYSTEM.username)

    def finish_run(self, run_id: int, status: str, *, stop_reason: str | None = None,
                   actor: str = SYSTEM.username) -> bool:
        """Move a queued/active run to a terminal status. False (and no change) if it already ended,
        so the process's own verdict is never overwritten by a later reconcile, or the reverse."""
        if status not in TERMINAL:
            raise InvalidInput(f"finish_run needs one of {', '.join(TERMINAL)}, got {status!r}")
        now = utcnow()
        with self.transaction(immediate=True) as conn:
            current = self._status(conn, run_id)
            if current in TERMINAL:
                return False
            conn.execute("UPDATE runs SET status = ?, stop_reason = ?, finished_at = ?, queue_position = NULL,"
                         " updated_at = ? WHERE id = ?", [status, stop_reason, now, now, run_id])
            self._event(conn, run_id, status, {"reason": stop_reason, "was": current}, actor)
        return True

    def reopen_run(self, actor: User, run_id: int) -> dict:
        """A failed or cancelled run back to 'starting' for a resume (engineers); Conflict if busy."""
        actor = self.acting(actor, "engineer", action="resuming a training run")
        now = utcnow()
        try:
            with self.transaction(immediate=True) as conn:
                status = self._status(conn, run_id)
                if status not in ("failed", "cancelled"):
                    raise Conflict(f"run {run_id} is {status}; only a failed or cancelled run can be resumed")
                conn.execute("UPDATE runs SET status = 'starting', resumes = resumes + 1, stop_reason = NULL,"
                             " finished_at = NULL, job_id = NULL, pid = NULL, updated_at = ? WHERE id = ?",
                             [now, run_id])
                self._event(conn, run_id, "resumed", {"was": status}, actor.username)
        except sqlite3.IntegrityError as exc:
            active = self.active_run()
            who = f" (run {active['id']} is {active['status']})" if active else ""
            raise Conflict(f"one training run at a time{who}: cannot resume run {run_id} now") from exc
        return self.get_run(run_id)

    def update_run_progress(self, run_id: int, *, step: int, best_step: int | None = None,
                            best_score: float | None = None) -> None:
        """Step reached and best so far; also the heartbeat the monitor reads."""
        now = utcnow()
        self.conn.execute(
            "UPDATE runs SET step = ?, best_step = COALESCE(?, best_step), best_score = COALESCE(?, best_score),"
            " heartbeat_at = ?, updated_at = ? WHERE id = ?",
            [int(step), best_step, _clean(best_score), now, now, run_id],
        )

    # -- metrics and checkpoints ---------------------------------------------------------------
    def record_run_metrics(self, run_id: int, kind: str, step: int, metrics: dict) -> None:
        """One logging step's metrics (flat name -> number); a re-logged step replaces the old row."""
        if kind not in ("train", "eval"):
            raise InvalidInput(f"metrics kind must be 'train' or 'eval', got {kind!r}")
        clean = {k: _clean(v) for k, v in metrics.items() if isinstance(v, int | float) or v is None}
        self.conn.execute(
            "INSERT OR REPLACE INTO run_metrics (run_id, kind, step, metrics, created_at) VALUES (?, ?, ?, ?, ?)",
            [run_id, kind, int(step), json.dumps(clean, sort_keys=True), utcnow()],
        )

    def run_metrics(self, run_id: int, kind: str | None = None, *, since_step: int = -1) -> list[dict]:
        """Rows {kind, step, **metrics} ordered by step (train before eval at the same step)."""
        where, params = "run_id = ? AND step > ?", [run_id, since_step]
        if kind is not None:
            where, params = where + " AND kind = ?", [*params, kind]
        rows = self.query(f"SELECT kind, step, metrics FROM run_metrics WHERE {where} ORDER BY step, kind DESC",
                          params)
        return [{"kind": r["kind"], "step": r["step"], **json.loads(r["metrics"])} for r in rows]

    def record_checkpoint(self, run_id: int, *, path: str | Path, step: int, eval_score: float | None = None,
                          is_best: bool = False) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO run_checkpoints (run_id, path, step, eval_score, is_best, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, str(path), int(step), _clean(eval_score), int(is_best), utcnow()],
        )

    def list_checkpoints(self, run_id: int) -> list[dict]:
        """The run's checkpoints by step; the best_checkpoint/ copy has is_best=True."""
        rows = self.query("SELECT path, step, eval_score, is_best, created_at FROM run_checkpoints"
                          " WHERE run_id = ? ORDER BY step, is_best", [run_id])
        return [{**r, "is_best": bool(r["is_best"])} for r in rows]

    # -- events ----------------------------------------------------------------------------
    def add_run_event(self, run_id: int, event: str, detail: dict | None = None,
                      actor: str = SYSTEM.username) -> None:
        self._event(self.conn, run_id, event, detail or {}, actor)

    def run_events(self, run_id: int) -> list[dict]:
        rows = self.query("SELECT event, detail, actor, created_at FROM run_events WHERE run_id = ? ORDER BY id",
                          [run_id])
        return [{**r, "detail": json.loads(r["detail"])} for r in rows]

    # -- plumbing ----------------------------------------------------------------------------
    def _event(self, conn, run_id: int, event: str, detail: dict, actor: str) -> None:
        conn.execute("INSERT INTO run_events (run_id, event, detail, actor, created_at) VALUES (?, ?, ?, ?, ?)",
                     [run_id, event, json.dumps(detail, sort_keys=True, default=str), actor, utcnow()])

    def _status(self, conn, run_id: int) -> str:
        row = conn.execute("SELECT status FROM runs WHERE id = ?", [run_id]).fetchone()
        if row is None:
            raise NotFound(f"no training run {run_id}")
        return row[0]

    def _update(self, run_id: int, **values) -> None:
        with self.transaction(immediate=True) as conn:
            self._status(conn, run_id)
            self.db["runs"].update(run_id, {**values, "updated_at": utcnow()})


def _fingerprint(recipe: dict, seed: int) -> str:
    data = {**recipe, "grpo": {**recipe["grpo"], "seed": seed}}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
