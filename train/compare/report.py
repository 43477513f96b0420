"""The comparison report: statistics from the store, as JSON and Markdown, written into
the run folder; and the per-task delta chart the compare page shows.

The Markdown table keeps the layout of the recipe we follow:

    | Task | Base | Tuned | Δ | Δ % | Significant? |

"Significant?" is the one-sided Wilcoxon ("tuned greater") after Holm's correction across
the tasks, at alpha 0.05; the raw and two-sided p-values, the rank-biserial effect size
and the bootstrap CI of Δ follow in a second table. A report built while results are
missing says PARTIAL at the top of the Markdown and `partial: true` in the JSON, so nobody
mistakes it for the final answer. Blind review win
rates and reviewers' notes are exported with it.
"""

from __future__ import annotations

import json
from pathlib import Path

from data import atomic
from train.compare import blind_review
from train.compare import stats as cs

REPORT_MD = "report.md"
REPORT_JSON = "report.json"
RESULTS_JSONL = "results.jsonl"


# -- building ------------------------------------------------------------------------------

def build_report(store, comparison_id: int, *, n_resamples: int = cs.N_BOOT) -> dict:
    """Everything the report says, as a JSON-ready dict."""
    c = store.get_comparison(comparison_id)
    tasks = list(c["tasks"])
    sides: dict[str, dict] = {}
    results: list[cs.ComparisonStats] = []
    for label in c["side_labels"]:
        res = cs.compare(store.compare_pairs(comparison_id, label), label=label, tasks=tasks,
                         n_resamples=n_resamples)
        results.append(res)
        sides[label] = res.to_dict()
    progress = c["progress"]
    paired = {label: sides[label]["overall"]["n"] for label in sides}
    report = {
        "comparison": {k: c[k] for k in ("id", "base_model", "sides", "eval_path", "eval_sha256", "gen_params",
                                         "samples", "tasks", "n_prompts", "reward_versions", "status",
                                         "message", "created_by", "created_at", "updated_at")},
        "partial": bool(progress["partial"]),
        "progress": progress,
        "paired_prompts": paired,
        "status_line": status_line(c, paired),
        "alpha": cs.ALPHA,
        "test": cs.TEST_DESCRIPTION,
        "sides": sides,
        "seeds": ({t: s.to_dict() for t, s in cs.summarise_seeds(results).items()}
                  if len(results) > 1 else None),
        "pooled": pooled(store, comparison_id, c["side_labels"], tasks, n_resamples) if len(results) > 1 else None,
        "protocol": protocol(c),
        "blind_review": {label: {t: w.to_dict() for t, w in blind_review.win_rates(
            store, comparison_id, label, tasks).items()} for label in c["side_labels"]},
        "notes": [{k: n[k] for k in ("prompt_id", "task", "side", "author", "note", "created_at")}
                  for n in store.review_notes(comparison_id)],
    }
    return report


def pooled(store, comparison_id: int, labels: list[str], tasks: list[str], n_resamples: int) -> dict:
    """Every seed at once: per prompt, the tuned reward averaged over the seeds against the
    base (each prompt counted once, so the test stays paired and its pairs independent)."""
    by_prompt: dict[str, dict] = {}
    for label in labels:
        for p in store.compare_pairs(comparison_id, label):
            row = by_prompt.setdefault(p["prompt_id"], {"task": p["task"], "base": p["base"], "tuned": []})
            row["tuned"].append(p["tuned"])
    pairs = [{"task": r["task"], "base": r["base"], "tuned": sum(r["tuned"]) / len(r["tuned"])}
             for r in by_prompt.values() if len(r["tuned"]) == len(labels)]
    label = f"pooled: mean of {len(labels)} seeds"
    return cs.compare(pairs, label=label, tasks=tasks, n_resamples=n_resamples).to_dict()


def protocol(c: dict) -> str:
    """The sampling protocol in words (the report says which one it used)."""
    g, k = c["gen_params"], c["samples"]
    reads = ("one completion per prompt and side" if k == 1 else
             f"{k} completions per prompt and side; a prompt's reward is their mean, so fewer prompts tie")
    return f"{k}-sample protocol: {reads}, temperature {g.get('temperature')}, up to {g.get('max_new_tokens')} new tokens"


def status_line(c: dict, paired: dict[str, int]) -> str:
    p = c["progress"]
    if not p["partial"]:
        return f"COMPLETE: all {c['n_prompts']} prompts on every side"
    least = min(paired.values()) if paired else 0
    why = {"running": "still running, or stopped without a chance to say so",
           "partial": "interrupted", "failed": "failed"}.get(c["status"], c["status"])
    return (f"PARTIAL ({why}): {p['done']} of {p['expected']} completions stored; "
            f"{least} of {c['n_prompts']} prompts paired on every side. Rerun the same command to resume.")


# -- Markdown ------------------------------------------------------------------------------

def _f(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _signed(x: float | None, digits: int = 3, suffix: str = "") -> str:
    return "n/a" if x is None else f"{x:+.{digits}f}{suffix}"


def _p(x: float | None) -> str:
    if x is None:
        return "n/a"
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"


def significance(row: dict) -> str:
    """The table's "Significant?" cell."""
    if row["task"] == cs.OVERALL:
        if row["p_greater"] is None:
            return "undefined" if row["n"] else "n/a"
        return f"{'yes' if row['significant'] else 'no'} (p={_p(row['p_greater'])}, uncorrected)"
    if row["p_holm"] is None:
        return "undefined (no differences)" if row["n"] else "n/a (no prompts)"
    return f"{'yes' if row['significant'] else 'no'} (p={_p(row['p_holm'])}, Holm)"


def main_table(side: dict) -> list[str]:
    lines = ["| Task | Base | Tuned | Δ | Δ % | Significant? |", "|---|---|---|---|---|---|"]
    for row in [*side["tasks"].values(), side["overall"]]:
        lines.append(f"| {row['task']} | {_f(row['base_mean'])} | {_f(row['tuned_mean'])} | "
                     f"{_signed(row['delta'])} | {_signed(row['delta_pct'], 1, '%')} | {significance(row)} |")
    return lines


def detail_table(side: dict) -> list[str]:
    lines = ["| Task | n | improved / regressed / unchanged | Wilcoxon p (one-sided) | p (two-sided) | "
             "p Holm | rank-biserial r | 95% CI of Δ |", "|---|---|---|---|---|---|---|---|"]
    for row in [*side["tasks"].values(), side["overall"]]:
        ci = "n/a" if row["ci_low"] is None else f"[{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"
        lines.append(f"| {row['task']} | {row['n']} | {row['improved']} / {row['regressed']} / {row['unchanged']} | "
                     f"{_p(row['p_greater'])} | {_p(row['p_two_sided'])} | {_p(row['p_holm'])} | "
                     f"{_signed(row['rank_biserial'], 2)} | {ci} |")
    notes = [f"- {row['task']}: {row['note']}" for row in [*side["tasks"].values(), side["overall"]] if row["note"]]
    return lines + ([""] + notes if notes else [])


def seeds_table(seeds: dict) -> list[str]:
    lines = ["| Task | Base | Tuned (mean ± sd) | Δ (mean ± sd) | Δ % | Δ range | significant in |",
             "|---|---|---|---|---|---|---|"]
    for row in seeds.values():
        sd = "" if row["tuned_sd"] is None else f" ± {row['tuned_sd']:.3f}"
        dsd = "" if row["delta_sd"] is None else f" ± {row['delta_sd']:.3f}"
        rng = "n/a" if row["delta_min"] is None else f"[{row['delta_min']:+.3f}, {row['delta_max']:+.3f}]"
        lines.append(f"| {row['task']} | {_f(row['base_mean'])} | {_f(row['tuned_mean'])}{sd} | "
                     f"{_signed(row['delta_mean'])}{dsd} | {_signed(row['delta_pct'], 1, '%')} | {rng} | "
                     f"{row['significant_seeds']} of {row['n_seeds']} seeds |")
    return lines


def blind_table(rates: dict) -> list[str]:
    lines = ["| Task | judgements | tuned wins | base wins | ties | tuned win rate (95% CI) | left box chosen |",
             "|---|---|---|---|---|---|---|"]
    for w in rates.values():
        rate = "n/a" if w["win_rate"] is None else (
            f"{100 * w['win_rate']:.0f}% [{100 * w['ci_low']:.0f}%, {100 * w['ci_high']:.0f}%]")
        left = "n/a" if w["left_chosen"] is None else f"{100 * w['left_chosen']:.0f}%"
        lines.append(f"| {w['task']} | {w['judgements']} | {w['tuned_wins']} | {w['base_wins']} | {w['ties']} | "
                     f"{rate} | {left} |")
    return lines


def to_markdown(report: dict) -> str:
    c = report["comparison"]
    g = c["gen_params"]
    out = [f"# Base vs tuned: comparison {c['id']}", ""]
    if report["partial"]:
        out += [f"> **PARTIAL REPORT.** {report['status_line']}", ""]
    else:
        out += [f"Status: {report['status_line']}.", ""]
    adapters = ", ".join(f"`{s['label']}` ({s['adapter']})" for s in c["sides"])
    out += [
        f"- Base model: `{c['base_model']}`",
        f"- Tuned: {adapters}",
        f"- Eval set: `{c['eval_path']}` (sha256 {c['eval_sha256'][:12]}), {c['n_prompts']} prompts, "
        f"tasks {', '.join(c['tasks'])}",
        f"- Generation (same for every side): temperature {g.get('temperature')}, top_p {g.get('top_p')}, "
        f"top_k {g.get('top_k')}, max_new_tokens {g.get('max_new_tokens')}, seed {g.get('seed')}; "
        f"{c['samples']} sample(s) per prompt (a prompt's reward is the mean over its samples)",
        f"- Protocol: {report.get('protocol') or protocol(c)}",
        f"- Reward versions: {', '.join(f'{t} {v}' for t, v in c['reward_versions'].items())}",
        f"- Test: {report.get('test', cs.TEST_DESCRIPTION)}, alpha {report['alpha']}",
        f"- 95% CI of Δ: BCa bootstrap over prompts ({cs.N_BOOT:,} resamples); with fewer than "
        f"{cs.SMALL_SAMPLE_PROMPTS} prompts its coverage falls short of 95% (noted per row)",
        "",
    ]
    if report["seeds"]:
        out += ["## Across seeds", "", *seeds_table(report["seeds"]), ""]
    if report.get("pooled"):
        out += [f"## Pooled over seeds ({report['pooled']['label']} per prompt, against the base)", "",
                *main_table(report["pooled"]), "", *detail_table(report["pooled"]), ""]
    for label, side in report["sides"].items():
        heading = "Results" if len(report["sides"]) == 1 else f"Results: {label}"
        out += [f"## {heading}", "", *main_table(side), "", "### Details", "", *detail_table(side), ""]
    for label, rates in report["blind_review"].items():
        if rates["overall"]["judgements"]:
            title = "Blind review" if len(report["blind_review"]) == 1 else f"Blind review: {label}"
            out += [f"## {title}", "", *blind_table(rates), ""]
    if report["notes"]:
        out += ["## Reviewer notes", ""]
        for n in report["notes"]:
            side = f" [{n['side']}]" if n["side"] else ""
            text = n["note"].replace("\n", " ")
            out.append(f"- `{n['prompt_id']}` ({n['task']}){side}, {n['author']}: {text}")
        out.append("")
    return "\n".join(out)


# -- writing -------------------------------------------------------------------------------

def write_report(store, comparison_id: int, out_dir: str | Path, *, report: dict | None = None) -> dict[str, Path]:
    """Write report.md, report.json and results.jsonl (every completion with its reward
    breakdown) into `out_dir`, each replaced atomically. Returns the paths."""
    out_dir = Path(out_dir)
    report = report or build_report(store, comparison_id)
    paths = {"md": out_dir / REPORT_MD, "json": out_dir / REPORT_JSON, "results": out_dir / RESULTS_JSONL}
    prompts = {p["prompt_id"]: p for p in store.compare_prompts(comparison_id)}
    lines = []
    for r in store.compare_results(comparison_id):
        lines.append(json.dumps({
            "prompt_id": r["prompt_id"], "task": prompts[r["prompt_id"]]["task"], "side": r["side"],
            "sample_index": r["sample_index"], "completion": r["completion"], "reward_total": r["reward_total"],
            "reward_components": r["reward_components"], "reward_notes": r["reward_notes"],
            "reward_version": r["reward_version"], "completion_tokens": r["completion_tokens"],
            "truncated": r["truncated"]}, ensure_ascii=False))
    atomic.write_text(paths["results"], "\n".join(lines) + ("\n" if lines else ""))
    atomic.write_text(paths["json"], json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    atomic.write_text(paths["md"], to_markdown(report))
    return paths


# -- the chart -----------------------------------------------------------------------------

def delta_figure(report: dict):
    """Plotly bar chart: per task Δ (tuned - base) with its bootstrap 95% CI, one bar group
    per tuned side; stars mark Holm-significant tasks."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for label, side in report["sides"].items():
        rows = [r for r in side["tasks"].values() if r["n"]]
        fig.add_bar(
            name=label, x=[r["task"] for r in rows], y=[r["delta"] for r in rows],
            error_y={"type": "data", "symmetric": False,
                     "array": [r["ci_high"] - r["delta"] for r in rows],
                     "arrayminus": [r["delta"] - r["ci_low"] for r in rows]},
            text=[("★ " if r["significant"] else "") + f"{r['delta']:+.3f}" for r in rows],
            textposition="inside", insidetextanchor="start",
            hovertemplate="%{x}: Δ %{y:+.3f}<extra>" + label + "</extra>",
        )
    fig.add_hline(y=0, line_width=1, line_color="gray")
    fig.update_layout(barmode="group", yaxis_title="Δ mean reward (tuned − base), 95% CI",
                      xaxis_title="task", margin={"t": 30, "b": 40}, height=380,
                      title="Δ per task with 95% CI · ★ significant (one-sided Wilcoxon, Holm)")
    return fig
