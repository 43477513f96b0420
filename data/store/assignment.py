"""Assignment policy: which rollout an annotator sees next.

The rules, in the order `serve` applies them (inside one BEGIN IMMEDIATE transaction,
so two annotators asking at once are served one after the other):

1. Expired leases are freed: an item an annotator opened and left stays reserved for
   `lease_minutes`, then goes back to the pool.
2. An item the annotator already holds (an unexpired lease) comes back first, so a reload,
   a second browser or an undo shows the same item instead of reserving another.
3. Self-consistency: a share (`repeat_share`) of the items an annotator scores is planned
   to come back to them once they have given `repeat_gap` more scores. It is served as an
   ordinary item (round 1); nothing tells the annotator it is a repeat.
4. Otherwise a new item from the task with the fewest scored items (ties in TASKS order),
   so every task reaches the audit's minimum (the gate's `min_items`) together. Within a task, an item that already has
   a score but needs more annotators (the agreement share) comes before a fresh one; fresh
   ones come in a fixed pseudo-random order, so a batch is audited as a mixed sample.
   An item is open while (first-round scores + live leases) < its target, so two people
   never get the same item unless it needs both of them.

How many annotators an item needs: `annotators_per_item` (default 1); for a fixed
pseudo-random `agreement_share` of items (default 20%) `agreement_annotators` (default 2)
instead, whichever is larger. Settings live in the store (admin-editable, history kept).
"""

from __future__ import annotations

import hashlib
import math
import time

from data.store.errors import InvalidInput
from rewards.types import TASKS

# key -> (default, type, minimum, maximum, help)
SETTINGS: dict[str, tuple] = {
    "annotators_per_item": (1, int, 1, 10, "annotators who score every item"),
    "agreement_share": (0.2, float, 0.0, 1.0, "share of items scored by several annotators for agreement"),
    "agreement_annotators": (2, int, 2, 10, "annotators for each item of the agreement share"),
    "repeat_share": (0.05, float, 0.0, 1.0, "share of an annotator's items that come back to them later"),
    "repeat_gap": (20, int, 1, 10_000, "items scored in between before a repeat comes back"),
    "lease_minutes": (15.0, float, 0.1, 24 * 60, "how long an opened item stays reserved for its annotator"),
}
# Settings that no longer exist, and where their job went.
MOVED = {"task_minimum": "the audit's minimum is the gate's min_items now (Audit & gate page, gate thresholds)"}
# Keys whose change alters how many annotators each queued item needs.
TARGET_KEYS = ("annotators_per_item", "agreement_share", "agreement_annotators")
# Buckets for shares: an item is in a share when its hash bucket is below share * BUCKETS.
BUCKETS = 10_007


def defaults() -> dict:
    return {key: spec[0] for key, spec in SETTINGS.items()}


def check_setting(key: str, value):
    """The value converted to the setting's type; InvalidInput naming the key otherwise."""
    if key in MOVED:
        raise InvalidInput(f"setting {key} no longer exists: {MOVED[key]}")
    if key not in SETTINGS:
        raise InvalidInput(f"unknown setting {key!r}; valid settings: {', '.join(SETTINGS)}")
    _default, kind, low, high, _help = SETTINGS[key]
    try:
        if isinstance(value, bool):
            raise ValueError
        if kind is int:
            number = float(value)
            if not number.is_integer():
                raise ValueError
            converted = int(number)
        else:
            converted = float(value)
            if not math.isfinite(converted):
                raise ValueError
    except (TypeError, ValueError):
        raise InvalidInput(f"setting {key} must be a {'whole ' if kind is int else ''}number; got {value!r}") from None
    if not low <= converted <= high:
        raise InvalidInput(f"setting {key} must be between {low} and {high}; got {converted}")
    return converted


def shuffle_key(rollout_id: int) -> int:
    """A fixed pseudo-random 31-bit number per rollout (serving order, agreement share)."""
    digest = hashlib.blake2b(f"order:{rollout_id}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") >> 1


def target_for(shuffle: int, settings: dict) -> int:
    base = settings["annotators_per_item"]
    if shuffle % BUCKETS < settings["agreement_share"] * BUCKETS:
        return max(base, settings["agreement_annotators"])
    return base


def target_sql() -> str:
    """SQL expression equal to target_for(shuffle, settings) with named parameters."""
    return ("CASE WHEN shuffle % :buckets < :share * :buckets"
            " THEN max(:base, :agree) ELSE :base END")


def target_params(settings: dict) -> dict:
    return {"buckets": BUCKETS, "share": settings["agreement_share"],
            "base": settings["annotators_per_item"], "agree": settings["agreement_annotators"]}


def is_repeat(rollout_id: int, annotator_id: int, share: float) -> bool:
    """Whether this annotator's first score of this rollout is planned to come back."""
    if share <= 0:
        return False
    digest = hashlib.blake2b(f"repeat:{rollout_id}:{annotator_id}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % BUCKETS < share * BUCKETS


# -- queue bookkeeping (all called inside a write transaction) --------------------------

def expire_leases(conn, now: float) -> int:
    """Free every lease past its time; returns how many."""
    rows = conn.execute(
        "SELECT id, rollout_id, round FROM assignments WHERE status = 'leased' AND lease_until < ?", [now]
    ).fetchall()
    for assignment_id, rollout_id, round_ in rows:
        conn.execute("DELETE FROM assignments WHERE id = ?", [assignment_id])
        if round_ == 0:
            conn.execute("UPDATE item_queue SET claimed = claimed - 1 WHERE rollout_id = ?", [rollout_id])
    return len(rows)


def lease(conn, rollout_id: int, annotator_id: int, round_: int, now: float, settings: dict,
          stamp: str) -> None:
    """Reserve an item for an annotator (insert, or renew an existing lease row)."""
    until = now + settings["lease_minutes"] * 60
    row = conn.execute(
        "SELECT status FROM assignments WHERE rollout_id = ? AND annotator_id = ? AND round = ?",
        [rollout_id, annotator_id, round_],
    ).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO assignments (rollout_id, annotator_id, round, status, lease_until, served_at, updated_at)"
            " VALUES (?, ?, ?, 'leased', ?, ?, ?)",
            [rollout_id, annotator_id, round_, until, stamp, stamp],
        )
        if round_ == 0:
            conn.execute("UPDATE item_queue SET claimed = claimed + 1 WHERE rollout_id = ?", [rollout_id])
        return
    if row[0] == "skipped" and round_ == 0:
        conn.execute("UPDATE item_queue SET claimed = claimed + 1 WHERE rollout_id = ?", [rollout_id])
    conn.execute(
        "UPDATE assignments SET status = 'leased', lease_until = ?, updated_at = ?"
        " WHERE rollout_id = ? AND annotator_id = ? AND round = ?",
        [until, stamp, rollout_id, annotator_id, round_],
    )


def serve(conn, annotator_id: int, settings: dict, stamp: str, *, task: str | None = None,
          now: float | None = None) -> tuple[int, int] | None:
    """(rollout_id, round) now leased to the annotator, or None when nothing is left for them."""
    now = time.time() if now is None else now
    expire_leases(conn, now)

    held = conn.execute(
        "SELECT a.rollout_id, a.round FROM assignments a JOIN rollouts r ON r.id = a.rollout_id"
        " WHERE a.annotator_id = :me AND a.status = 'leased' AND (:task IS NULL OR r.task = :task)"
        " ORDER BY a.lease_until DESC, a.id DESC LIMIT 1",
        {"me": annotator_id, "task": task},
    ).fetchone()
    if held is not None:
        lease(conn, held[0], annotator_id, held[1], now, settings, stamp)
        return held[0], held[1]

    repeat = _due_repeat(conn, annotator_id, task)
    if repeat is not None:
        lease(conn, repeat, annotator_id, 1, now, settings, stamp)
        return repeat, 1

    tasks = [task] if task else list(TASKS)
    # Kept by triggers (schema/004_counters.sql): items with a first-round score, per task.
    counts = dict.fromkeys(tasks, 0)
    counts.update({t: n for t, n in conn.execute("SELECT task, scored FROM task_counts") if t in counts})
    for t in sorted(tasks, key=lambda t: (counts[t], tasks.index(t))):
        rollout_id = _open_item(conn, t, annotator_id)
        if rollout_id is not None:
            lease(conn, rollout_id, annotator_id, 0, now, settings, stamp)
            return rollout_id, 0
    return None


_NOT_MINE = ("NOT EXISTS (SELECT 1 FROM assignments a WHERE a.rollout_id = q.rollout_id"
             " AND a.annotator_id = :me AND a.round = 0)")


def _open_item(conn, task: str, annotator_id: int) -> int | None:
    params = {"task": task, "me": annotator_id}
    # Items that have a score but need another annotator come first (agreement pairs complete).
    row = conn.execute(
        "SELECT q.rollout_id FROM item_queue q WHERE q.task = :task AND q.claimed < q.target"
        f" AND q.claimed >= 1 AND {_NOT_MINE} ORDER BY q.claimed, q.shuffle LIMIT 1",
        params,
    ).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT q.rollout_id FROM item_queue q WHERE q.task = :task AND q.claimed < q.target"
            f" AND q.claimed = 0 AND {_NOT_MINE} ORDER BY q.shuffle LIMIT 1",
            params,
        ).fetchone()
    return row[0] if row else None


def scores_given(conn, annotator_id: int) -> int:
    """How many scores the annotator has given (trigger-kept counter, schema/004_counters.sql)."""
    return conn.execute("SELECT coalesce(sum(scored), 0) FROM annotator_counts WHERE annotator_id = ?",
                        [annotator_id]).fetchone()[0]


def _due_repeat(conn, annotator_id: int, task: str | None) -> int | None:
    first = conn.execute("SELECT min(due_after) FROM repeat_plan WHERE annotator_id = ?", [annotator_id]).fetchone()[0]
    if first is None:
        return None
    done = scores_given(conn, annotator_id)
    if done < first:
        return None
    row = conn.execute(
        "SELECT p.rollout_id FROM repeat_plan p JOIN rollouts r ON r.id = p.rollout_id"
        " WHERE p.annotator_id = :me AND p.due_after <= :done AND (:task IS NULL OR r.task = :task)"
        " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.rollout_id = p.rollout_id"
        " AND a.annotator_id = :me AND a.round = 1)"
        " ORDER BY p.due_after LIMIT 1",
        {"me": annotator_id, "done": done, "task": task},
    ).fetchone()
    return row[0] if row else None
