"""Good answers to prompt rows, written from what each row knows.

`gold_answer(row)` is the answer a careful annotator would write: extraction, the JSON of
the labels the review was composed from; sql_qa, the reference query with a Portuguese
explanation stating its result; push, a notification faithful to the brief; insights, an
analysis of the data summary with recommendations. None when the row does not know enough
(an imported review has no gold labels).

The exploit bench compares every exploit family with these answers on the same rows
(`tucano-audit rewards probe --exploits`); they are also meant as supervised warm-start
targets. The phrasing varies with the row (its prompt_id picks the variant), so a set of
them is not one sentence repeated. The writing itself is rewards.exemplars: the exploit
families start from the same answers (a good answer cut short, its figures changed).
"""

from __future__ import annotations

import hashlib

from data.prompts import reward_meta
from rewards import exemplars


def gold_answer(row: dict) -> str | None:
    """A good answer to the prompt row (a data.prompts row), or None when it lacks the facts."""
    meta = {**row, **reward_meta(row)}
    variant = int(hashlib.sha1(str(row.get("prompt_id", "")).encode()).hexdigest()[:8], 16)
    return exemplars.answer(meta, variant)
