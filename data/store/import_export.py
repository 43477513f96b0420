"""Rollouts in and out of the store as files.

Import (JSONL, data.store.importing): one rollout per line, produced elsewhere (e.g. on a
GPU box) or by an export of another store, with the human scores it carries; every
rollout is scored with the current rewards; one bad line is one reported line; importing
the same file again adds nothing.

Export: `rollouts` (one row per rollout: the import fields, the reward breakdown and a
list of its annotations) or `annotations` (one row per annotation with its rollout's task,
model and reward), as JSONL or Parquet with a fixed schema, both readable by
`datasets.load_dataset("json" | "parquet", data_files=...)`. Files are written to a
temporary name and moved into place, so a failed export never leaves half a file, and a
full disk or a read-only folder ends in one line naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from data.atomic import temp_path_for
from data.io_errors import naming
from data.store.errors import InvalidInput
from data.store.importing import ImportReport, import_jsonl
from data.store.roles import SYSTEM, User
from rewards.types import TASKS

__all__ = ["EXPORT_KINDS", "ImportReport", "ImportExportMixin", "export", "import_jsonl"]

EXPORT_KINDS = ("rollouts", "annotations")
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


# -- export -------------------------------------------------------------------------

def _schemas():
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    annotation = pa.struct([("annotator", pa.string()), ("round", pa.int64()), ("score", pa.int64()),
                            ("flag_reward_wrong", pa.bool_()), ("comment", pa.string()),
                            ("seconds", pa.float64()), ("updated_at", pa.string())])
    s, i, f = pa.string(), pa.int64(), pa.float64()
    rollouts = pa.schema([
        ("rollout_id", i), ("prompt_id", s), ("task", s), ("prompt", pa.list_(message)), ("split", s),
        ("stratum", s), ("rating", i), ("reference_sql", s), ("reference_answer", s), ("topic", s),
        ("model_id", s), ("checkpoint_id", s), ("gen_params", s), ("sample_index", i), ("completion", s),
        ("prompt_tokens", i), ("completion_tokens", i), ("truncated", pa.bool_()), ("source", s),
        ("batch_id", s), ("reward_name", s), ("reward_total", f), ("reward_components", s),
        ("reward_notes", s), ("reward_version", s), ("dedup_key", s), ("created_at", s),
        ("annotations", pa.list_(annotation)),
    ])
    annotations = pa.schema([
        ("annotation_id", i), ("rollout_id", i), ("prompt_id", s), ("task", s), ("annotator", s),
        ("round", i), ("score", i), ("flag_reward_wrong", pa.bool_()), ("comment", s), ("seconds", f),
        ("created_at", s), ("updated_at", s), ("model_id", s), ("checkpoint_id", s), ("reward_name", s),
        ("reward_total", f), ("reward_version", s),
    ])
    return {"rollouts": rollouts, "annotations": annotations}


def _as_int(value):
    # Prompt meta is free-form JSON; the export schema wants integers or nulls.
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _as_text(value):
    return None if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def rollout_rows(store, task: str | None = None, batch: int = 5_000):
    """Export rows for rollouts (oldest first), in batches of dicts."""
    annotations: dict[int, list[dict]] = {}
    for a in store.list_annotations(task=task):
        annotations.setdefault(a["rollout_id"], []).append({
            "annotator": a["annotator"], "round": a["round"], "score": a["score"],
            "flag_reward_wrong": bool(a["flag_reward_wrong"]), "comment": a["comment"],
            "seconds": a["seconds"], "updated_at": a["updated_at"]})
    for rows in _pages(store, "SELECT r.*, p.messages, p.split, p.meta FROM rollouts r JOIN prompts p"
                              " ON p.prompt_id = r.prompt_id WHERE r.id > :last AND (:task IS NULL OR r.task = :task)"
                              " ORDER BY r.id LIMIT :n", "id", task, batch):
        out = []
        for r in rows:
            meta = json.loads(r["meta"])
            out.append({
                "rollout_id": r["id"], "prompt_id": r["prompt_id"], "task": r["task"],
                "prompt": json.loads(r["messages"]), "split": r["split"],
                "stratum": _as_text(meta.get("stratum")), "rating": _as_int(meta.get("rating")),
                **{k: _as_text(meta.get(k)) for k in ("reference_sql", "reference_answer", "topic")},
                "model_id": r["model_id"], "checkpoint_id": r["checkpoint_id"], "gen_params": r["gen_params"],
                "sample_index": r["sample_index"], "completion": r["completion"],
                "prompt_tokens": r["prompt_tokens"], "completion_tokens": r["completion_tokens"],
                "truncated": None if r["truncated"] is None else bool(r["truncated"]),
                "source": r["source"], "batch_id": r["batch_id"], "reward_name": r["reward_name"],
                "reward_total": r["reward_total"], "reward_components": r["reward_components"],
                "reward_notes": r["reward_notes"], "reward_version": r["reward_version"],
                "dedup_key": r["dedup_key"], "created_at": r["created_at"],
                "annotations": annotations.get(r["id"], []),
            })
        yield out


def annotation_rows(store, task: str | None = None, batch: int = 5_000):
    """Export rows for annotations (oldest first), in batches of dicts."""
    for rows in _pages(store, "SELECT a.id AS annotation_id, a.rollout_id, r.prompt_id, r.task,"
                              " u.username AS annotator, a.round, a.score, a.flag_reward_wrong, a.comment, a.seconds,"
                              " a.created_at, a.updated_at, r.model_id, r.checkpoint_id, r.reward_name, r.reward_total,"
                              " r.reward_version FROM annotations a JOIN rollouts r ON r.id = a.rollout_id"
                              " JOIN users u ON u.id = a.annotator_id"
                              " WHERE a.id > :last AND (:task IS NULL OR r.task = :task) ORDER BY a.id LIMIT :n",
                       "annotation_id", task, batch):
        for r in rows:
            r["flag_reward_wrong"] = bool(r["flag_reward_wrong"])
        yield rows


def _pages(store, sql: str, id_key: str, task: str | None, batch: int):
    """Rows of `sql` in id order, `batch` at a time; keyset paging (`:last`) stays fast on big
    tables where OFFSET would rescan everything before the page."""
    last_id = 0
    while True:
        rows = store.query(sql, {"last": last_id, "task": task, "n": batch})
        if not rows:
            return
        yield rows
        last_id = rows[-1][id_key]


def export(store, path: str | Path, *, what: str = "rollouts", fmt: str | None = None,
           task: str | None = None, actor: User = SYSTEM) -> int:
    """Write rollouts or annotations to `path` (JSONL or Parquet, from fmt or the suffix);
    returns the number of rows written."""
    store.acting(actor, "engineer", "reviewer", action="exporting data")
    if what not in EXPORT_KINDS:
        raise InvalidInput(f"unknown export {what!r}; choose one of {', '.join(EXPORT_KINDS)}")
    path = Path(path)
    fmt = fmt or FORMATS.get(path.suffix.lower())
    if fmt not in ("jsonl", "parquet"):
        raise InvalidInput(f"cannot tell the format of {path.name!r}: use a .jsonl or .parquet name, or fmt=")
    if task is not None:
        if task not in TASKS:
            raise InvalidInput(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")
    batches = rollout_rows(store, task) if what == "rollouts" else annotation_rows(store, task)
    # write() errors carry no file name: name the target (the temporary file is removed).
    with naming(path), temp_path_for(path) as tmp:
        return _write_parquet(tmp, batches, _schemas()[what]) if fmt == "parquet" else _write_jsonl(tmp, batches)


def _write_jsonl(tmp: Path, batches) -> int:
    count = 0
    with open(tmp, "w", encoding="utf-8") as out:
        for rows in batches:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += len(rows)
    return count


def _write_parquet(tmp: Path, batches, schema) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    count = 0
    with pq.ParquetWriter(tmp, schema) as writer:
        for rows in batches:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            count += len(rows)
        if count == 0:
            writer.write_table(schema.empty_table())
    return count


class ImportExportMixin:
    """Store methods for files (mixed into data.store.Store)."""

    def import_rollouts(self, path: str | Path, *, actor: User = SYSTEM, batch_id: str | None = None,
                        prompt_sets: Mapping[str, dict] | None = None) -> ImportReport:
        """Import a JSONL file of rollouts; returns an ImportReport (see data.store.importing)."""
        return import_jsonl(self, path, actor=actor, batch_id=batch_id, prompt_sets=prompt_sets)

    def export(self, path: str | Path, *, what: str = "rollouts", fmt: str | None = None,
               task: str | None = None, actor: User = SYSTEM) -> int:
        """Export rollouts or annotations as JSONL or Parquet; returns the number of rows."""
        return export(self, path, what=what, fmt=fmt, task=task, actor=actor)
