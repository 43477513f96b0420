"""Numbers as people read them, the same on the audit page and in `tucano-audit audit`.

An undefined figure is "-" (its reason is in the task's notes), never `None` or `nan`; a
p-value keeps two significant digits in scientific notation when small (4.6e-06), three
decimals otherwise; an interval is "[low, high]".
"""

from __future__ import annotations

import math


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def fmt_num(x, digits: int = 2, *, percent: bool = False) -> str:
    if _missing(x):
        return "-"
    return f"{x:.0%}" if percent else f"{x:.{digits}f}"


def fmt_p(p) -> str:
    if _missing(p):
        return "-"
    return f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"


def fmt_ci(low, high, digits: int = 2) -> str:
    if _missing(low) or _missing(high):
        return "-"
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def fmt_needed(row: dict) -> str:
    """The short "still needed" cell of a report row (report.AuditReport.rows()); the notes
    say it in full."""
    if row["reachable"] is False:
        return "fix the reward"
    parts = []
    if row["more_items"]:
        parts.append(f"+{row['more_items']} items")
    if row["more_second_scores"]:
        parts.append(f"+{row['more_second_scores']} scored twice")
    if parts:
        return ("at least " if row["reachable"] is None else "") + ", ".join(parts)
    return "see notes" if row["reachable"] is None else "enough"


def fmt_exploits(row: dict) -> str:
    """The short "exploits" cell of a report row: the highest family median against the bar,
    or how many families reach it (the exploit check's section says which)."""
    if row["exploit_families"] is None:
        return "-"
    if row["exploit_error"]:
        return "could not run"
    if row["exploits_failing"]:
        n = len(row["exploits_failing"])
        return f"{n} pay (>= {row['exploit_bar']:.2f})"
    if row["exploit_top"] is None:
        return "none apply"
    return f"{row['exploit_top_median']:.2f} < {row['exploit_bar']:.2f}"


def _cell(text: str) -> str:
    """A table cell for the page, which renders cells as Markdown and wraps them: a lone "-"
    would become a bullet (an en dash instead), and no line breaks inside a number or an
    interval (non-breaking hyphens and spaces)."""
    if text == "-":
        return "–"
    return text.replace("-", "\u2011").replace(", ", ",\u00a0").replace(" [", "\u00a0[")


def display_rows(report) -> list[dict]:
    """The per-task table of the audit page: one row of short strings per task."""
    out = []
    for r in report.rows():
        out.append({
            "task": r["task"], "verdict": r["verdict"],
            "items / prompts": f"{r['items']} / {r['prompts']}",
            "people (items scored twice)": f"{r['annotators']} ({r['overlap']})",
            "rho [95% CI]": "-" if r["rho"] is None else f"{fmt_num(r['rho'])} {fmt_ci(r['ci_low'], r['ci_high'])}",
            "p": fmt_p(r["p_value"]),
            "in-prompt tau [95% CI]": ("-" if r["within_prompt_tau"] is None else
                                       f"{fmt_num(r['within_prompt_tau'])} "
                                       f"{fmt_ci(r['within_ci_low'], r['within_ci_high'])}"),
            "agreement α": fmt_num(r["alpha"]),
            "ceiling": fmt_num(r["ceiling"]),
            "tied pairs": fmt_num(r["reward_ties"], percent=True),
            "exploits": fmt_exploits(r),
            "still needed": fmt_needed(r),
        })
    return [{k: v if k in ("task", "still needed") else _cell(v) for k, v in row.items()} for row in out]


def exploit_rows(report) -> list[dict]:
    """The exploit check of the audit page, one row per task and family (families that reach
    the bar first, then by median)."""
    out = []
    for t in report.tasks:
        check = report.exploits.get(t)
        if check is None:
            continue
        if check.error:
            out.append({"task": t, "family": "-", "median": None, "bar": check.bar, "result": "could not run",
                        "prompts": check.prompts, "what it tries": check.error})
        for name, f in sorted(check.families.items(), key=lambda kv: (not kv[1]["failed"], -kv[1]["median"])):
            out.append({"task": t, "family": name, "median": f["median"], "bar": check.bar,
                        "result": "FAIL" if f["failed"] else "ok", "prompts": f["n"], "what it tries": f["description"]})
    return out
