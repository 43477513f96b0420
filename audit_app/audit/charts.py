"""Plotly figures for the audit page.

- `scatter_figure`: human score (jittered: it is a 1-5 mean) against reward total, one
  panel per task, the reward's component breakdown on hover; each point's `customdata`
  starts with its rollout id so the page can open it when clicked. The hover is a
  per-trace template over numeric customdata (rollout, human, reward, flags, components),
  not a text per point: at 10,000 points that is a fraction of the bytes to send and draw.
  A panel shows at most MAX_POINTS items (every flagged item and the largest
  disagreements always, a seeded random draw of the rest) and its title says so: beyond
  that a browser spends seconds drawing points nobody can tell apart.
- `rho_figure`: per task, reward-vs-human Spearman rho and the within-prompt tau (each
  with its 95% CI) against the gate's thresholds, and beside them the ceiling: the
  reliability of the mean human score (from the inter-annotator agreement and the number
  of scores per item), the highest rho a reward can be expected to reach.
- `components_figure`: rho of each reward component against the human score.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from audit_app.audit import stats as audit_stats
from data.store.thresholds import thresholds_for

REWARD_COLOUR = "#1f77b4"
HUMAN_COLOUR = "#2ca02c"
WITHIN_COLOUR = "#9467bd"
FLAG_COLOUR = "#d62728"
THRESHOLD_COLOUR = "#7f7f7f"
JITTER = 0.15
MAX_POINTS = 600  # per task panel


def _hover_template(names: list[str]) -> str:
    """Hover for customdata rows [rollout id, human, reward, flags, *components]."""
    lines = ["rollout %{customdata[0]}", "human %{customdata[1]:.2f}", "reward %{customdata[2]:.3f}"]
    lines += [f"&nbsp;&nbsp;{html.escape(n)}: %{{customdata[{4 + i}]:+.3f}}" for i, n in enumerate(names)]
    return "<br>".join(lines) + "<extra>%{customdata[3]} flag(s)</extra>"


def _shown(items: list[dict], rng: np.random.Generator) -> tuple[list[dict], int]:
    """(the items a panel draws, how many there are): all of them up to MAX_POINTS, else the
    flagged ones, the largest disagreements and a random draw of the rest, in id order."""
    used = [it for it in items
            if audit_stats.is_scored(it) and np.isfinite(audit_stats.as_float(it.get("reward_total")))]
    if len(used) <= MAX_POINTS:
        return used, len(used)
    keep = {r["rollout_id"] for r in audit_stats.disagreement_queue(used, limit=MAX_POINTS // 5)}
    rest = [i for i, it in enumerate(used) if it.get("rollout_id") not in keep]
    extra = rng.choice(len(rest), MAX_POINTS - len(keep), replace=False)
    picked = sorted([i for i, it in enumerate(used) if it.get("rollout_id") in keep] + [rest[j] for j in extra])
    return [used[i] for i in picked], len(used)


def scatter_figure(items_by_task: dict[str, list[dict]], *, seed: int = 0) -> go.Figure:
    """Jittered human score vs reward total, one panel per task."""
    tasks = list(items_by_task) or ["(none)"]
    rng = np.random.default_rng(seed)
    shown = {t: _shown(items_by_task.get(t, []), rng) for t in tasks}
    titles = [t if shown[t][1] <= MAX_POINTS else f"{t} ({len(shown[t][0]):,} of {shown[t][1]:,})" for t in tasks]
    fig = make_subplots(rows=1, cols=len(tasks), shared_yaxes=True, subplot_titles=titles,
                        horizontal_spacing=0.04)
    for col, task in enumerate(tasks, start=1):
        used = shown[task][0]
        names = audit_stats.component_names(used)
        human = np.array([audit_stats.human_score(it) for it in used])
        flags = np.array([sum(1 for a in it.get("annotations", ()) if a.get("flag")) for it in used], dtype=float)
        y = np.array([float(it["reward_total"]) for it in used])
        data = np.column_stack([
            [it.get("rollout_id") for it in used], human, y, flags,
            *[[audit_stats.as_float((it.get("reward_components") or {}).get(n)) for it in used] for n in names],
        ]) if used else np.empty((0, 4))
        x = human + rng.uniform(-JITTER, JITTER, len(used))
        template = _hover_template(names)
        for mask, name, colour, symbol in ((flags == 0, "scored item", REWARD_COLOUR, "circle"),
                                           (flags > 0, "flagged 'reward looks wrong'", FLAG_COLOUR, "x")):
            idx = np.flatnonzero(mask)
            fig.add_trace(go.Scatter(
                x=x[idx], y=y[idx], mode="markers", name=name, legendgroup=name, showlegend=col == 1,
                marker={"color": colour, "symbol": symbol, "size": 7, "opacity": 0.7},
                # Plain lists: plotly sends a numpy array as a typed-array object, and a clicked
                # point's customdata then comes back as that object, not as its row.
                customdata=data[idx].tolist(), hovertemplate=template), row=1, col=col)
        fig.update_xaxes(range=[0.5, 5.5], tickvals=[1, 2, 3, 4, 5], title_text="human score", row=1, col=col)
    fig.update_yaxes(range=[-0.05, 1.05], title_text="reward total", row=1, col=1)
    fig.update_layout(height=380, margin={"t": 40, "b": 40, "l": 50, "r": 10},
                      legend={"orientation": "h", "y": -0.2}, clickmode="event+select")
    return fig


def _ci_trace(x, values, lows, highs, name, colour, symbol) -> go.Scatter:
    v = np.array([np.nan if a is None else a for a in values], dtype=float)
    lo = np.array([np.nan if a is None else a for a in lows], dtype=float)
    hi = np.array([np.nan if a is None else a for a in highs], dtype=float)
    return go.Scatter(
        x=x, y=v, mode="markers", name=name, marker={"color": colour, "size": 11, "symbol": symbol},
        error_y={"type": "data", "symmetric": False, "array": np.nan_to_num(hi - v),
                 "arrayminus": np.nan_to_num(v - lo), "color": colour},
        hovertemplate="%{y:.2f}<extra>" + name + "</extra>")


def rho_figure(stats: dict[str, audit_stats.TaskStats], thresholds: dict | None = None) -> go.Figure:
    """Spearman rho and within-prompt tau (95% CIs) per task vs the gate thresholds, with the
    ceiling that the people's agreement sets for rho beside them."""
    tasks = list(stats)
    pos = np.arange(len(tasks), dtype=float)
    fig = go.Figure()
    fig.add_trace(_ci_trace(pos - 0.2, [stats[t].rho for t in tasks], [stats[t].ci_low for t in tasks],
                            [stats[t].ci_high for t in tasks], "reward vs people: Spearman rho (95% CI)",
                            REWARD_COLOUR, "circle"))
    fig.add_trace(_ci_trace(pos, [stats[t].within_prompt_tau for t in tasks], [stats[t].within_ci_low for t in tasks],
                            [stats[t].within_ci_high for t in tasks],
                            "within a prompt: mean Kendall tau (95% CI)", WITHIN_COLOUR, "square"))
    fig.add_trace(_ci_trace(pos + 0.2, [stats[t].ceiling for t in tasks], [stats[t].ceiling_ci_low for t in tasks],
                            [stats[t].ceiling_ci_high for t in tasks],
                            "ceiling for rho: reliability of the mean human score", HUMAN_COLOUR, "diamond"))
    if thresholds and tasks:
        for key, label, dash, offset in (("min_rho", "gate: rho must reach", "dash", -0.2),
                                         ("min_ci_low", "gate: rho's CI lower bound must exceed", "dot", -0.2),
                                         ("min_within_tau", "gate: within-prompt tau must reach", "dashdot", 0.0)):
            xs, ys = [], []
            for i, t in enumerate(tasks):
                level = thresholds_for(thresholds, t)[key]
                xs += [i + offset - 0.12, i + offset + 0.12, None]
                ys += [level, level, None]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=label,
                                     line={"color": THRESHOLD_COLOUR, "dash": dash}, hoverinfo="skip"))
    for i, t in enumerate(tasks):
        if stats[t].rho is None:
            fig.add_annotation(x=i, y=0, text="rho n/a", showarrow=False, font={"color": FLAG_COLOUR})
    fig.update_xaxes(tickvals=pos, ticktext=tasks, range=[-0.6, max(len(tasks) - 0.4, 0.6)])
    fig.update_yaxes(range=[-1.05, 1.05], title_text="correlation", zeroline=True)
    fig.update_layout(height=400, margin={"t": 20, "b": 40, "l": 50, "r": 10},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def components_figure(stats: dict[str, audit_stats.TaskStats]) -> go.Figure:
    """Horizontal bars: rho of each reward component against the human score."""
    labels, values, colours = [], [], []
    for t, st in stats.items():
        for name, rho in st.components.items():
            labels.append(f"{t} · {name}")
            values.append(np.nan if rho is None else rho)
            colours.append(FLAG_COLOUR if rho is not None and rho < 0 else REWARD_COLOUR)
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker={"color": colours},
                           hovertemplate="%{y}: rho %{x:.2f}<extra></extra>"))
    fig.update_xaxes(range=[-1, 1], title_text="Spearman rho vs human score")
    fig.update_layout(height=max(200, 24 * len(labels) + 80), margin={"t": 20, "b": 40, "l": 10, "r": 10},
                      yaxis={"autorange": "reversed"})
    return fig
