"""Store methods for audit inputs, gate thresholds and gate decisions (mixed into data.store.Store).

- `audit_items(task)`: one dict per scored rollout (the shape audit_app.audit.stats reads).
- `audit_counts(tasks)` / `annotation_snapshot(tasks)`: what the audit saw, for the record.
- Thresholds: `gate_thresholds()` (latest admin revision, else the shipped YAML),
  `set_gate_thresholds(actor, config)` (admin only; every change is a new revision),
  `gate_threshold_history()`.
- Decisions: `record_gate_decision(actor, ..., computed_via=...)` (engineer, reviewer,
  admin), `gate_decisions()`, `get_gate_decision(id)`.
- `audit_revision()`: a number that moves whenever anything the audit reads changes
  (trigger-kept, schema/201_audit_revision.sql); caches key on it.
- Targets: `save_audit_targets(targets, revision)` / `audit_targets()`: per task, the
  latest estimate of the scores still needed (audit_app.audit.needs), for the annotate page.
- `audit_minimums()`: per task, the gate's min_items and the latest target, in one place.
"""

from __future__ import annotations

import hashlib
import json

from data.store.errors import InvalidInput
from data.store.roles import User, is_system
from data.store.thresholds import (
    THRESHOLDS_FILE,
    load_default_thresholds,
    thresholds_for,
    validate_thresholds,
    with_shipped_keys,
)
from data.store.values import dumps, loads, utcnow
from rewards.types import TASKS

COMPUTE_ROLES = ("engineer", "reviewer")  # admin always passes



def _task_filter(tasks, column: str) -> tuple[str, list]:
    if tasks is None:
        return "", []
    tasks = list(tasks)
    if not tasks:
        return " AND 0", []
    return f" AND {column} IN ({', '.join('?' for _ in tasks)})", tasks



class AuditMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""

    # -- audit inputs ---------------------------------------------------------------------
    def audit_items(self, task: str | None = None, *, tasks=None, with_text: bool = True,
                    with_prompt: bool = True) -> list[dict]:
        """One dict per scored rollout (at least one non-skipped first-round score), ordered by id.

        Keys: rollout_id, prompt_id, task, source, model_id, checkpoint_id, reward_name,
        reward_total (None when missing), reward_components (dict), reward_notes (list),
        reward_version, meta (prompt metadata dict), annotations (list of {annotator_id,
        annotator, round, score, flag, comment}), and with `with_text` also completion and,
        unless `with_prompt` is False, prompt (the message list: decoding it is most of the
        cost of a large read, and only re-scoring needs it)."""
        if task is not None:
            tasks = [task]
        where, params = _task_filter(tasks, "r.task")
        with_prompt = with_text and with_prompt
        text_cols = ", r.completion, p.messages" if with_text else ""
        sql = (
            "SELECT r.id AS rollout_id, r.prompt_id, r.task, r.source, r.model_id, r.checkpoint_id,"
            " r.reward_name, r.reward_total, r.reward_components, r.reward_notes, r.reward_version,"
            f" p.meta{text_cols}, a.annotator_id, u.username, a.round, a.score, a.flag_reward_wrong,"
            " a.comment"
            " FROM rollouts r JOIN prompts p ON p.prompt_id = r.prompt_id"
            " JOIN annotations a ON a.rollout_id = r.id LEFT JOIN users u ON u.id = a.annotator_id"
            " WHERE r.id IN (SELECT rollout_id FROM annotations WHERE round = 0 AND score IS NOT NULL)"
            f"{where} ORDER BY r.id, a.round, a.annotator_id"
        )
        items: list[dict] = []
        current = None
        for row in self.conn.execute(sql, params):
            (rid, pid, tsk, source, model_id, ckpt, rname, rtotal, rcomp, rnotes, rver, meta, *rest) = row
            if with_text:
                completion, messages, *rest = rest
            ann_id, username, rnd, score, flag, comment = rest
            if current is None or current["rollout_id"] != rid:
                current = {
                    "rollout_id": rid, "prompt_id": pid, "task": tsk, "source": source,
                    "model_id": model_id, "checkpoint_id": ckpt, "reward_name": rname,
                    "reward_total": rtotal, "reward_components": loads(rcomp, {}),
                    "reward_notes": loads(rnotes, []), "reward_version": rver,
                    "meta": loads(meta, {}), "annotations": [],
                }
                if with_text:
                    current["completion"] = completion
                if with_prompt:
                    current["prompt"] = loads(messages, [])
                items.append(current)
            current["annotations"].append({
                "annotator_id": ann_id, "annotator": username or f"user#{ann_id}", "round": rnd,
                "score": score, "flag": bool(flag), "comment": comment,
            })
        return items

    def audit_counts(self, tasks=None) -> dict[str, dict]:
        """Per task: rollouts, prompts with rollouts, scored rollouts, non-skipped scores and
        distinct annotators."""
        tasks = list(TASKS if tasks is None else tasks)
        out = {t: {"rollouts": 0, "prompts": 0, "scored": 0, "annotations": 0, "annotators": 0} for t in tasks}
        where, params = _task_filter(tasks, "task")
        for task, n, prompts in self.conn.execute(
                f"SELECT task, COUNT(*), COUNT(DISTINCT prompt_id) FROM rollouts WHERE 1{where} GROUP BY task",
                params):
            out[task].update(rollouts=n, prompts=prompts)
        where, params = _task_filter(tasks, "r.task")
        for task, scored, n_ann, n_people in self.conn.execute(
                "SELECT r.task, COUNT(DISTINCT CASE WHEN a.round = 0 THEN a.rollout_id END), COUNT(*),"
                " COUNT(DISTINCT a.annotator_id) FROM annotations a JOIN rollouts r ON r.id = a.rollout_id"
                f" WHERE a.score IS NOT NULL{where} GROUP BY r.task", params):
            out[task].update(scored=scored, annotations=n_ann, annotators=n_people)
        return out

    def annotation_snapshot(self, tasks=None) -> tuple[str, dict[str, dict]]:
        """(sha256 over every annotation row of these tasks, `audit_counts(tasks)`).

        The hash changes when any score, flag or comment the audit read changes, so a stored
        decision says exactly which human judgements it rested on."""
        where, params = _task_filter(tasks, "r.task")
        digest = hashlib.sha256()
        for row in self.conn.execute(
                "SELECT a.id, a.rollout_id, a.annotator_id, a.round, a.score, a.flag_reward_wrong,"
                " a.comment, a.updated_at FROM annotations a JOIN rollouts r ON r.id = a.rollout_id"
                f" WHERE 1{where} ORDER BY a.id", params):
            digest.update(dumps(list(row)).encode())
            digest.update(b"\n")
        return digest.hexdigest(), self.audit_counts(tasks)

    def audit_revision(self) -> int:
        """A number that changes whenever a rollout, an annotation, a prompt's metadata or the
        gate thresholds change (kept by triggers): what an audit computed at one revision
        still describes the store while the number stays the same."""
        return self.conn.execute("SELECT revision FROM audit_revision WHERE id = 1").fetchone()[0]

    # -- how many scores each task needs ----------------------------------------------------
    def save_audit_targets(self, targets: dict[str, dict], *, revision: int) -> None:
        """Store the latest per-task estimate (audit_app.audit.needs.Needs.to_dict()) of what
        each task still needs; a newer estimate replaces an older one."""
        stamp = utcnow()
        rows = [{"task": t, "target_items": int(n["target_items"]), "target_prompts": int(n["target_prompts"]),
                 "per_prompt": float(n["per_prompt"]), "second_scores": int(n["second_scores"]),
                 "reachable": None if n["reachable"] is None else int(bool(n["reachable"])),
                 "reason": str(n["reason"]), "revision": int(revision), "computed_at": stamp}
                for t, n in targets.items() if t in TASKS]
        with self.transaction(immediate=True):
            self.db["audit_targets"].upsert_all(rows, pk="task")

    def audit_targets(self) -> dict[str, dict]:
        """task -> the latest stored estimate (see save_audit_targets); tasks never audited are absent."""
        out = {}
        for row in self.query("SELECT * FROM audit_targets"):
            row["reachable"] = None if row["reachable"] is None else bool(row["reachable"])
            out[row.pop("task")] = row
        return out

    def audit_minimums(self) -> dict[str, dict]:
        """Per task: `min_items` (the gate's minimum, the one minimum everyone reads), `target`
        (the latest estimate of scored items needed, or None) and `goal` = the larger."""
        config = self.gate_thresholds()["config"]
        targets = self.audit_targets()
        out = {}
        for task in TASKS:
            minimum = thresholds_for(config, task)["min_items"]
            target = targets.get(task, {}).get("target_items")
            out[task] = {"min_items": minimum, "target": target, "goal": max(minimum, target or 0),
                         "reason": targets.get(task, {}).get("reason")}
        return out

    # -- thresholds -------------------------------------------------------------------------
    def gate_thresholds(self) -> dict:
        """The thresholds in force: {revision, config, changed_by, changed_at, note}.

        Revision 0 is the shipped data/store/gate_thresholds.yaml; admins' edits are 1, 2, ..."""
        row = self.conn.execute(
            "SELECT revision, config, changed_by, changed_at, note FROM gate_thresholds"
            " ORDER BY revision DESC LIMIT 1").fetchone()
        if row is None:
            return {"revision": 0, "config": load_default_thresholds(),
                    "changed_by": THRESHOLDS_FILE.name, "changed_at": None, "note": "shipped defaults"}
        return {"revision": row[0], "config": with_shipped_keys(json.loads(row[1])), "changed_by": row[2],
                "changed_at": row[3], "note": row[4]}

    def set_gate_thresholds(self, actor: User, config: dict, *, note: str | None = None) -> int:
        """Store a new thresholds revision (admin only); returns its revision number.

        The config is validated first (unknown keys or tasks, out-of-range values raise
        InvalidInput naming them), so a bad edit never reaches the gate."""
        actor = self.acting(actor, "admin", action="editing gate thresholds")
        clean = validate_thresholds(config)
        with self.transaction(immediate=True) as conn:
            (last,) = conn.execute("SELECT COALESCE(MAX(revision), 0) FROM gate_thresholds").fetchone()
            self.db["gate_thresholds"].insert({"revision": last + 1, "config": dumps(clean), "note": note,
                                               "changed_by": actor.username, "changed_at": utcnow()})
        return last + 1

    def gate_threshold_history(self) -> list[dict]:
        """Every stored revision, newest first (revision 0, the YAML file, is not listed)."""
        return [{"revision": r["revision"], "config": json.loads(r["config"]), "note": r["note"],
                 "changed_by": r["changed_by"], "changed_at": r["changed_at"]}
                for r in self.query("SELECT * FROM gate_thresholds ORDER BY revision DESC")]

    # -- decisions --------------------------------------------------------------------------
    def record_gate_decision(self, actor: User, *, tasks, passed: bool, reward_versions: dict,
                             reward_names: dict, thresholds: dict, thresholds_revision: int,
                             per_task: dict, annotations_hash: str, annotation_counts: dict,
                             n_boot: int, seed: int, computed_via: str | None = None,
                             operator: str | None = None) -> int:
        """Store one gate decision (engineer, reviewer or admin) and return its id.
        `computed_via` says what computed it (the page, the command line) beside who; on the
        command line (actor SYSTEM) `operator` names who ran it (login@host), since the
        command-line identity itself is nobody in particular."""
        actor = self.acting(actor, *COMPUTE_ROLES, action="computing a gate decision")
        if operator is not None and not is_system(actor):
            raise InvalidInput("operator names who ran the command line; a logged-in user is recorded as themself")
        by = operator or actor.username
        tasks = list(tasks)
        missing = [t for t in tasks if t not in per_task or t not in reward_versions]
        if not tasks or missing:
            raise InvalidInput(f"a gate decision needs a verdict and a reward version for every task; "
                               f"missing: {', '.join(missing) or 'no tasks given'}")
        with self.transaction(immediate=True):
            return self.db["gate_decisions"].insert({
                "computed_at": utcnow(), "computed_by": by, "tasks": dumps(tasks),
                "passed": int(bool(passed)), "reward_versions": dumps(reward_versions),
                "reward_names": dumps(reward_names), "thresholds": dumps(thresholds),
                "thresholds_revision": thresholds_revision, "per_task": dumps(per_task),
                "annotations_hash": annotations_hash, "annotation_counts": dumps(annotation_counts),
                "n_boot": n_boot, "seed": seed, "computed_via": computed_via}).last_pk

    def _decision_row(self, row: dict) -> dict:
        out = dict(row)
        for key in ("tasks", "reward_versions", "reward_names", "thresholds", "per_task", "annotation_counts"):
            out[key] = json.loads(out[key])
        out["passed"] = bool(out["passed"])
        return out

    def gate_decisions(self, limit: int | None = None) -> list[dict]:
        """Stored decisions, newest first, JSON columns decoded."""
        sql = "SELECT * FROM gate_decisions ORDER BY id DESC"
        params: list = []
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [self._decision_row(r) for r in self.query(sql, params)]

    def get_gate_decision(self, decision_id: int) -> dict:
        return self._decision_row(self.get_row("gate_decisions", int(decision_id), f"no gate decision with id {decision_id}"))
