"""Rollouts in and out of the store as files.

Import (JSONL): one rollout per line, produced elsewhere (e.g. on a GPU box). A line is a
prompt row of data/prompts (prompt_id, task, prompt, split, stratum, rating,
reference_sql, reference_answer, topic) plus the rollout fields (model_id, completion,
checkpoint_id, gen_params, sample_index, prompt_tokens, completion_tokens, truncated,
batch_id); the prompt fields may be left out when the prompt_id is already in the store,
or is in the prompt sets the caller passes (`prompt_sets`: the home's train and eval sets
for `tucano-audit rollouts import`), whose row is then added with the rollout.
Every imported rollout is scored with the current rewards (reward_* fields in a line are
ignored). A bad line is reported with its number and reason and the others still import;
importing the same file again adds nothing (dedup keys).

Export: `rollouts` (one row per rollout: the import fields, the reward breakdown and a
list of its annotations) or `annotations` (one row per annotation with its rollout's task,
model and reward), as JSONL or Parquet with a fixed schema, both readable by
`datasets.load_dataset("json" | "parquet", data_files=...)`. Files are written to a
temporary name and moved into place, so a failed export never leaves half a file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from data.atomic import temp_path_for
from data.store.errors import InvalidInput
from data.store.roles import SYSTEM, User
from data.store.rollouts import REWARD_FIELDS, prompt_record, prompt_row
from rewards.types import TASKS

CHUNK_LINES = 2_000
EXPORT_KINDS = ("rollouts", "annotations")
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


@dataclass
class ImportReport:
    """What an import did: counts, and (line number, reason) for every line it refused."""

    path: str
    batch_id: str
    added: int = 0
    duplicates: int = 0
    prompts_added: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        text = (f"{self.path}: {self.added} rollouts added, {self.duplicates} already present,"
                f" {self.prompts_added} prompts added, {len(self.errors)} bad lines")
        return text + "".join(f"\n  line {n}: {reason}" for n, reason in self.errors)


def import_jsonl(store, path: str | Path, *, actor: User = SYSTEM, batch_id: str | None = None,
                 prompt_sets: Mapping[str, dict] | None = None) -> ImportReport:
    """Import a JSONL file of rollouts (see the module docstring); returns an ImportReport.
    `prompt_sets` maps prompt_id -> prompt row (data.prompts format) for lines that name
    a prompt the store does not hold yet."""
    store.acting(actor, "engineer", action="importing rollouts")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    report = ImportReport(path=str(path), batch_id=batch_id or f"import:{path.name}")
    prompts: dict[str, dict | None] = {}  # prompt_id -> stored or inline prompt row (None: absent)
    new_prompts: dict[str, dict] = {}
    pending: list[tuple[int, dict]] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                parsed = _parse_line(raw, number)
                if parsed is None:
                    continue
                _inline_prompt(store, parsed, f"line {number}", prompts, new_prompts)
                _known_prompt(store, parsed, prompt_sets or {}, prompts, new_prompts)
                row = {k: v for k, v in parsed.items() if k not in REWARD_FIELDS}
                row.setdefault("source", "import")
                row.setdefault("batch_id", report.batch_id)
                pending.append((number, store.prepare_rollout(row, f"line {number}", prompts)))
            except InvalidInput as exc:
                report.errors.append((number, str(exc).removeprefix(f"line {number}: ")))
            if len(pending) >= CHUNK_LINES:
                _write_chunk(store, pending, new_prompts, report)
    _write_chunk(store, pending, new_prompts, report)
    return report


def _parse_line(raw: bytes, number: int) -> dict | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"line {number}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"line {number}: expected a JSON object, got {type(value).__name__}")
    return value


def _inline_prompt(store, line: dict, where: str, prompts: dict, new_prompts: dict) -> None:
    """Register the prompt carried in the line, if any; it must agree with a stored one."""
    if "prompt" not in line and "messages" not in line:
        return
    record = prompt_record(line, where, extra_meta=False)
    pid = record["prompt_id"]
    if pid not in prompts:
        prompts[pid] = store.get_prompt(pid)
    known = prompts[pid]
    if known is None:
        prompts[pid] = prompt_row(record)
        new_prompts[pid] = prompts[pid]
        return
    if known["task"] != record["task"]:
        raise InvalidInput(f"{where}: prompt {pid!r} has task {known['task']!r}; this line says {record['task']!r}")
    if known["prompt"] != record["messages"]:
        raise InvalidInput(f"{where}: prompt {pid!r} is already known with a different text")


def _known_prompt(store, line: dict, prompt_sets: Mapping[str, dict], prompts: dict, new_prompts: dict) -> None:
    """A line without prompt fields whose prompt_id is not stored: take it from the prompt sets."""
    pid = line.get("prompt_id")
    if "prompt" in line or "messages" in line or not isinstance(pid, str) or pid not in prompt_sets:
        return
    if pid not in prompts:
        prompts[pid] = store.get_prompt(pid)
    if prompts[pid] is None:
        prompts[pid] = new_prompts[pid] = prompt_sets[pid]


def _write_chunk(store, pending: list[tuple[int, dict]], new_prompts: dict, report: ImportReport) -> None:
    if not pending:
        return
    needed = {r["prompt_id"] for _, r in pending}
    with store.transaction(immediate=True):
        prompts = [new_prompts.pop(pid) for pid in list(new_prompts) if pid in needed]
        if prompts:
            store.add_prompts(prompts)
        ids = store.insert_prepared([r for _, r in pending])
    report.prompts_added += len(prompts)
    seen = set(report.ids)
    for (_, record), rollout_id in zip(pending, ids, strict=True):
        if record["existing_id"] is not None or rollout_id in seen:
            report.duplicates += 1
        else:
            report.added += 1
            report.ids.append(rollout_id)
            seen.add(rollout_id)
    pending.clear()


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
    with temp_path_for(path) as tmp:
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
        """Import a JSONL file of rollouts; returns an ImportReport (see this module's docstring)."""
        return import_jsonl(self, path, actor=actor, batch_id=batch_id, prompt_sets=prompt_sets)

    def export(self, path: str | Path, *, what: str = "rollouts", fmt: str | None = None,
               task: str | None = None, actor: User = SYSTEM) -> int:
        """Export rollouts or annotations as JSONL or Parquet; returns the number of rows."""
        return export(self, path, what=what, fmt=fmt, task=task, actor=actor)
