"""The dataset card: README.md in the prompts folder, saying what was built, from what,
and how the prompts split by task, stratum and topic. It holds no timestamps or timings,
so the same seed writes the same card byte for byte."""

from __future__ import annotations

import hashlib
from collections import Counter

from rewards.types import TASKS


def _table(header: tuple[str, ...], rows: list[tuple]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render(*, train: list[dict], eval_rows: list[dict], source: str, seed: int, size: str,
           db_counts: dict[str, int], diversity: dict | None, hashes: dict[str, str],
           second: dict | None = None, notes: list[str] | None = None) -> str:
    t_task, e_task = Counter(r["task"] for r in train), Counter(r["task"] for r in eval_rows)
    t_str, e_str = Counter(r["stratum"] for r in train), Counter(r["stratum"] for r in eval_rows)
    t_top = Counter((r["task"], r["topic"]) for r in train if r["topic"])
    e_top = Counter((r["task"], r["topic"]) for r in eval_rows if r["topic"])
    n = len(train) or 1
    parts = [
        "# tucano-audit prompt sets",
        "",
        f"Built by `tucano-audit data build` from the {source} commerce database "
        f"(seed {seed}, size `{size}`). Prompts are chat messages (system + user, Portuguese) with a "
        "`task` column and the metadata the rewards read; no prompt text appears in both splits "
        "(compared after removing accents, case and punctuation).",
        "",
        "## Files",
        "",
        _table(("file", "rows", "sha256"), [
            ("train.jsonl", len(train), hashes["train"]), ("eval.jsonl", len(eval_rows), hashes["eval"])]),
        "",
        "## Prompts per task",
        "",
        _table(("task", "train", "train share", "eval"),
               [(t, t_task[t], f"{100 * t_task[t] / n:.1f}%", e_task[t]) for t in TASKS]
               + [("**total**", len(train), "100%", len(eval_rows))]),
        "",
        "## Prompts per stratum",
        "",
        "Extraction is stratified by the review's star rating (the `rating` column); the other tasks "
        "have one stratum each.",
        "",
        _table(("stratum", "train", "eval"), [(s, t_str[s], e_str[s]) for s in sorted(set(t_str) | set(e_str))]),
        "",
        "## Topics",
        "",
        "sql_qa: the question template; insights: the analysis theme; push: the campaign occasion.",
        "",
        _table(("task", "topic", "train", "eval"),
               [(t, tp, t_top[(t, tp)], e_top[(t, tp)]) for t, tp in sorted(set(t_top) | set(e_top))]),
        "",
        "## Commerce database",
        "",
        _table(("table", "rows"), sorted(db_counts.items())),
    ]
    ext = [r for r in train + eval_rows if r["task"] == "extraction"]
    labelled = sum(1 for r in ext if r.get("gold"))
    parts += [
        "",
        "## What the rewards check against",
        "",
        f"Extraction: {labelled} of {len(ext)} reviews carry the gold labels they were written from "
        "(issue flags, topic, recommendation)"
        + ("." if labelled == len(ext) else "; the others (imported reviews) have none, and the extraction "
           "reward scores them without its correctness component.")
        + " Push rows carry their brief, insights rows their data summary and request, sql_qa rows their "
        "question and whether it asks for an order.",
    ]
    if second:
        parts += [
            "",
            f"Second database `commerce-b.db`: synthetic, seed `{second['seed']}`, size `{second['size']}`, "
            f"{second['orders']} orders. The sql_qa reward runs every answer there too and accepts it only "
            "when it agrees with the reference query's result on both databases.",
        ]
    if diversity:
        parts += [
            "",
            "## Review comments",
            "",
            f"{diversity['comments']} comments, {diversity['distinct']} distinct texts; "
            f"{100 * diversity['repeated_share']:.1f}% of comments share their exact text with another "
            f"comment; the most common text covers {100 * diversity['top_share']:.2f}% of comments.",
        ]
    if notes:
        parts += ["", "## Import notes", "", "Kept as found in the source files, or skipped as counted here:", ""]
        parts += [f"- {n}" for n in notes]
    return "\n".join(parts) + "\n"
