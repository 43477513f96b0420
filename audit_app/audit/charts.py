"""Plotly figures for the audit page.

- `scatter_figure`: human score (jittered: it is a 1-5 mean) against reward total, one
  panel per task, the reward's component breakdown on hover; each point carries its
  rollout id in `customdata` so the page can open it when clicked.
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


def _hover(item: dict, human: float) -> str:
    comps = item.get("reward_components") or {}
    parts = [f"rollout {item.get('rollout_id')}", f"human {human:.2f}",
             f"reward {float(item['reward_total']):.3f}"]
    parts += [f"&nbsp;&nbsp;{html.escape(str(k))}: {v:+.3f}" if isinstance(v, int | float) else
              f"&nbsp;&nbsp;{html.escape(str(k))}: {html.escape(str(v))}" for k, v in comps.items()]
    flags = sum(1 for a in item.get("annotations", ()) if a.get("flag"))
    if flags:
        parts.append(f"flagged by {flags}")
    return "<br>".join(parts)


def scatter_figure(items_by_task: dict[str, list[dict]], *, seed: int = 0) -> go.Figure:
    """Jittered human score vs reward total, one panel per task."""
    tasks = list(items_by_task) or ["(none)"]
    fig = make_subplots(rows=1, cols=len(tasks), shared_yaxes=True, subplot_titles=tasks,
                        horizontal_spacing=0.04)
    rng = np.random.default_rng(seed)
    for col, task in enumerate(tasks, start=1):
        used = [it for it in items_by_task.get(task, [])
                if audit_stats.is_scored(it) and np.isfinite(audit_stats.as_float(it.get("reward_total")))]
        human = np.array([audit_stats.human_score(it) for it in used])
        flagged = np.array([any(a.get("flag") for a in it.get("annotations", ())) for it in used], dtype=bool)
        x = human + rng.uniform(-JITTER, JITTER, len(used))
        y = np.array([float(it["reward_total"]) for it in used])
        for mask, name, colour, symbol in ((~flagged, "scored item", REWARD_COLOUR, "circle"),
                                           (flagged, "flagged 'reward looks wrong'", FLAG_COLOUR, "x")):
            idx = np.flatnonzero(mask)
            fig.add_trace(go.Scatter(
                x=x[idx], y=y[idx], mode="markers", name=name, legendgroup=name, showlegend=col == 1,
                marker={"color": colour, "symbol": symbol, "size": 7, "opacity": 0.7},
                customdata=[used[i].get("rollout_id") for i in idx],
                hovertext=[_hover(used[i], human[i]) for i in idx], hoverinfo="text"), row=1, col=col)
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
