"""Importing rollouts (and the human scores they carry) from a JSONL file.

A line is a prompt row of data/prompts (prompt_id, task, prompt, split, stratum, rating,
reference_sql, reference_answer, topic) plus the rollout fields (model_id, completion,
checkpoint_id, gen_params, sample_index, prompt_tokens, completion_tokens, truncated,
batch_id); the prompt fields may be left out when the prompt_id is already in the store,
or is in the prompt sets the caller passes (`prompt_sets`: the home's train and eval sets
for `tucano-audit rollouts import`), whose row is then added with the rollout.
Every imported rollout is scored with the current rewards (reward_* fields in a line are
ignored).

A line of a rollouts export also carries `annotations` (annotator username, round, score,
flag, comment, seconds, updated_at). They are imported with the rollout, each under the
account of that username in this store; no account is ever created: an annotator unknown
here (or whose role cannot score) is reported on that line, the rollout still comes in,
and importing the file again once the account exists adds the missing scores.

One bad line is one reported line, whatever it breaks with (not UTF-8, not JSON, nested
too deep, a lone surrogate, a missing field, a value the store cannot hold...): the other
lines still import. Lines are written in chunks, each in one transaction, so an import
killed half-way keeps whole chunks, and running it again adds only what is missing
(dedup keys; scores already present are left as they are). A failure of the machine (a
full disk, a read-only store) stops the import with one line naming the file.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from data.io_errors import StorageError, storage_error
from data.jsonl import parse_line
from data.store.annotations import MAX_COMMENT_CHARS, parse_score
from data.store.errors import InvalidInput
from data.store.roles import SYSTEM, User
from data.store.rollouts import REWARD_FIELDS, prompt_record, prompt_row
from data.store.values import utcnow

CHUNK_LINES = 2_000
SCORING_ROLES = ("annotator", "admin")


@dataclass
class ImportReport:
    """What an import did: counts, and (line number, reason) for every line it refused."""

    path: str
    batch_id: str
    added: int = 0
    duplicates: int = 0
    prompts_added: int = 0
    annotations_added: int = 0
    annotations_present: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        text = (f"{self.path}: {self.added} rollouts added, {self.duplicates} already present,"
                f" {self.prompts_added} prompts added, {self.annotations_added} human scores added"
                f" ({self.annotations_present} already present), {len(self.errors)} bad lines")
        return text + "".join(f"\n  line {n}: {reason}" for n, reason in self.errors)


def _environment(exc: BaseException, store) -> BaseException | None:
    """The StorageError a failure of the machine becomes, or None for a problem of the line."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, OSError | sqlite3.Error):
        return storage_error(exc, store.path, what=f"the store {store.path}")
    return None


def import_jsonl(store, path: str | Path, *, actor: User = SYSTEM, batch_id: str | None = None,
                 prompt_sets: Mapping[str, dict] | None = None) -> ImportReport:
    """Import a JSONL file of rollouts (see the module docstring); returns an ImportReport.
    `prompt_sets` maps prompt_id -> prompt row (data.prompts format) for lines that name
    a prompt the store does not hold yet."""
    by = store.acting(actor, "engineer", action="importing rollouts")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    report = ImportReport(path=str(path), batch_id=batch_id or f"import:{path.name}")
    prompts: dict[str, dict | None] = {}  # prompt_id -> stored or inline prompt row (None: absent)
    new_prompts: dict[str, dict] = {}
    accounts: dict[str, User | None] = {}
    pending: list[tuple[int, dict]] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                parsed = _parse_line(raw)
                if parsed is None:
                    continue
                _inline_prompt(store, parsed, f"line {number}", prompts, new_prompts)
                _known_prompt(store, parsed, prompt_sets or {}, prompts, new_prompts)
                row = {k: v for k, v in parsed.items() if k not in REWARD_FIELDS}
                row.setdefault("source", "import")
                row.setdefault("batch_id", report.batch_id)
                record = store.prepare_rollout(row, f"line {number}", prompts)
                record["annotations"], problems = _annotations(store, parsed.get("annotations"), accounts)
                pending.append((number, record))
                report.errors += [(number, p) for p in problems]
            except Exception as exc:  # noqa: BLE001 - one bad line is one reported line, whatever it raised
                fault = _environment(exc, store)
                if fault is not None:
                    raise fault from exc
                reason = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
                report.errors.append((number, reason.removeprefix(f"line {number}: ")[:500]))
            if len(pending) >= CHUNK_LINES:
                _write_chunk(store, pending, new_prompts, report, by)
    _write_chunk(store, pending, new_prompts, report, by)
    report.errors.sort(key=lambda e: e[0])
    return report


def _parse_line(raw: bytes) -> dict | None:
    value = parse_line(raw)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(f"expected a JSON object, got {type(value).__name__}")
    if "completion" not in value and "annotation_id" in value:
        raise InvalidInput("this is a line of an annotations export (one row per score); import the rollouts "
                           "export instead (`rollouts export FILE`): each of its rows carries its annotations")
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


def _annotations(store, items, accounts: dict) -> tuple[list[dict], list[str]]:
    """The line's annotations, validated and mapped to accounts here; and what was refused."""
    if items is None:
        return [], []
    if not isinstance(items, list):
        raise InvalidInput("annotations must be a list of {annotator, round, score, ...}")
    out, problems = [], []
    for i, a in enumerate(items):
        where = f"annotations[{i}]"
        if not isinstance(a, dict) or not isinstance(a.get("annotator"), str):
            raise InvalidInput(f"{where} must be an object with the annotator's username")
        name = a["annotator"]
        if name not in accounts:
            accounts[name] = store.get_user(name)
        user = accounts[name]
        if user is None:
            problems.append(f"{where}: annotator {name!r} has no account in this store; the rollout was "
                            f"imported without this score (add the account and import the file again)")
            continue
        if user.role not in SCORING_ROLES:
            problems.append(f"{where}: {name!r} is a {user.role} here and cannot hold scores; the rollout was "
                            "imported without this score")
            continue
        round_ = a.get("round", 0)
        if round_ not in (0, 1) or isinstance(round_, bool):
            raise InvalidInput(f"{where}: round must be 0 or 1; got {round_!r}")
        score = None if a.get("score") is None else parse_score(a["score"])
        flag = a.get("flag_reward_wrong", False)
        if not isinstance(flag, bool | int) or flag not in (0, 1):
            raise InvalidInput(f"{where}: flag_reward_wrong must be true or false; got {flag!r}")
        if score is None and not flag:
            raise InvalidInput(f"{where}: an annotation needs a score or a flag")
        comment = a.get("comment")
        if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS):
            raise InvalidInput(f"{where}: comment must be text of at most {MAX_COMMENT_CHARS} characters")
        seconds = a.get("seconds")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)
                                    or not math.isfinite(seconds) or seconds < 0):
            raise InvalidInput(f"{where}: seconds must be a number of zero or more; got {seconds!r}")
        stamp = a.get("updated_at") if isinstance(a.get("updated_at"), str) else None
        out.append({"user": user, "round": round_, "score": score, "flag": int(bool(flag)), "comment": comment,
                    "seconds": seconds, "at": stamp, "where": where})
    return out, problems


def _write_chunk(store, pending: list[tuple[int, dict]], new_prompts: dict, report: ImportReport, by: User) -> None:
    """Write the pending lines in one transaction; if one of them cannot be stored, write them
    one by one so only that line is refused."""
    if not pending:
        return
    try:
        _write(store, pending, new_prompts, report, by)
    except Exception as exc:  # noqa: BLE001 - find the line(s) at fault below
        fault = _environment(exc, store)
        if fault is not None:
            raise fault from exc
        for number, record in pending:
            try:
                _write(store, [(number, record)], new_prompts, report, by)
            except Exception as line_exc:  # noqa: BLE001 - one bad line is one reported line
                fault = _environment(line_exc, store)
                if fault is not None:
                    raise fault from line_exc
                report.errors.append((number, f"could not be stored: {type(line_exc).__name__}: {line_exc}"[:500]))
    pending.clear()


def _write(store, lines: list[tuple[int, dict]], new_prompts: dict, report: ImportReport, by: User) -> None:
    needed = {r["prompt_id"] for _, r in lines}
    counts = {"added": 0, "present": 0}
    notes: list[tuple[int, str]] = []
    with store.transaction(immediate=True) as conn:
        prompts = [new_prompts[pid] for pid in list(new_prompts) if pid in needed]
        if prompts:
            store.add_prompts(prompts)
        ids = store.insert_prepared([r for _, r in lines])
        for (number, record), rollout_id in zip(lines, ids, strict=True):
            for a in record["annotations"]:
                outcome = _store_annotation(store, conn, rollout_id, a, by)
                if outcome in counts:
                    counts[outcome] += 1
                else:
                    notes.append((number, outcome))
    # Only once the transaction committed: a rolled-back chunk reports nothing as done.
    for pid in {pid for pid in needed if pid in new_prompts}:
        new_prompts.pop(pid)
    report.prompts_added += len(prompts)
    report.annotations_added += counts["added"]
    report.annotations_present += counts["present"]
    report.errors += notes
    seen = set(report.ids)
    for (_, record), rollout_id in zip(lines, ids, strict=True):
        if record["existing_id"] is not None or rollout_id in seen:
            report.duplicates += 1
        else:
            report.added += 1
            report.ids.append(rollout_id)
            seen.add(rollout_id)


def _store_annotation(store, conn, rollout_id: int, a: dict, by: User) -> str:
    """Insert one imported score (inside the chunk's transaction): 'added', 'present', or why not."""
    user, round_ = a["user"], a["round"]
    found = conn.execute("SELECT score, flag_reward_wrong, comment FROM annotations WHERE rollout_id = ?"
                         " AND annotator_id = ? AND round = ?", [rollout_id, user.id, round_]).fetchone()
    if found is not None:
        if tuple(found) == (a["score"], a["flag"], a["comment"]):
            return "present"
        return (f"{a['where']}: {user.username} already scored this rollout here ({found[0]}, file: {a['score']});"
                " the stored score is kept")
    stamp = a["at"] or utcnow()
    annotation_id = conn.execute(
        "INSERT INTO annotations (rollout_id, annotator_id, round, score, flag_reward_wrong, comment, seconds,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [rollout_id, user.id, round_, a["score"], a["flag"], a["comment"], a["seconds"], stamp, stamp]).lastrowid
    conn.execute("INSERT INTO annotation_history (annotation_id, score, flag_reward_wrong, comment, changed_at,"
                 " changed_by) VALUES (?, ?, ?, ?, ?, ?)",
                 [annotation_id, a["score"], a["flag"], a["comment"], utcnow(), f"import by {by.username}"])
    # The item counts as done for this annotator, as if scored here (queue counters move with it).
    store._mark_done(conn, rollout_id, user.id, round_, utcnow())
    if round_ == 0 and a["score"] is not None:
        conn.execute("UPDATE item_queue SET scored = scored + 1 WHERE rollout_id = ?", [rollout_id])
    return "added"
