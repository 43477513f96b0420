"""Store methods for comparisons, per-prompt eval results, blind reviews and reviewer notes (mixed into data.store.Store).

A comparison is keyed by a hash of everything that determines its outputs (base model,
adapters, eval set, generation parameters, samples), so running the same command again
finds it and fills in only what is missing: that is how an interrupted comparison resumes.
Completeness is counted from the rows, never assumed from the status.
"""

from __future__ import annotations

import json

from data.store.errors import InvalidInput, NotFound
from data.store.roles import User
from data.store.values import dumps, utcnow

BASE = "base"
STATUSES = ("running", "partial", "complete", "failed")
CHOICES = ("left", "right", "tie")
OUTCOMES = ("improved", "regressed", "unchanged")
SORTS = ("delta_desc", "delta_asc", "position")
MAX_NOTE_CHARS = 10_000




def _comparison_row(row: dict) -> dict:
    out = dict(row)
    for key in ("sides", "gen_params", "tasks", "reward_versions"):
        out[key] = json.loads(out[key])
    out["side_labels"] = [s["label"] for s in out["sides"]]
    return out


def _result_row(row: dict) -> dict:
    out = dict(row)
    out["reward_components"] = json.loads(out["reward_components"])
    out["reward_notes"] = json.loads(out["reward_notes"])
    if out.get("truncated") is not None:
        out["truncated"] = bool(out["truncated"])
    return out


class CompareMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""

    # -- comparisons -----------------------------------------------------------------------
    def create_comparison(self, actor: User, *, key: str, base_model: str, sides: list[dict],
                          eval_path: str | None, eval_sha256: str, gen_params: dict, samples: int,
                          tasks: list[str], prompts: list[dict], reward_versions: dict,
                          out_dir: str | None = None, job_id: int | None = None,
                          base_key: str | None = None) -> tuple[int, bool]:
        """Record a comparison and its prompts; (id, created). An existing key returns its id
        (created False) so the caller resumes it. `prompts`: rows with prompt_id, task,
        messages (list), meta (dict). `base_key`: what its base side depends on (a later
        comparison with the same one reuses it: `stored_base_results`)."""
        actor = self.acting(actor, "engineer", action="running a comparison")
        labels = [s.get("label") for s in sides]
        if not sides or any(not lab for lab in labels) or len(set(labels)) != len(labels) or BASE in labels:
            raise InvalidInput(f"tuned sides need distinct, non-empty labels other than {BASE!r}: {labels}")
        if samples < 1:
            raise InvalidInput(f"samples must be >= 1, got {samples}")
        if not prompts:
            raise InvalidInput("a comparison needs at least one eval prompt")
        now = utcnow()
        with self.transaction(immediate=True) as conn:
            found = conn.execute("SELECT id FROM comparisons WHERE comparison_key = ?", [key]).fetchone()
            if found:
                if job_id is not None:
                    conn.execute("UPDATE comparisons SET job_id = ?, updated_at = ? WHERE id = ?",
                                 [job_id, now, found[0]])
                return int(found[0]), False
            cid = int(self.db["comparisons"].insert({
                "comparison_key": key, "base_model": base_model, "sides": dumps(sides), "eval_path": eval_path,
                "eval_sha256": eval_sha256, "gen_params": dumps(gen_params), "samples": samples,
                "tasks": dumps(list(tasks)), "n_prompts": len(prompts), "reward_versions": dumps(reward_versions),
                "status": "running", "out_dir": out_dir, "job_id": job_id, "base_key": base_key,
                "created_by": actor.username,
                "created_at": now, "updated_at": now}).last_pk)
            self.db["compare_prompts"].insert_all(
                {"comparison_id": cid, "prompt_id": p["prompt_id"], "position": i, "task": p["task"],
                 "messages": dumps(p["messages"]), "meta": dumps(p.get("meta") or {})}
                for i, p in enumerate(prompts))
        return cid, True

    def get_comparison(self, comparison_id: int) -> dict:
        """The comparison with decoded JSON fields and its progress; NotFound if absent."""
        out = _comparison_row(self.get_row("comparisons", comparison_id, f"comparison {comparison_id} does not exist"))
        out["progress"] = self.comparison_progress(comparison_id, out)
        return out

    def find_comparison(self, key: str) -> dict | None:
        rows = self.query("SELECT id FROM comparisons WHERE comparison_key = ?", [key])
        return self.get_comparison(rows[0]["id"]) if rows else None

    def list_comparisons(self) -> list[dict]:
        """Every comparison, newest first, with progress."""
        out = []
        for row in self.query("SELECT * FROM comparisons ORDER BY id DESC"):
            c = _comparison_row(row)
            c["progress"] = self.comparison_progress(c["id"], c)
            out.append(c)
        return out

    def comparison_progress(self, comparison_id: int, comparison: dict | None = None) -> dict:
        """Expected and stored completions per side; `partial` when anything is missing."""
        c = comparison or self.get_comparison(comparison_id)
        expected_per_side = c["n_prompts"] * c["samples"]
        counts = {r["side"]: r["n"] for r in self.query(
            "SELECT side, COUNT(*) AS n FROM compare_results WHERE comparison_id = ? GROUP BY side",
            [comparison_id])}
        per_side = {side: counts.get(side, 0) for side in [BASE, *c["side_labels"]]}
        done = sum(per_side.values())
        expected = expected_per_side * len(per_side)
        return {"expected": expected, "done": done, "per_side": per_side,
                "expected_per_side": expected_per_side, "partial": done < expected}

    def set_comparison_status(self, comparison_id: int, status: str, *, message: str | None = None,
                              out_dir: str | None = None) -> None:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {STATUSES}, got {status!r}")
        with self.transaction(immediate=True) as conn:
            cur = conn.execute(
                "UPDATE comparisons SET status = ?, message = ?, out_dir = COALESCE(?, out_dir), updated_at = ?"
                " WHERE id = ?", [status, message, out_dir, utcnow(), comparison_id])
            if cur.rowcount == 0:
                raise NotFound(f"comparison {comparison_id} does not exist")

    # -- prompts and results ---------------------------------------------------------------
    def compare_prompts(self, comparison_id: int) -> list[dict]:
        rows = self.query("SELECT * FROM compare_prompts WHERE comparison_id = ? ORDER BY position",
                          [comparison_id])
        for r in rows:
            r["messages"] = json.loads(r["messages"])
            r["meta"] = json.loads(r["meta"])
        return rows

    def add_compare_results(self, comparison_id: int, rows: list[dict]) -> int:
        """Insert one batch of results all-or-nothing; rows already stored are left as they
        are (a resumed run never duplicates). Returns how many were new."""
        now = utcnow()
        values = []
        for r in rows:
            if r["side"] != BASE and not r["side"]:
                raise InvalidInput("a result needs a side")
            values.append((
                comparison_id, r["prompt_id"], r["side"], int(r.get("sample_index", 0)), r["completion"],
                r.get("prompt_tokens"), r.get("completion_tokens"),
                None if r.get("truncated") is None else int(bool(r["truncated"])),
                r["reward_name"], r["reward_version"], float(r["reward_total"]),
                dumps(r.get("reward_components") or {}), dumps(list(r.get("reward_notes") or [])), now,
            ))
        with self.transaction(immediate=True) as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO compare_results (comparison_id, prompt_id, side, sample_index, completion,"
                " prompt_tokens, completion_tokens, truncated, reward_name, reward_version, reward_total,"
                " reward_components, reward_notes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            return conn.total_changes - before

    def compare_done_keys(self, comparison_id: int) -> set[tuple[str, str, int]]:
        """(prompt_id, side, sample_index) of every stored result."""
        return {(r["prompt_id"], r["side"], r["sample_index"]) for r in self.query(
            "SELECT prompt_id, side, sample_index FROM compare_results WHERE comparison_id = ?",
            [comparison_id])}

    def stored_base_results(self, base_key: str, *, besides: int) -> dict[tuple[str, int], dict]:
        """Base results of other comparisons with this `base_key` (not `besides`), by
        (prompt_id, sample_index); the newest comparison's where several hold one."""
        out: dict[tuple[str, int], dict] = {}
        for r in self.query(
                "SELECT r.* FROM compare_results r JOIN comparisons c ON c.id = r.comparison_id"
                " WHERE c.base_key = ? AND c.id != ? AND r.side = ? ORDER BY c.id DESC",
                [base_key, besides, BASE]):
            out.setdefault((r["prompt_id"], r["sample_index"]), _result_row(r))
        return out

    def compare_results(self, comparison_id: int, side: str | None = None) -> list[dict]:
        sql = "SELECT * FROM compare_results WHERE comparison_id = ?"
        params: list = [comparison_id]
        if side is not None:
            sql += " AND side = ?"
            params.append(side)
        return [_result_row(r) for r in self.query(sql + " ORDER BY prompt_id, side, sample_index", params)]

    def compare_pairs(self, comparison_id: int, tuned_side: str) -> list[dict]:
        """One row per prompt whose every sample is stored on both sides: task, prompt_id,
        base and tuned (mean reward over samples) — the input of train.compare.stats."""
        c = self.get_comparison(comparison_id)
        if tuned_side not in c["side_labels"]:
            raise NotFound(f"comparison {comparison_id} has no side {tuned_side!r}; sides: {c['side_labels']}")
        rows = self.query(
            "SELECT p.prompt_id, p.task, p.position,"
            " AVG(CASE WHEN r.side = ? THEN r.reward_total END) AS base,"
            " AVG(CASE WHEN r.side = ? THEN r.reward_total END) AS tuned,"
            " SUM(r.side = ?) AS n_base, SUM(r.side = ?) AS n_tuned"
            " FROM compare_prompts p JOIN compare_results r"
            "   ON r.comparison_id = p.comparison_id AND r.prompt_id = p.prompt_id"
            " WHERE p.comparison_id = ? GROUP BY p.prompt_id ORDER BY p.position",
            [BASE, tuned_side, BASE, tuned_side, comparison_id])
        k = c["samples"]
        return [{"prompt_id": r["prompt_id"], "task": r["task"], "base": r["base"], "tuned": r["tuned"]}
                for r in rows if r["n_base"] == k and r["n_tuned"] == k]

    def compare_examples(self, comparison_id: int, tuned_side: str, *, tasks: list[str] | None = None,
                         outcome: str | None = None, min_abs_delta: float = 0.0, sort: str = "delta_desc",
                         limit: int | None = None, offset: int = 0) -> list[dict]:
        """Paired prompts for the side-by-side view, filtered and sorted.

        Each: prompt_id, task, messages, meta, base / tuned (mean reward), delta, outcome,
        base_results / tuned_results (every sample with its breakdown), notes.
        """
        if sort not in SORTS:
            raise InvalidInput(f"sort must be one of {SORTS}, got {sort!r}")
        prompts = {p["prompt_id"]: p for p in self.compare_prompts(comparison_id)}
        chosen = [{**p, "position": prompts[p["prompt_id"]]["position"]}
                  for p in self._filtered_pairs(comparison_id, tuned_side, tasks=tasks, outcome=outcome,
                                                min_abs_delta=min_abs_delta)]
        if sort == "delta_desc":
            chosen.sort(key=lambda e: (-e["delta"], e["position"]))
        elif sort == "delta_asc":
            chosen.sort(key=lambda e: (e["delta"], e["position"]))
        else:
            chosen.sort(key=lambda e: e["position"])
        chosen = chosen[offset: None if limit is None else offset + limit]
        if not chosen:
            return []
        results = self.compare_results(comparison_id)
        notes = self.review_notes(comparison_id)
        for e in chosen:
            pr = prompts[e["prompt_id"]]
            e["messages"], e["meta"] = pr["messages"], pr["meta"]
            e["base_results"] = [r for r in results if r["prompt_id"] == e["prompt_id"] and r["side"] == BASE]
            e["tuned_results"] = [r for r in results if r["prompt_id"] == e["prompt_id"] and r["side"] == tuned_side]
            e["notes"] = [n for n in notes if n["prompt_id"] == e["prompt_id"]]
        return chosen

    def count_compare_examples(self, comparison_id: int, tuned_side: str, *, tasks: list[str] | None = None,
                               outcome: str | None = None, min_abs_delta: float = 0.0) -> int:
        """How many paired prompts pass the filters (for paging)."""
        return len(self._filtered_pairs(comparison_id, tuned_side, tasks=tasks, outcome=outcome,
                                        min_abs_delta=min_abs_delta))

    def _filtered_pairs(self, comparison_id: int, tuned_side: str, *, tasks=None, outcome=None,
                        min_abs_delta: float = 0.0) -> list[dict]:
        if outcome is not None and outcome not in OUTCOMES:
            raise InvalidInput(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        out = []
        for p in self.compare_pairs(comparison_id, tuned_side):
            delta = p["tuned"] - p["base"]
            kind = "improved" if delta > 0 else "regressed" if delta < 0 else "unchanged"
            if (tasks and p["task"] not in tasks) or (outcome and kind != outcome) or abs(delta) < min_abs_delta:
                continue
            out.append({**p, "delta": delta, "outcome": kind})
        return out

    # -- blind review ----------------------------------------------------------------------
    def record_blind_judgement(self, actor: User, comparison_id: int, *, prompt_id: str, tuned_side: str,
                               sample_index: int, left_side: str, choice: str,
                               seconds: float | None = None) -> int:
        """Store which side the reviewer preferred and which side was on the left. A second
        judgement of the same pair by the same reviewer replaces the first."""
        actor = self.acting(actor, "reviewer", action="blind review", account=True)
        if choice not in CHOICES:
            raise InvalidInput(f"choice must be one of {CHOICES}, got {choice!r}")
        if left_side not in (BASE, tuned_side):
            raise InvalidInput(f"left side must be {BASE!r} or {tuned_side!r}, got {left_side!r}")
        right_side = tuned_side if left_side == BASE else BASE
        keys = self.compare_done_keys(comparison_id)
        if (prompt_id, BASE, sample_index) not in keys or (prompt_id, tuned_side, sample_index) not in keys:
            raise NotFound(f"comparison {comparison_id} has no {BASE}/{tuned_side} pair for prompt "
                           f"{prompt_id!r} sample {sample_index}")
        picked = {"left": left_side, "right": right_side}.get(choice)
        winner = "tie" if picked is None else ("base" if picked == BASE else "tuned")
        now = utcnow()
        key = {"comparison_id": comparison_id, "prompt_id": prompt_id, "tuned_side": tuned_side,
               "sample_index": sample_index, "reviewer_id": actor.id}
        with self.transaction(immediate=True) as conn:
            # A second judgement of the same pair by the same reviewer replaces the first.
            found = conn.execute("SELECT id, created_at FROM blind_judgements WHERE comparison_id = :comparison_id"
                                 " AND prompt_id = :prompt_id AND tuned_side = :tuned_side"
                                 " AND sample_index = :sample_index AND reviewer_id = :reviewer_id", key).fetchone()
            record = {**key, "reviewer": actor.username, "left_side": left_side, "right_side": right_side,
                      "choice": choice, "winner": winner, "seconds": seconds, "updated_at": now}
            if found:
                self.db["blind_judgements"].update(found[0], record)
                return int(found[0])
            return int(self.db["blind_judgements"].insert({**record, "created_at": now}).last_pk)

    def blind_judgements(self, comparison_id: int, tuned_side: str | None = None,
                         reviewer_id: int | None = None) -> list[dict]:
        """Judgements joined with the prompt's task."""
        sql = ("SELECT j.*, p.task FROM blind_judgements j JOIN compare_prompts p"
               " ON p.comparison_id = j.comparison_id AND p.prompt_id = j.prompt_id WHERE j.comparison_id = ?")
        params: list = [comparison_id]
        if tuned_side is not None:
            sql += " AND j.tuned_side = ?"
            params.append(tuned_side)
        if reviewer_id is not None:
            sql += " AND j.reviewer_id = ?"
            params.append(reviewer_id)
        return self.query(sql + " ORDER BY j.id", params)

    # -- notes -----------------------------------------------------------------------------
    def add_review_note(self, actor: User, comparison_id: int, prompt_id: str, note: str, *,
                        side: str | None = None) -> int:
        """A reviewer's note on one example (side None: the example as a whole)."""
        actor = self.acting(actor, "reviewer", "engineer", action="writing a review note")
        text = (note or "").strip()
        if not text:
            raise InvalidInput("a note cannot be empty")
        if len(text) > MAX_NOTE_CHARS:
            raise InvalidInput(f"a note is at most {MAX_NOTE_CHARS} characters, got {len(text)}")
        c = self.get_comparison(comparison_id)
        if side is not None and side not in (BASE, *c["side_labels"]):
            raise InvalidInput(f"side must be {BASE!r} or one of {c['side_labels']}, got {side!r}")
        if not self.query("SELECT 1 FROM compare_prompts WHERE comparison_id = ? AND prompt_id = ?",
                          [comparison_id, prompt_id]):
            raise NotFound(f"comparison {comparison_id} has no prompt {prompt_id!r}")
        with self.transaction(immediate=True):
            return int(self.db["review_notes"].insert({
                "comparison_id": comparison_id, "prompt_id": prompt_id, "side": side, "author_id": actor.id,
                "author": actor.username, "note": text, "created_at": utcnow()}).last_pk)

    def review_notes(self, comparison_id: int, prompt_id: str | None = None) -> list[dict]:
        sql = ("SELECT n.*, p.task FROM review_notes n JOIN compare_prompts p"
               " ON p.comparison_id = n.comparison_id AND p.prompt_id = n.prompt_id WHERE n.comparison_id = ?")
        params: list = [comparison_id]
        if prompt_id is not None:
            sql += " AND n.prompt_id = ?"
            params.append(prompt_id)
        return self.query(sql + " ORDER BY n.id", params)
