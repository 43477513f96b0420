"""Store methods for engineers and admins looking through the data (mixed into Store):
the rollout browser (filter, count, open one with its breakdown and every score) and each
annotator's activity. Not blind: these show rewards and who scored what, so they are
for engineers (the browser) and admins (the activity); annotators never reach them.

    store.browse_rollouts(actor, RolloutFilter(task="push", flagged=True), limit=25)
    store.rollout_detail(actor, 42)
"""

from __future__ import annotations

from dataclasses import dataclass

from data.store.errors import InvalidInput
from data.store.roles import User
from rewards.types import TASKS

BASE_CHECKPOINT = ""  # the filter value for rollouts of the base model (no checkpoint)
HUMAN = ("any", "unscored", "scored")
SORTS = {
    "newest": "r.id DESC",
    "reward_high": "r.reward_total DESC, r.id DESC",
    "reward_low": "r.reward_total ASC, r.id DESC",
    # Human mean on the reward's 0-1 scale ((mean - 1) / 4) against the reward total.
    "disagreement": "abs((a.mean_score - 1) / 4.0 - r.reward_total) DESC, r.id DESC",
}


@dataclass(frozen=True)
class RolloutFilter:
    """What the rollout browser asks for; None means "any". `human` is any / unscored /
    scored, or a (low, high) range of the mean human score; `flagged` True keeps rollouts
    someone flagged "reward looks wrong", False those nobody flagged."""

    task: str | None = None
    model_id: str | None = None
    checkpoint_id: str | None = None  # BASE_CHECKPOINT for the base model
    reward_min: float = 0.0
    reward_max: float = 1.0
    human: str | tuple[float, float] = "any"
    flagged: bool | None = None

    def sql(self) -> tuple[str, dict]:
        """The WHERE clause (over rollouts r and the per-rollout score summary a) and its parameters."""
        if self.task is not None and self.task not in TASKS:
            raise InvalidInput(f"unknown task {self.task!r}; valid tasks: {', '.join(TASKS)}")
        if not 0.0 <= self.reward_min <= self.reward_max <= 1.0:
            raise InvalidInput(f"reward range must lie in [0, 1] with min <= max; got "
                               f"{self.reward_min}..{self.reward_max}")
        params = {"task": self.task, "model": self.model_id, "ckpt": self.checkpoint_id,
                  "rmin": self.reward_min, "rmax": self.reward_max, "flagged": self.flagged}
        where = ["(:task IS NULL OR r.task = :task)", "(:model IS NULL OR r.model_id = :model)",
                 "(:ckpt IS NULL OR coalesce(r.checkpoint_id, '') = :ckpt)",
                 # A rollout without a reward total shows only while the whole range is asked for.
                 "(r.reward_total BETWEEN :rmin AND :rmax OR (r.reward_total IS NULL AND :rmin = 0 AND :rmax = 1))",
                 "(:flagged IS NULL OR (coalesce(a.flags, 0) > 0) = :flagged)"]
        if isinstance(self.human, tuple):
            low, high = self.human
            if not 1 <= low <= high <= 5:
                raise InvalidInput(f"human score range must lie in 1..5 with low <= high; got {low}..{high}")
            where.append("a.mean_score BETWEEN :hmin AND :hmax")
            params.update(hmin=float(low), hmax=float(high))
        elif self.human == "unscored":
            where.append("coalesce(a.scores, 0) = 0")
        elif self.human == "scored":
            where.append("a.scores > 0")
        elif self.human != "any":
            raise InvalidInput(f"human must be one of {', '.join(HUMAN)} or a (low, high) range; got {self.human!r}")
        return " AND ".join(where), params


# Scores per rollout: every score given (first rounds and repeats), flags.
_SUMMARY = ("LEFT JOIN (SELECT rollout_id, count(score) AS scores, avg(score) AS mean_score, min(score) AS min_score,"
            " max(score) AS max_score, sum(flag_reward_wrong) AS flags FROM annotations GROUP BY rollout_id) a"
            " ON a.rollout_id = r.id")


class BrowseMixin:
    """Methods use self.query / self.acting / self.get_rollout / self.get_prompt provided by Store."""

    def browse_rollouts(self, actor: User, filters: RolloutFilter = RolloutFilter(), *, sort: str = "newest",
                        limit: int = 25, offset: int = 0) -> list[dict]:
        """One page of rollouts matching `filters`: id, task, prompt_id, model_id,
        checkpoint_id, source, batch_id, reward_total, reward_version, created_at, scores
        (how many), mean_score, min_score, max_score, flags, and a preview of the completion."""
        self.acting(actor, "engineer", action="browsing rollouts")
        if sort not in SORTS:
            raise InvalidInput(f"unknown sort {sort!r}; choose one of {', '.join(SORTS)}")
        where, params = filters.sql()
        return self.query(
            "SELECT r.id, r.task, r.prompt_id, r.model_id, r.checkpoint_id, r.source, r.batch_id, r.reward_total,"
            " r.reward_version, r.created_at, coalesce(a.scores, 0) AS scores, a.mean_score, a.min_score,"
            " a.max_score, coalesce(a.flags, 0) AS flags, substr(r.completion, 1, 120) AS preview"
            f" FROM rollouts r {_SUMMARY} WHERE {where} ORDER BY {SORTS[sort]} LIMIT :limit OFFSET :offset",
            {**params, "limit": int(limit), "offset": int(offset)})

    def count_browse(self, actor: User, filters: RolloutFilter = RolloutFilter()) -> int:
        """How many rollouts match `filters`."""
        self.acting(actor, "engineer", action="browsing rollouts")
        where, params = filters.sql()
        return self.conn.execute(f"SELECT count(*) FROM rollouts r {_SUMMARY} WHERE {where}", params).fetchone()[0]

    def rollout_facets(self, actor: User) -> list[dict]:
        """Each (model_id, checkpoint_id) that has rollouts, with how many."""
        self.acting(actor, "engineer", action="browsing rollouts")
        return self.query("SELECT model_id, coalesce(checkpoint_id, '') AS checkpoint_id, count(*) AS rollouts"
                          " FROM rollouts GROUP BY 1, 2 ORDER BY 1, 2")

    def rollout_detail(self, actor: User, rollout_id: int) -> dict:
        """One rollout with its reward breakdown, its prompt (with reference fields) and
        every score it got ({annotator, round, score, flag_reward_wrong, comment, seconds,
        updated_at}); NotFound when it does not exist."""
        self.acting(actor, "engineer", action="browsing rollouts")
        rollout = self.get_rollout(rollout_id)
        rollout["prompt"] = self.get_prompt(rollout["prompt_id"])
        rollout["annotations"] = self.list_annotations(rollout_id=rollout_id)
        return rollout

    def annotator_activity(self, actor: User) -> list[dict]:
        """Per account that ever scored or skipped: username, active, every score row
        ({rollout_id, round, score, flag, seconds}) and how many items they skipped."""
        self.acting(actor, "admin", action="reading annotator figures")
        people = {row["username"]: {**row, "active": bool(row["active"]), "annotations": [], "skipped": 0}
                  for row in self.query("SELECT id, username, role, active FROM users ORDER BY username")}
        for row in self.query("SELECT u.username, a.rollout_id, a.round, a.score, a.flag_reward_wrong AS flag,"
                              " a.seconds FROM annotations a JOIN users u ON u.id = a.annotator_id ORDER BY a.id"):
            people[row.pop("username")]["annotations"].append(row)
        for username, skipped in self.conn.execute(
                "SELECT u.username, count(*) FROM assignments s JOIN users u ON u.id = s.annotator_id"
                " WHERE s.status = 'skipped' GROUP BY u.username"):
            people[username]["skipped"] = skipped
        return [p for p in people.values() if p["annotations"] or p["skipped"]]
