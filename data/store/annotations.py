"""Store methods for annotations, their history and assignments (mixed into
data.store.Store; the assignment settings are data.store.settings).

Every write is one BEGIN IMMEDIATE transaction (`Store.write`, retried if SQLite still
reports the file locked after the busy timeout), so the queue counters, the assignment rows and the
annotation with its history always move together. Scores record who gave them; a second
score of the same item by the same person updates it and keeps the old version in
`annotation_history`. `next_item` is blind: it never returns reward or model fields.
"""

from __future__ import annotations

import json
import math
import statistics
import time

from data.store import assignment
from data.store.errors import Conflict, InvalidInput, NotFound
from data.store.roles import User
from data.store.values import utcnow
from rewards.types import TASKS

MAX_COMMENT_CHARS = 5_000
MAX_SECONDS = 24 * 3600.0
ANNOTATE_ROLES = ("annotator",)



class SavedAnnotation(int):
    """The annotation id (an int, as the contract says) carrying what the save did:
    `updated` is True when it replaced an earlier score of the same person, whose score
    was `previous_score`; `round` is 1 for a repeat (never shown to the annotator)."""

    updated: bool
    previous_score: int | None
    round: int

    def __new__(cls, value: int, *, updated: bool, previous_score: int | None, round_: int):
        obj = super().__new__(cls, value)
        obj.updated, obj.previous_score, obj.round = updated, previous_score, round_
        return obj


def parse_score(score) -> int:
    """A score 1-5 from an int or its text ("3", " 4 "); InvalidInput naming the value otherwise."""
    if isinstance(score, bool):
        raise InvalidInput(f"score must be a whole number from 1 to 5; got {score!r}")
    if isinstance(score, str):
        text = score.strip()
        if not text:
            raise InvalidInput("score is empty; give a whole number from 1 to 5")
        try:
            score = float(text)
        except ValueError:
            raise InvalidInput(f"score must be a whole number from 1 to 5; got {text!r}") from None
    if isinstance(score, float):
        if not math.isfinite(score) or not score.is_integer():
            raise InvalidInput(f"score must be a whole number from 1 to 5; got {score!r}")
        score = int(score)
    if not isinstance(score, int):
        raise InvalidInput(f"score must be a whole number from 1 to 5; got {score!r}")
    if not 1 <= score <= 5:
        raise InvalidInput(f"score must be from 1 to 5; got {score}")
    return score


def _check_comment(comment) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise InvalidInput("comment must be text")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"comment is too long ({len(comment)} characters; at most {MAX_COMMENT_CHARS})")
    return comment or None


def _check_seconds(seconds) -> float | None:
    if seconds is None:
        return None
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise InvalidInput(f"seconds must be a number; got {seconds!r}") from None
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"seconds must be zero or more; got {seconds!r}")
    # A tab left open over the weekend is not a time spent scoring; cap it.
    return min(value, MAX_SECONDS)


class AnnotationsMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""

    def _rollout_exists(self, rollout_id) -> int:
        if isinstance(rollout_id, bool) or not isinstance(rollout_id, int):
            try:
                rollout_id = int(str(rollout_id).strip())
            except ValueError:
                raise InvalidInput(f"rollout id must be a whole number; got {rollout_id!r}") from None
        if self.conn.execute("SELECT 1 FROM rollouts WHERE id = ?", [rollout_id]).fetchone() is None:
            raise NotFound(f"rollout {rollout_id} does not exist")
        return rollout_id

    # -- serving ----------------------------------------------------------------------
    def next_item(self, actor: User, *, task: str | None = None) -> dict | None:
        """The next item for `actor`, reserved for them (see data.store.assignment), or None
        when nothing is left. Blind: rollout_id, prompt_id, task, messages (the prompt as a
        list of {role, content}) and completion only; never reward, model or round."""
        me = self.acting(actor, *ANNOTATE_ROLES, action="annotating", account=True)
        if task is not None:
            if task not in TASKS:
                raise InvalidInput(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")
        settings = self.get_settings()
        served = self.write(lambda conn: assignment.serve(conn, me.id, settings, utcnow(), task=task))
        if served is None:
            return None
        row = self.conn.execute(
            "SELECT r.id, r.prompt_id, r.task, p.messages, r.completion FROM rollouts r"
            " JOIN prompts p ON p.prompt_id = r.prompt_id WHERE r.id = ?",
            [served[0]],
        ).fetchone()
        return {"rollout_id": row[0], "prompt_id": row[1], "task": row[2], "messages": json.loads(row[3]),
                "completion": row[4]}

    def skip(self, actor: User, rollout_id: int, reason: str | None = None) -> None:
        """Pass on an item: it goes back to the pool for others and is not served to `actor` again."""
        me = self.acting(actor, *ANNOTATE_ROLES, action="skipping an item", account=True)
        rollout_id = self._rollout_exists(rollout_id)
        reason = _check_comment(reason)

        def write(conn):
            rows = conn.execute(
                "SELECT round, status FROM assignments WHERE rollout_id = ? AND annotator_id = ?"
                " ORDER BY round DESC", [rollout_id, me.id]).fetchall()
            leased = [r for r in rows if r[1] == "leased"]
            round_ = leased[0][0] if leased else 0
            if conn.execute("SELECT 1 FROM annotations WHERE rollout_id = ? AND annotator_id = ? AND round = ?",
                            [rollout_id, me.id, round_]).fetchone():
                raise Conflict(f"you already scored rollout {rollout_id}; undo the score to change it")
            stamp = utcnow()
            if leased:
                conn.execute("UPDATE assignments SET status = 'skipped', lease_until = NULL, reason = ?,"
                             " updated_at = ? WHERE rollout_id = ? AND annotator_id = ? AND round = ?",
                             [reason, stamp, rollout_id, me.id, round_])
                if round_ == 0:
                    conn.execute("UPDATE item_queue SET claimed = claimed - 1 WHERE rollout_id = ?", [rollout_id])
            elif not rows:
                conn.execute(
                    "INSERT INTO assignments (rollout_id, annotator_id, round, status, reason, served_at,"
                    " updated_at) VALUES (?, ?, 0, 'skipped', ?, ?, ?)", [rollout_id, me.id, reason, stamp, stamp])

        self.write(write)

    def _release_leases(self, conn, annotator_id: int) -> None:
        """Free every item `annotator_id` holds (inside the caller's transaction)."""
        rows = conn.execute("SELECT id, rollout_id, round FROM assignments WHERE annotator_id = ?"
                            " AND status = 'leased'", [annotator_id]).fetchall()
        for assignment_id, rollout_id, round_ in rows:
            conn.execute("DELETE FROM assignments WHERE id = ?", [assignment_id])
            if round_ == 0:
                conn.execute("UPDATE item_queue SET claimed = claimed - 1 WHERE rollout_id = ?", [rollout_id])

    # -- scoring ----------------------------------------------------------------------
    def record_annotation(self, actor: User, rollout_id: int, score, *, flag: bool = False,
                          comment: str | None = None, seconds: float | None = None) -> SavedAnnotation:
        """Save `actor`'s score (1-5) of a rollout and return the annotation id.

        `score` may be None only with flag=True (a flag without a score; an existing score
        is kept). A second save by the same person updates their annotation and keeps the
        earlier version in annotation_history; the returned SavedAnnotation says so."""
        me = self.acting(actor, *ANNOTATE_ROLES, action="scoring", account=True)
        if score is None and not flag:
            raise InvalidInput("score is empty; give a whole number from 1 to 5")
        score = None if score is None else parse_score(score)
        comment, seconds = _check_comment(comment), _check_seconds(seconds)
        rollout_id = self._rollout_exists(rollout_id)
        settings = self.get_settings()
        return self.write(lambda conn: self._save(conn, me, rollout_id, score, bool(flag), comment,
                                                   seconds, settings))

    def flag_item(self, actor: User, rollout_id: int, comment: str | None = None) -> SavedAnnotation:
        """Mark "the reward looks wrong here" on `actor`'s annotation of a rollout, with a
        comment; keeps their score if they gave one."""
        return self.record_annotation(actor, rollout_id, None, flag=True, comment=comment)

    def _save(self, conn, me: User, rollout_id: int, score, flag: bool, comment, seconds, settings):
        stamp = utcnow()
        leased_repeat = conn.execute(
            "SELECT 1 FROM assignments WHERE rollout_id = ? AND annotator_id = ? AND round = 1"
            " AND status = 'leased'", [rollout_id, me.id]).fetchone()
        latest = conn.execute(
            "SELECT id, round, score, flag_reward_wrong, comment FROM annotations WHERE rollout_id = ?"
            " AND annotator_id = ? ORDER BY round DESC LIMIT 1", [rollout_id, me.id]).fetchone()
        if leased_repeat:
            round_ = 1
            existing = latest if latest and latest[1] == 1 else None
        else:
            round_ = latest[1] if latest else 0
            existing = latest

        if existing is not None:
            annotation_id, _, old_score, old_flag, old_comment = existing
            new_score = old_score if score is None else score
            new_flag = int(flag or (score is None and old_flag))
            new_comment = comment if comment is not None else old_comment
            conn.execute(
                "UPDATE annotations SET score = ?, flag_reward_wrong = ?, comment = ?,"
                " seconds = coalesce(?, seconds), updated_at = ? WHERE id = ?",
                [new_score, new_flag, new_comment, seconds, stamp, annotation_id])
            if round_ == 0 and old_score is None and new_score is not None:
                conn.execute("UPDATE item_queue SET scored = scored + 1 WHERE rollout_id = ?", [rollout_id])
        else:
            new_score, new_flag, new_comment, old_score = score, int(flag), comment, None
            annotation_id = conn.execute(
                "INSERT INTO annotations (rollout_id, annotator_id, round, score, flag_reward_wrong, comment,"
                " seconds, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [rollout_id, me.id, round_, score, int(flag), comment, seconds, stamp, stamp]).lastrowid
            self._mark_done(conn, rollout_id, me.id, round_, stamp)
            if round_ == 0:
                if score is not None:
                    conn.execute("UPDATE item_queue SET scored = scored + 1 WHERE rollout_id = ?", [rollout_id])
                if assignment.is_repeat(rollout_id, me.id, settings["repeat_share"]):
                    done = assignment.scores_given(conn, me.id)
                    conn.execute("INSERT OR IGNORE INTO repeat_plan (annotator_id, rollout_id, due_after)"
                                 " VALUES (?, ?, ?)", [me.id, rollout_id, done + settings["repeat_gap"]])
        conn.execute(
            "INSERT INTO annotation_history (annotation_id, score, flag_reward_wrong, comment, changed_at,"
            " changed_by) VALUES (?, ?, ?, ?, ?, ?)",
            [annotation_id, new_score, new_flag, new_comment, stamp, me.username])
        return SavedAnnotation(annotation_id, updated=existing is not None, previous_score=old_score,
                               round_=round_)

    @staticmethod
    def _mark_done(conn, rollout_id: int, annotator_id: int, round_: int, stamp: str) -> None:
        row = conn.execute("SELECT status FROM assignments WHERE rollout_id = ? AND annotator_id = ?"
                           " AND round = ?", [rollout_id, annotator_id, round_]).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO assignments (rollout_id, annotator_id, round, status, served_at, updated_at)"
                " VALUES (?, ?, ?, 'done', ?, ?)", [rollout_id, annotator_id, round_, stamp, stamp])
        else:
            conn.execute("UPDATE assignments SET status = 'done', lease_until = NULL, updated_at = ?"
                         " WHERE rollout_id = ? AND annotator_id = ? AND round = ?",
                         [stamp, rollout_id, annotator_id, round_])
        # A live lease already counted in `claimed`; a missing or skipped row did not.
        if round_ == 0 and (row is None or row[0] != "leased"):
            conn.execute("UPDATE item_queue SET claimed = claimed + 1 WHERE rollout_id = ?", [rollout_id])

    def undo_last(self, actor: User) -> dict | None:
        """Undo `actor`'s most recent save: a first score is removed and its item is served
        to them again next; an update is rolled back to the version before it. Returns
        {"rollout_id", "annotation_id", "removed": bool, "score": score now (None if removed)}
        or None when there is nothing to undo."""
        me = self.acting(actor, *ANNOTATE_ROLES, action="undoing a score", account=True)
        settings = self.get_settings()

        def write(conn):
            last = conn.execute(
                # CROSS JOIN keeps history as the outer loop: read newest first, stop at the first of mine.
                "SELECT h.id, h.annotation_id, a.rollout_id, a.round, a.score FROM annotation_history h"
                " CROSS JOIN annotations a ON a.id = h.annotation_id WHERE a.annotator_id = ?"
                " ORDER BY h.id DESC LIMIT 1", [me.id]).fetchone()
            if last is None:
                return None
            history_id, annotation_id, rollout_id, round_, score_now = last
            previous = conn.execute(
                "SELECT score, flag_reward_wrong, comment FROM annotation_history WHERE annotation_id = ?"
                " AND id < ? ORDER BY id DESC LIMIT 1", [annotation_id, history_id]).fetchone()
            stamp = utcnow()
            if previous is None:
                conn.execute("DELETE FROM annotation_history WHERE annotation_id = ?", [annotation_id])
                conn.execute("DELETE FROM annotations WHERE id = ?", [annotation_id])
                if round_ == 0:
                    conn.execute("DELETE FROM repeat_plan WHERE annotator_id = ? AND rollout_id = ?",
                                 [me.id, rollout_id])
                    if score_now is not None:
                        conn.execute("UPDATE item_queue SET scored = scored - 1 WHERE rollout_id = ?",
                                     [rollout_id])
                # Give the item straight back to its annotator (a done row counts as claimed).
                conn.execute(
                    "UPDATE assignments SET status = 'leased', lease_until = ?, updated_at = ?"
                    " WHERE rollout_id = ? AND annotator_id = ? AND round = ?",
                    [time.time() + settings["lease_minutes"] * 60, stamp, rollout_id, me.id, round_])
                return {"rollout_id": rollout_id, "annotation_id": annotation_id, "removed": True, "score": None}
            conn.execute("DELETE FROM annotation_history WHERE id = ?", [history_id])
            conn.execute("UPDATE annotations SET score = ?, flag_reward_wrong = ?, comment = ?, updated_at = ?"
                         " WHERE id = ?", [*previous, stamp, annotation_id])
            if round_ == 0 and (score_now is None) != (previous[0] is None):
                delta = 1 if previous[0] is not None else -1
                conn.execute("UPDATE item_queue SET scored = scored + ? WHERE rollout_id = ?", [delta, rollout_id])
            return {"rollout_id": rollout_id, "annotation_id": annotation_id, "removed": False,
                    "score": previous[0]}

        return self.write(write)

    # -- reading ----------------------------------------------------------------------
    def get_annotation(self, actor: User, rollout_id: int) -> dict | None:
        """`actor`'s own latest annotation of a rollout (score, flag, comment, ...), or None."""
        rows = self.query(
            "SELECT id, rollout_id, round, score, flag_reward_wrong, comment, seconds, created_at, updated_at"
            " FROM annotations WHERE rollout_id = ? AND annotator_id = ? ORDER BY round DESC LIMIT 1",
            [rollout_id, actor.id])
        return rows[0] if rows else None

    def annotation_history(self, annotation_id: int) -> list[dict]:
        """Every saved version of one annotation, oldest first."""
        return self.query("SELECT * FROM annotation_history WHERE annotation_id = ? ORDER BY id",
                          [annotation_id])

    def list_annotations(self, *, rollout_id: int | None = None, annotator: str | None = None,
                         task: str | None = None) -> list[dict]:
        """Annotations joined with annotator name and task (for the audit, exports and admins)."""
        return self.query(
            "SELECT a.id, a.rollout_id, r.task, u.username AS annotator, a.round, a.score,"
            " a.flag_reward_wrong, a.comment, a.seconds, a.created_at, a.updated_at"
            " FROM annotations a JOIN users u ON u.id = a.annotator_id JOIN rollouts r ON r.id = a.rollout_id"
            " WHERE (:rid IS NULL OR a.rollout_id = :rid) AND (:who IS NULL OR u.username = :who)"
            " AND (:task IS NULL OR r.task = :task) ORDER BY a.id",
            {"rid": rollout_id, "who": annotator, "task": task})

    def progress(self, actor: User | None = None) -> dict:
        """Progress for the annotate page:
        {"mine": {"scored", "flagged", "skipped", "by_task": {task: n}} (None without actor),
         "team": {"annotations", "items_scored", "items_complete", "items_total", "annotators"},
         "per_task": {task: {"items", "scored", "complete", "minimum", "goal", "reached",
                             "short_of_rollouts"}},
         "median_seconds": my median seconds per item (None until I have timed scores)}.
        `minimum` is the gate's min_items (the one minimum), `goal` the larger of it and the
        latest audit's estimate of the scores needed; `short_of_rollouts` how many rollouts
        the store lacks for the goal to be reachable at all (someone must sample them)."""
        minimums = self.audit_minimums()
        # task_counts and annotator_counts are kept by triggers (schema/004_counters.sql).
        counts = {row[0]: row[1:] for row in self.conn.execute(
            "SELECT task, items, scored, complete FROM task_counts")}
        per_task = {}
        for task in TASKS:
            items, scored, complete = counts.get(task, (0, 0, 0))
            goal = minimums[task]["goal"]
            per_task[task] = {"items": items, "scored": scored, "complete": complete,
                              "minimum": minimums[task]["min_items"], "goal": goal, "reached": scored >= goal,
                              "short_of_rollouts": max(0, goal - max(items, scored))}
        scores, scorers = self.conn.execute(
            "SELECT coalesce(sum(scored), 0), count(DISTINCT CASE WHEN scored > 0 THEN annotator_id END)"
            " FROM annotator_counts").fetchone()
        team = {"annotations": scores, "annotators": scorers,
                "items_scored": sum(t["scored"] for t in per_task.values()),
                "items_complete": sum(t["complete"] for t in per_task.values()),
                "items_total": sum(t["items"] for t in per_task.values())}
        out = {"mine": None, "team": team, "per_task": per_task, "median_seconds": None}
        if actor is None:
            return out
        by_task = dict.fromkeys(TASKS, 0)
        flagged = 0
        for task, n, f in self.conn.execute(
                "SELECT task, scored, flagged FROM annotator_counts WHERE annotator_id = ?", [actor.id]):
            by_task[task] = by_task.get(task, 0) + n
            flagged += f
        skipped = self.conn.execute("SELECT count(*) FROM assignments WHERE annotator_id = ?"
                                    " AND status = 'skipped'", [actor.id]).fetchone()[0]
        out["mine"] = {"scored": sum(by_task.values()), "flagged": flagged, "skipped": skipped, "by_task": by_task}
        seconds = [r[0] for r in self.conn.execute(
            "SELECT seconds FROM annotations WHERE annotator_id = ? AND seconds IS NOT NULL", [actor.id])]
        out["median_seconds"] = statistics.median(seconds) if seconds else None
        return out
