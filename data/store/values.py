"""How the store writes values it does not keep in typed columns: timestamps as UTC ISO
text with milliseconds, JSON with sorted keys and real UTF-8 (so equal values give equal
text, which dedup keys and snapshot hashes rely on)."""

from __future__ import annotations

import json
from datetime import UTC, datetime


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def loads(text, default):
    """JSON text -> value; `default` for NULL, empty or unreadable text."""
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default
