"""Store methods for audit inputs, gate thresholds and gate decisions (mixed into audit_app.store.Store).

- `audit_items(task)`: one dict per scored rollout (the shape audit_app.audit_stats reads).
- `audit_counts(tasks)` / `annotation_snapshot(tasks)`: what the audit saw, for the record.
- Thresholds: `gate_thresholds()` (latest admin revision, else the shipped YAML),
  `set_gate_thresholds(actor, config)` (admin only; every change is a new revision),
  `gate_threshold_history()`.
- Decisions: `record_gate_decision(actor, ...)` (engineer, reviewer, admin),
  `gate_decisions()`, `get_gate_decision(id)`.
"""

from __future__ import annotations

import hashlib
import json

from audit_app.auth import User, require_role
from audit_app.errors import InvalidInput, NotFound

COMPUTE_ROLES = ("engineer", "reviewer")  # admin always passes require_role


def _loads(text, default):
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def _task_filter(tasks, column: str) -> tuple[str, list]:
    if tasks is None:
        return "", []
    tasks = list(tasks)
    if not tasks:
        return " AND 0", []
    return f" AND {column} IN ({', '.join('?' for _ in tasks)})", tasks


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class AuditMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""

    # -- audit inputs ---------------------------------------------------------------------
    def audit_items(self, task: str | None = None, *, tasks=None, with_text: bool = True) -> list[dict]:
        """One dict per scored rollout (at least one non-skipped first-round score), ordered by id.

        Keys: rollout_id, prompt_id, task, source, model_id, checkpoint_id, reward_name,
        reward_total (None when missing), reward_components (dict), reward_notes (list),
        reward_version, meta (prompt metadata dict), annotations (list of {annotator_id,
        annotator, round, score, flag, comment}), and with `with_text` also completion and
        prompt (the message list)."""
        if task is not None:
            tasks = [task]
        where, params = _task_filter(tasks, "r.task")
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
                    "reward_total": rtotal, "reward_components": _loads(rcomp, {}),
                    "reward_notes": _loads(rnotes, []), "reward_version": rver,
                    "meta": _loads(meta, {}), "annotations": [],
                }
                if with_text:
                    current["completion"] = completion
                    current["prompt"] = _loads(messages, [])
                items.append(current)
            current["annotations"].append({
                "annotator_id": ann_id, "annotator": username or f"user#{ann_id}", "round": rnd,
                "score": score, "flag": bool(flag), "comment": comment,
            })
        return items

    def audit_counts(self, tasks=None) -> dict[str, dict]:
        """Per task: rollouts, scored rollouts, non-skipped scores and distinct annotators."""
        from rewards.types import TASKS

        tasks = list(TASKS if tasks is None else tasks)
        out = {t: {"rollouts": 0, "scored": 0, "annotations": 0, "annotators": 0} for t in tasks}
        where, params = _task_filter(tasks, "task")
        for task, n in self.conn.execute(
                f"SELECT task, COUNT(*) FROM rollouts WHERE 1{where} GROUP BY task", params):
            out[task]["rollouts"] = n
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
            digest.update(_dumps(list(row)).encode())
            digest.update(b"\n")
        return digest.hexdigest(), self.audit_counts(tasks)

    # -- thresholds -------------------------------------------------------------------------
    def gate_thresholds(self) -> dict:
        """The thresholds in force: {revision, config, changed_by, changed_at, note}.

        Revision 0 is the shipped audit_app/gate_thresholds.yaml; admins' edits are 1, 2, ..."""
        from audit_app import gate

        row = self.conn.execute(
            "SELECT revision, config, changed_by, changed_at, note FROM gate_thresholds"
            " ORDER BY revision DESC LIMIT 1").fetchone()
        if row is None:
            return {"revision": 0, "config": gate.load_default_thresholds(),
                    "changed_by": gate.THRESHOLDS_FILE.name, "changed_at": None, "note": "shipped defaults"}
        return {"revision": row[0], "config": json.loads(row[1]), "changed_by": row[2],
                "changed_at": row[3], "note": row[4]}

    def set_gate_thresholds(self, actor: User, config: dict, *, note: str | None = None) -> int:
        """Store a new thresholds revision (admin only); returns its revision number.

        The config is validated first (unknown keys or tasks, out-of-range values raise
        InvalidInput naming them), so a bad edit never reaches the gate."""
        from audit_app import gate
        from audit_app.store import utcnow

        require_role(actor, "admin", action="editing gate thresholds")
        clean = gate.validate_thresholds(config)
        with self.transaction(immediate=True) as conn:
            (last,) = conn.execute("SELECT COALESCE(MAX(revision), 0) FROM gate_thresholds").fetchone()
            conn.execute(
                "INSERT INTO gate_thresholds (revision, config, note, changed_by, changed_at)"
                " VALUES (?, ?, ?, ?, ?)", [last + 1, _dumps(clean), note, actor.username, utcnow()])
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
                             n_boot: int, seed: int) -> int:
        """Store one gate decision (engineer, reviewer or admin) and return its id."""
        from audit_app.store import utcnow

        require_role(actor, *COMPUTE_ROLES, action="computing a gate decision")
        tasks = list(tasks)
        missing = [t for t in tasks if t not in per_task or t not in reward_versions]
        if not tasks or missing:
            raise InvalidInput(f"a gate decision needs a verdict and a reward version for every task; "
                               f"missing: {', '.join(missing) or 'no tasks given'}")
        with self.transaction(immediate=True) as conn:
            cur = conn.execute(
                "INSERT INTO gate_decisions (computed_at, computed_by, tasks, passed, reward_versions,"
                " reward_names, thresholds, thresholds_revision, per_task, annotations_hash,"
                " annotation_counts, n_boot, seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [utcnow(), actor.username, _dumps(tasks), int(bool(passed)), _dumps(reward_versions),
                 _dumps(reward_names), _dumps(thresholds), thresholds_revision, _dumps(per_task),
                 annotations_hash, _dumps(annotation_counts), n_boot, seed])
            return cur.lastrowid

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
        rows = self.query("SELECT * FROM gate_decisions WHERE id = ?", [int(decision_id)])
        if not rows:
            raise NotFound(f"no gate decision with id {decision_id}")
        return self._decision_row(rows[0])
