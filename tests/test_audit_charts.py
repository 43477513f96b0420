"""The audit figures carry what the page promises: points with rollout ids and component
hover, rho with CI against the threshold, the agreement ceiling beside it."""

from __future__ import annotations

import math

import numpy as np

from audit_app.audit import charts as audit_charts
from audit_app.audit import stats as audit_stats
from data.store import thresholds
from tests.test_audit_support import synthetic_items


def test_scatter_has_every_scored_item_with_its_breakdown():
    items = {"push": synthetic_items("push", 30, seed=1), "extraction": synthetic_items("extraction", 20, seed=2)}
    items["push"][0]["annotations"][0]["flag"] = True
    items["push"][1]["reward_total"] = float("nan")  # left out, not plotted at a fake position
    fig = audit_charts.scatter_figure(items)
    push = [t for t in fig.data if t.xaxis in ("x", None)]
    ids = sorted(int(row[0]) for t in push for row in t.customdata)
    assert ids == sorted(it["rollout_id"] for it in items["push"] if it["rollout_id"] != 2)
    flagged = [t for t in push if t.marker.symbol == "x"][0]
    (row,) = flagged.customdata
    by_id = {it["rollout_id"]: it for it in items["push"]}
    # [rollout id, human, reward, flags, good, noise]: the hover shows the breakdown from these.
    assert list(row) == [1, audit_stats.human_score(by_id[1]), by_id[1]["reward_total"], 1,
                         *(by_id[1]["reward_components"][c] for c in ("good", "noise"))]
    assert "good: %{customdata[4]:+.3f}" in flagged.hovertemplate and "noise: %{customdata[5]" in flagged.hovertemplate
    assert "%{customdata[3]} flag(s)" in flagged.hovertemplate
    xs = np.concatenate([t.x for t in push])
    humans = {it["rollout_id"]: audit_stats.human_score(it) for it in items["push"]}
    jitter = [abs(x - humans[int(row[0])]) for t in push for x, row in zip(t.x, t.customdata, strict=True)]
    assert max(jitter) <= audit_charts.JITTER and xs.min() >= 0.85
    assert [a.text for a in fig.layout.annotations] == ["push", "extraction"]


def test_rho_figure_shows_ci_threshold_and_ceiling():
    stats = audit_stats.audit({"push": synthetic_items("push", 60, double_share=0.5, seed=1),
                               "sql_qa": []}, rollout_counts={"push": 60, "sql_qa": 0}, n_boot=300)
    defaults = thresholds.load_default_thresholds()["defaults"]
    th = thresholds.validate_thresholds({"defaults": defaults, "tasks": {"push": {"min_rho": 0.7}}})
    fig = audit_charts.rho_figure(stats, th)
    rho, within, ceiling, rho_line, ci_line, within_line = fig.data
    assert rho.y[0] == stats["push"].rho and math.isnan(rho.y[1])
    assert rho.error_y.arrayminus[0] == stats["push"].rho - stats["push"].ci_low
    assert within.y[0] == stats["push"].within_prompt_tau and "within a prompt" in within.name
    # The ceiling is the reliability of the mean human score, not alpha itself.
    assert ceiling.y[0] == stats["push"].ceiling != stats["push"].alpha
    assert ceiling.name == "ceiling for rho: reliability of the mean human score"
    assert list(rho_line.y) == [0.7, 0.7, None, 0.5, 0.5, None]   # per-task threshold
    assert list(ci_line.y) == [0.4, 0.4, None, 0.4, 0.4, None]
    assert list(within_line.y) == [0.2, 0.2, None, 0.2, 0.2, None]
    assert [a.text for a in fig.layout.annotations] == ["rho n/a"]
    assert list(fig.layout.xaxis.ticktext) == ["push", "sql_qa"]


def test_components_figure_marks_components_that_run_against_people():
    items = synthetic_items("push", 60, seed=3)
    for it in items:
        it["reward_components"]["backwards"] = -it["reward_total"]
    stats = {"push": audit_stats.task_stats(items, "push", n_boot=200)}
    fig = audit_charts.components_figure(stats)
    bar = fig.data[0]
    labels = list(bar.y)
    assert labels == ["push · backwards", "push · good", "push · noise"]
    assert bar.marker.color[0] == audit_charts.FLAG_COLOUR and bar.x[0] < -0.6


def test_a_large_panel_draws_a_sample_that_keeps_flags_and_disagreements():
    items = synthetic_items("push", audit_charts.MAX_POINTS + 700, seed=5)
    items[10]["annotations"][0]["flag"] = True
    worst = audit_stats.disagreement_queue(items, limit=50)
    fig = audit_charts.scatter_figure({"push": items})
    ids = {int(row[0]) for t in fig.data for row in t.customdata}
    assert len(ids) == audit_charts.MAX_POINTS
    assert 11 in ids and {r["rollout_id"] for r in worst} <= ids
    assert fig.layout.annotations[0].text == f"push ({audit_charts.MAX_POINTS:,} of {len(items):,})"
