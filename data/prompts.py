"""Prompt rows: their shape, how they are written and read back, and what each gives the
reward functions.

One JSON object per line, the same keys on every line (so `datasets` reads the file as a
table): prompt_id, task, prompt (system + user messages), split, stratum, rating,
reference_sql, reference_answer, topic, and what the rewards ground their scores in (null
for the other tasks): extraction `gold` (the labels the review was written from; null for
imported reviews) and `review`; push `brief`; insights `data_summary` and `request`;
sql_qa `question` and `order_matters`. See docs/architecture.md, "Prompt rows".

`reward_meta(row)` hands a row's grounding to its reward, with the database paths; a row
that lost a field (written by an older build, or stored without it) gets it back from its
own prompt text (data.prompt_facts), except gold labels, which no text holds.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path

from data import paths, prompt_facts
from data.jsonl import parse_line
from rewards.types import TASKS

FIELDS: tuple[str, ...] = (
    "prompt_id", "task", "prompt", "split", "stratum", "rating", "reference_sql", "reference_answer", "topic",
    "gold", "review", "brief", "data_summary", "request", "question", "order_matters",
)
# The grounding fields, their type when present (null otherwise).
GROUNDING: dict[str, type | tuple[type, ...]] = {
    "gold": dict, "review": str, "brief": dict, "data_summary": list, "request": str, "question": str,
    "order_matters": bool,
}
SPLITS = ("train", "eval")
PUSH_MAX_CHARS = 120
# Every ASCII byte that is not a letter or digit becomes a space (bytes.translate is fast).
_PUNCT_TO_SPACE = bytes(c if chr(c).isalnum() and c < 128 else 32 for c in range(256))


def make_row(task: str, system: str, user: str, *, stratum: str | None = None, rating: int | None = None,
             reference_sql: str | None = None, reference_answer: str | None = None,
             topic: str | None = None, split: str = "train", key: str | None = None, **grounding) -> dict:
    """A prompt row with a stable id derived from its task and normalised text
    (`key`, when the caller has it already); `grounding` fills the GROUNDING fields."""
    unknown = set(grounding) - set(GROUNDING)
    if unknown:
        raise ValueError(f"unknown prompt field(s) {', '.join(sorted(unknown))}; valid: {', '.join(GROUNDING)}")
    digest = hashlib.sha1(f"{task}\n{key or normalise(user)}".encode()).hexdigest()[:10]
    return {
        "prompt_id": f"{task}-{digest}",
        "task": task,
        "prompt": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "split": split,
        "stratum": stratum or task,
        "rating": rating,
        "reference_sql": reference_sql,
        "reference_answer": reference_answer,
        "topic": topic,
        **{k: grounding.get(k) for k in GROUNDING},
    }


def normalise(text: str) -> str:
    """The text as the duplicate check sees it: no accents, case, punctuation or spacing."""
    # NFKD splits "ç"/"ã" into letter + mark; dropping non-ASCII removes the marks.
    raw = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").lower().translate(_PUNCT_TO_SPACE)
    return " ".join(raw.decode("ascii").split())


def prompt_text(row: dict) -> str:
    """The user message, which is what makes two prompts the same or different."""
    return next(m["content"] for m in row["prompt"] if m["role"] == "user")


def dumps(rows: list[dict]) -> str:
    """JSONL text: keys in FIELDS order, UTF-8 kept readable, one row per line."""
    return "".join(json.dumps({k: r[k] for k in FIELDS}, ensure_ascii=False) + "\n" for r in rows)


def validate_row(row: object, where: str) -> dict:
    """Check one row's shape; the error names `where` (file and line)."""
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [k for k in ("prompt_id", "task", "prompt") if k not in row]
    if missing:
        raise ValueError(f"{where}: missing key(s) {', '.join(missing)}")
    if row["task"] not in TASKS:
        raise ValueError(f"{where}: unknown task {row['task']!r}; valid tasks: {', '.join(TASKS)}")
    msgs = row["prompt"]
    if (not isinstance(msgs, list) or not msgs
            or not all(isinstance(m, dict) and isinstance(m.get("role"), str)
                       and isinstance(m.get("content"), str) for m in msgs)
            or not any(m["role"] == "user" for m in msgs)):
        raise ValueError(f"{where}: 'prompt' must be a list of {{role, content}} messages with a user message")
    rating = row.get("rating")
    if rating is not None and (not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5):
        raise ValueError(f"{where}: 'rating' must be an integer 1-5 or null, got {rating!r}")
    if row.get("split") not in (None, *SPLITS):
        raise ValueError(f"{where}: 'split' must be one of {', '.join(SPLITS)}, got {row.get('split')!r}")
    if row["task"] == "sql_qa":
        for key in ("reference_sql", "reference_answer"):
            if row.get(key) is not None and not isinstance(row[key], str):
                raise ValueError(f"{where}: {key!r} must be text")
    for key, kind in GROUNDING.items():
        if row.get(key) is not None and not isinstance(row[key], kind):
            raise ValueError(f"{where}: {key!r} must be {kind.__name__} or null, got {type(row[key]).__name__}")
    out = {k: row.get(k) for k in FIELDS}
    out["stratum"] = out["stratum"] or row["task"]
    return out


def load_prompts(path: str | Path, tasks: list[str] | tuple[str, ...] | None = None) -> list[dict]:
    """Read and validate a prompt JSONL file, optionally keeping only some tasks."""
    path = Path(path)
    if tasks is not None:
        bad = [t for t in tasks if t not in TASKS]
        if bad:
            raise ValueError(f"unknown task(s) {', '.join(bad)}; valid tasks: {', '.join(TASKS)}")
    if not path.exists():
        raise FileNotFoundError(f"prompt file not found: {path} (run `tucano-audit data build`)")
    rows = []
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            try:  # not UTF-8, not JSON, nested too deep, a lone surrogate: the line is named
                obj = parse_line(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{n}: {exc}") from None
            if obj is None:
                continue
            row = validate_row(obj, f"{path}:{n}")
            if tasks is None or row["task"] in tasks:
                rows.append(row)
    return rows


def reward_meta(row: dict, *, db_path: str | Path | None = None, db_path_b: str | Path | None = None) -> dict:
    """The keyword arguments the row's task reward reads (rewards ignore the others).

    Rewards are pure and know no home folder: for sql_qa this supplies the database the
    query runs on (`db_path` when given, else the home's commerce.db) and the second one it
    must agree on (`db_path_b`, else the one built beside the first: `paths.second_db`).
    Fields the row lacks are recovered from its prompt text where the text holds them."""
    task = row["task"]
    row = {**row, **prompt_facts.recover(row)}
    text = prompt_facts.user_text(row) or None
    if task == "extraction":
        return _given(row, "rating", "gold", "review")
    if task == "sql_qa":
        meta = _given(row, "reference_sql", "reference_answer", "question", "order_matters")
        db = Path(db_path) if db_path is not None else paths.commerce_db()
        meta["db_path"] = str(db)
        meta["db_path_b"] = str(db_path_b if db_path_b is not None else paths.second_db(db))
        return {**meta, **({"prompt_text": text} if text else {})}
    if task == "push":
        meta = {"max_chars": PUSH_MAX_CHARS, **_given(row, "brief", "topic")}
        return {**meta, **({"prompt_text": text} if text else {})}
    return {**_given(row, "data_summary", "request", "topic"), **({"prompt_text": text} if text else {})}


def _given(row: dict, *keys: str) -> dict:
    return {k: row[k] for k in keys if row.get(k) is not None}


def home_prompt_sets() -> dict[str, dict]:
    """prompt_id -> row of the home folder's prompt sets (train and eval, those that exist),
    so rollouts made elsewhere can name a prompt by its id alone."""
    rows: dict[str, dict] = {}
    for path in (paths.train_prompts(), paths.eval_prompts()):
        if path.is_file():
            rows.update({row["prompt_id"]: row for row in load_prompts(path)})
    return rows
