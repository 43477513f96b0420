"""Store methods for prompts and rollouts (mixed into data.store.Store); JSONL/Parquet
import and export live in data.store.import_export.

A rollout is scored when it enters the store, with its task's current default reward
(rewards.registry), unless the caller passes the `reward_*` fields it already computed.
Each rollout has a dedup key (a hash of prompt, model, checkpoint, generation parameters,
sample index and completion), so adding or importing the same thing twice adds it once.
"""

from __future__ import annotations

import hashlib
import json
import math

from data.prompts import FIELDS, reward_meta
from data.store import assignment
from data.store.errors import InvalidInput
from data.store.values import dumps, utcnow
from rewards import registry
from rewards.types import TASKS

PROMPT_FIELDS = ("prompt_id", "task", "prompt", "messages", "split")
# Prompt-row fields kept in prompts.meta (and handed to data.prompts.reward_meta).
PROMPT_META_FIELDS = tuple(f for f in FIELDS if f not in PROMPT_FIELDS)  # what a prompt row knows beyond its text
ROLLOUT_FIELDS = ("prompt_id", "model_id", "checkpoint_id", "gen_params", "sample_index", "completion",
                  "prompt_tokens", "completion_tokens", "truncated", "source", "batch_id")
REWARD_FIELDS = ("reward_name", "reward_total", "reward_components", "reward_notes", "reward_version")
SOURCES = ("sample", "import", "compare")
MESSAGE_ROLES = ("system", "user", "assistant")
# A completion is untrusted text; 1 MB is fine, 8 MB is a mistake (or an attack) worth naming.
MAX_COMPLETION_CHARS = 8_000_000
# Rollouts from comparisons are reviewed side by side, not queued for annotators.
QUEUED_SOURCES = ("sample", "import")
# SQLite's INTEGER is 64-bit signed; a larger count is a corrupt line, not a rollout.
MAX_INT = 2**63 - 1




def _tasks() -> tuple[str, ...]:
    return TASKS


def check_messages(messages, where: str) -> list[dict]:
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except json.JSONDecodeError:
            raise InvalidInput(f"{where}: prompt must be a list of messages, got text") from None
    if not isinstance(messages, list) or not messages:
        raise InvalidInput(f"{where}: prompt must be a non-empty list of {{role, content}} messages")
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in MESSAGE_ROLES \
                or not isinstance(message.get("content"), str):
            raise InvalidInput(f"{where}: prompt message {i} must be {{'role': one of {', '.join(MESSAGE_ROLES)},"
                               " 'content': text}")
        out.append({"role": message["role"], "content": message["content"]})
    return out


def prompt_record(row: dict, where: str, *, extra_meta: bool = True) -> dict:
    """Validate a prompt row (data's format) into the prompts table's columns."""
    if not isinstance(row, dict):
        raise InvalidInput(f"{where}: a prompt row must be an object")
    prompt_id = row.get("prompt_id")
    if not isinstance(prompt_id, str) or not prompt_id.strip():
        raise InvalidInput(f"{where}: prompt_id is missing or empty")
    task = row.get("task")
    if task not in _tasks():
        raise InvalidInput(f"{where}: unknown task {task!r}; valid tasks: {', '.join(_tasks())}")
    messages = check_messages(row.get("prompt", row.get("messages")), where)
    split = row.get("split")
    if split not in (None, "train", "eval"):
        raise InvalidInput(f"{where}: split must be 'train', 'eval' or absent; got {split!r}")
    if extra_meta:
        meta = {k: v for k, v in row.items() if k not in PROMPT_FIELDS}
    else:
        meta = {k: row[k] for k in PROMPT_META_FIELDS if row.get(k) is not None}
    return {"prompt_id": prompt_id.strip(), "task": task, "split": split, "messages": messages, "meta": meta}


def prompt_row(record: dict) -> dict:
    """The prompt in data's row format: prompt_id, task, prompt (messages), split, meta fields."""
    messages = record["messages"]
    meta = record["meta"]
    messages = json.loads(messages) if isinstance(messages, str) else messages
    meta = json.loads(meta) if isinstance(meta, str) else meta
    return {"prompt_id": record["prompt_id"], "task": record["task"], "prompt": messages,
            "split": record["split"], **meta}


def _opt_int(row: dict, key: str, where: str) -> int | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or (isinstance(value, float)
                                                                          and not value.is_integer()):
        raise InvalidInput(f"{where}: {key} must be a whole number; got {value!r}")
    if value < 0:
        raise InvalidInput(f"{where}: {key} must be zero or more; got {value!r}")
    if value > MAX_INT:
        raise InvalidInput(f"{where}: {key} is too large ({value:.3g}); at most {MAX_INT} fits")
    return int(value)


def _json_field(row: dict, key: str, where: str, kind: type, default):
    value = row.get(key, default)
    if value is None:
        return default
    if isinstance(value, str) and kind is not str:
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InvalidInput(f"{where}: {key} is not valid JSON") from None
    if not isinstance(value, kind):
        raise InvalidInput(f"{where}: {key} must be a JSON {kind.__name__}; got {type(value).__name__}")
    return value


def dedup_key(prompt_id: str, model_id: str, checkpoint_id, gen_params: dict, sample_index: int,
              completion: str) -> str:
    payload = dumps([prompt_id, model_id, checkpoint_id, gen_params, sample_index, completion])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def rollout_record(row: dict, where: str) -> dict:
    """Validate a rollout dict (without scoring) into the rollouts table's columns."""
    if not isinstance(row, dict):
        raise InvalidInput(f"{where}: a rollout must be an object")
    prompt_id = row.get("prompt_id")
    if not isinstance(prompt_id, str) or not prompt_id.strip():
        raise InvalidInput(f"{where}: prompt_id is missing or empty")
    model_id = row.get("model_id")
    if not isinstance(model_id, str) or not model_id.strip():
        raise InvalidInput(f"{where}: model_id is missing or empty")
    checkpoint_id = row.get("checkpoint_id")
    if checkpoint_id is not None and not isinstance(checkpoint_id, str):
        raise InvalidInput(f"{where}: checkpoint_id must be text or null")
    completion = row.get("completion")
    if not isinstance(completion, str):
        raise InvalidInput(f"{where}: completion is missing or not text")
    if len(completion) > MAX_COMPLETION_CHARS:
        raise InvalidInput(f"{where}: completion has {len(completion):,} characters; at most "
                           f"{MAX_COMPLETION_CHARS:,} are stored")
    if "\x00" in completion:
        raise InvalidInput(f"{where}: completion contains a NUL character")
    gen_params = _json_field(row, "gen_params", where, dict, {})
    try:
        json.dumps(gen_params, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidInput(f"{where}: gen_params must hold only JSON values (finite numbers, text, lists)") from None
    sample_index = _opt_int(row, "sample_index", where) or 0
    source = row.get("source") or "sample"
    if source not in SOURCES:
        raise InvalidInput(f"{where}: source must be one of {', '.join(SOURCES)}; got {source!r}")
    truncated = row.get("truncated")
    if truncated is not None and not isinstance(truncated, bool | int):
        raise InvalidInput(f"{where}: truncated must be true, false or null")
    batch_id = row.get("batch_id")
    if batch_id is not None and not isinstance(batch_id, str):
        raise InvalidInput(f"{where}: batch_id must be text or null")
    prompt_id, model_id = prompt_id.strip(), model_id.strip()
    return {
        "prompt_id": prompt_id, "model_id": model_id, "checkpoint_id": checkpoint_id,
        "gen_params": gen_params, "sample_index": sample_index, "completion": completion,
        "prompt_tokens": _opt_int(row, "prompt_tokens", where),
        "completion_tokens": _opt_int(row, "completion_tokens", where),
        "truncated": None if truncated is None else int(bool(truncated)),
        "source": source, "batch_id": batch_id,
        # Always derived, never taken from the row: an edited line that kept its old key
        # would otherwise be dropped as a "duplicate" of something it no longer is.
        "dedup_key": dedup_key(prompt_id, model_id, checkpoint_id, gen_params, sample_index, completion),
    }


def given_reward(row: dict, where: str) -> dict | None:
    """The reward_* fields the caller computed, validated; None when it gave none."""
    if not any(k in row for k in REWARD_FIELDS):
        return None
    missing = [k for k in ("reward_name", "reward_total", "reward_version") if row.get(k) is None]
    if missing:
        raise InvalidInput(f"{where}: reward fields given without {', '.join(missing)}")
    total = row["reward_total"]
    if isinstance(total, bool) or not isinstance(total, int | float) or not math.isfinite(total):
        raise InvalidInput(f"{where}: reward_total must be a number; got {total!r}")
    return {"reward_name": str(row["reward_name"]), "reward_total": float(total),
            "reward_components": _json_field(row, "reward_components", where, dict, {}),
            "reward_notes": _json_field(row, "reward_notes", where, list, []),
            "reward_version": str(row["reward_version"])}


def score_rollout(task: str, completion: str, prompt: dict, reward_name: str | None = None) -> dict:
    """reward_* columns from the task's current default reward (or `reward_name`)."""
    reward = registry.get_reward(reward_name or registry.default_reward_name(task))
    breakdown = reward.score(completion, **reward_meta(prompt))
    return {"reward_name": reward.name, "reward_total": float(breakdown.total),
            "reward_components": dict(breakdown.components), "reward_notes": list(breakdown.notes),
            "reward_version": reward.version}


class RolloutsMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""

    # -- prompts ----------------------------------------------------------------------
    def add_prompts(self, rows) -> int:
        """Insert or update prompt rows (data's format, upsert by prompt_id); returns how many.
        Fields other than prompt_id, task, prompt, split are kept in the prompt's meta."""
        records = [prompt_record(row, f"prompt row {i}") for i, row in enumerate(rows)]
        stamp = utcnow()
        with self.transaction(immediate=True) as conn:
            conn.executemany(
                "INSERT INTO prompts (prompt_id, task, split, messages, meta, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(prompt_id) DO UPDATE SET task = excluded.task,"
                " split = excluded.split, messages = excluded.messages, meta = excluded.meta",
                [[r["prompt_id"], r["task"], r["split"], dumps(r["messages"]), dumps(r["meta"]), stamp]
                 for r in records],
            )
        return len(records)

    def get_prompt(self, prompt_id: str) -> dict | None:
        """A prompt in data's row format (prompt_id, task, prompt, split, meta fields), or None."""
        rows = self.query("SELECT prompt_id, task, split, messages, meta FROM prompts WHERE prompt_id = ?",
                          [prompt_id])
        return prompt_row(rows[0]) if rows else None

    def prompt_ids(self, task: str) -> list[str]:
        """The ids of `task`'s prompts, sorted."""
        return [r[0] for r in self.conn.execute("SELECT prompt_id FROM prompts WHERE task = ? ORDER BY prompt_id",
                                                [task])]

    def get_prompts(self, prompt_ids) -> list[dict]:
        """Prompts in data's row format, in the order of `prompt_ids` (unknown ids are left out)."""
        ids = list(prompt_ids)
        found = {}
        for start in range(0, len(ids), 500):  # SQLite caps the parameters of one statement
            chunk = ids[start:start + 500]
            found.update((r["prompt_id"], prompt_row(r)) for r in self.query(
                "SELECT prompt_id, task, split, messages, meta FROM prompts"
                f" WHERE prompt_id IN ({', '.join('?' for _ in chunk)})", chunk))
        return [found[i] for i in ids if i in found]

    def count_prompts(self, task: str | None = None) -> int:
        return self.conn.execute("SELECT count(*) FROM prompts WHERE (? IS NULL OR task = ?)",
                                 [task, task]).fetchone()[0]

    # -- rollouts ---------------------------------------------------------------------
    def add_rollouts(self, rows) -> list[int]:
        """Add rollouts (see the module docstring and docs/store.md for the fields) and
        return their ids in order; a duplicate (same dedup key) returns the existing id.
        Each new rollout is scored with its task's default reward unless reward_name,
        reward_total and reward_version are given; sample/import rollouts join the
        annotation queue. All-or-nothing: a bad row raises InvalidInput naming it."""
        prepared = self.prepare_rollouts(rows)
        return self.insert_prepared(prepared)

    def prepare_rollouts(self, rows, where=lambda i: f"rollout row {i}") -> list[dict]:
        """Validate and score rows without writing (used by add_rollouts and the importer)."""
        prompts: dict[str, dict | None] = {}
        out = []
        for i, row in enumerate(rows):
            out.append(self.prepare_rollout(row, where(i), prompts))
        return out

    def prepare_rollout(self, row: dict, where: str, prompts: dict | None = None) -> dict:
        """One row validated, its task looked up from its prompt, and scored (unless known)."""
        record = rollout_record(row, where)
        prompts = {} if prompts is None else prompts
        if record["prompt_id"] not in prompts:
            prompts[record["prompt_id"]] = self.get_prompt(record["prompt_id"])
        prompt = prompts[record["prompt_id"]]
        if prompt is None:
            raise InvalidInput(f"{where}: prompt {record['prompt_id']!r} is not in the store; add it first"
                               " (or put the prompt fields in the line)")
        if row.get("task") not in (None, prompt["task"]):
            raise InvalidInput(f"{where}: task {row.get('task')!r} does not match prompt "
                               f"{record['prompt_id']!r}, whose task is {prompt['task']!r}")
        record["task"] = prompt["task"]
        existing = self.conn.execute("SELECT id FROM rollouts WHERE dedup_key = ?", [record["dedup_key"]]).fetchone()
        record["existing_id"] = existing[0] if existing else None
        if existing is None:
            reward = given_reward(row, where)
            if reward is None:
                try:
                    reward = score_rollout(prompt["task"], record["completion"], prompt)
                except Exception as exc:  # a reward that cannot score this row names the row, not a traceback
                    raise InvalidInput(f"{where}: could not score the completion: "
                                       f"{type(exc).__name__}: {exc}") from exc
            record.update(reward)
        return record

    def insert_prepared(self, prepared: list[dict]) -> list[int]:
        """Write prepared rollouts in one transaction; ids in order (existing ones for duplicates)."""
        settings = self.get_settings()
        stamp = utcnow()
        ids: list[int] = []
        with self.transaction(immediate=True) as conn:
            for r in prepared:
                found = conn.execute("SELECT id FROM rollouts WHERE dedup_key = ?", [r["dedup_key"]]).fetchone()
                if found:
                    ids.append(found[0])
                    continue
                if "reward_name" not in r:
                    raise InvalidInput(f"rollout {r['dedup_key'][:12]} was prepared as a duplicate but is new;"
                                       " prepare it again")
                rollout_id = conn.execute(
                    "INSERT INTO rollouts (prompt_id, task, source, batch_id, model_id, checkpoint_id, gen_params,"
                    " sample_index, completion, prompt_tokens, completion_tokens, truncated, reward_name,"
                    " reward_total, reward_components, reward_notes, reward_version, dedup_key, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [r["prompt_id"], r["task"], r["source"], r["batch_id"], r["model_id"], r["checkpoint_id"],
                     dumps(r["gen_params"]), r["sample_index"], r["completion"], r["prompt_tokens"],
                     r["completion_tokens"], r["truncated"], r["reward_name"], r["reward_total"],
                     dumps(r["reward_components"]), dumps(r["reward_notes"]), r["reward_version"],
                     r["dedup_key"], stamp],
                ).lastrowid
                if r["source"] in QUEUED_SOURCES:
                    shuffle = assignment.shuffle_key(rollout_id)
                    conn.execute("INSERT INTO item_queue (rollout_id, task, target, shuffle) VALUES (?, ?, ?, ?)",
                                 [rollout_id, r["task"], assignment.target_for(shuffle, settings), shuffle])
                ids.append(rollout_id)
        return ids

    def get_rollout(self, rollout_id: int) -> dict:
        """One rollout with its reward breakdown (gen_params, components, notes decoded)."""
        return _decode(self.get_row("rollouts", rollout_id, f"rollout {rollout_id} does not exist"))

    def list_rollouts(self, *, task: str | None = None, source: str | None = None,
                      batch_id: str | None = None, model_id: str | None = None,
                      limit: int | None = 100, offset: int = 0) -> list[dict]:
        """Rollouts filtered by task / source / batch / model, oldest first."""
        rows = self.query(
            "SELECT * FROM rollouts WHERE (:task IS NULL OR task = :task) AND (:source IS NULL OR source = :source)"
            " AND (:batch IS NULL OR batch_id = :batch) AND (:model IS NULL OR model_id = :model)"
            " ORDER BY id LIMIT :limit OFFSET :offset",
            {"task": task, "source": source, "batch": batch_id, "model": model_id,
             "limit": -1 if limit is None else limit, "offset": offset})
        return [_decode(r) for r in rows]

    def count_rollouts(self, task: str | None = None) -> int:
        return self.conn.execute("SELECT count(*) FROM rollouts WHERE (? IS NULL OR task = ?)",
                                 [task, task]).fetchone()[0]


def _decode(row: dict) -> dict:
    row["gen_params"] = json.loads(row["gen_params"])
    row["reward_components"] = json.loads(row["reward_components"])
    row["reward_notes"] = json.loads(row["reward_notes"])
    if row.get("truncated") is not None:
        row["truncated"] = bool(row["truncated"])
    return row
