"""The report: the recipe's table layout, PARTIAL marking, seeds, blind review, notes, files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from data.store.roles import SYSTEM, User
from tests.fixtures_users import add_accounts
from train.compare import blind_review, report

REVIEWER = User(id=21, username="rosa", role="reviewer")


@pytest.fixture(autouse=True)
def _accounts(store):
    add_accounts(store, REVIEWER)
TASKS = ["extraction", "sql_qa", "insights", "push"]


def fill(store, *, sides=("s42/best",), missing_tuned=0, identical_push=False, key="rk"):
    rng = np.random.default_rng(0)
    prompts = [{"prompt_id": f"{t}-{i}", "task": t, "messages": [{"role": "user", "content": f"{t} {i}"}]}
               for t in TASKS for i in range(8)]
    cid, _ = store.create_comparison(
        SYSTEM, key=key, base_model="base-model", sides=[{"label": s, "adapter": f"/runs/{s}"} for s in sides],
        eval_path="/e/eval.jsonl", eval_sha256="f" * 64,
        gen_params={"temperature": 0.1, "top_p": 1.0, "top_k": 0, "max_new_tokens": 64, "seed": 42},
        samples=1, tasks=TASKS, prompts=prompts, reward_versions={t: "v1" for t in TASKS})
    shift = {"extraction": 0.3, "sql_qa": -0.1, "insights": 0.25, "push": 0.0}
    rows = []
    for n, p in enumerate(prompts):
        b = float(rng.uniform(0.1, 0.6))
        rows.append({"prompt_id": p["prompt_id"], "side": "base", "completion": f"b{n}", "reward_name": p["task"],
                     "reward_version": "v1", "reward_total": b})
        for j, s in enumerate(sides):
            if n >= len(prompts) - missing_tuned:
                continue
            same = identical_push and p["task"] == "push"
            t = b if same else min(1.0, max(0.0, b + shift[p["task"]] + 0.02 * j + float(rng.normal(0, 0.05))))
            rows.append({"prompt_id": p["prompt_id"], "side": s, "completion": f"b{n}" if same else f"t{n}",
                         "reward_name": p["task"], "reward_version": "v1", "reward_total": t})
    store.add_compare_results(cid, rows)
    return cid


def test_complete_report_table_and_files(store, tmp_path):
    cid = fill(store, identical_push=True)
    store.set_comparison_status(cid, "complete")
    store.add_review_note(REVIEWER, cid, "push-1", "both say the same | thing\nsecond line")
    pair = blind_review.next_pair(store, REVIEWER, cid)
    blind_review.record(store, REVIEWER, pair, "tie")
    rep = report.build_report(store, cid, n_resamples=500)
    assert rep["partial"] is False and rep["status_line"].startswith("COMPLETE")
    side = rep["sides"]["s42/best"]
    assert side["tasks"]["extraction"]["significant"] is True
    assert side["tasks"]["sql_qa"]["significant"] is False
    assert side["tasks"]["push"]["p_greater"] is None and "undefined" in side["tasks"]["push"]["note"]
    md = report.to_markdown(rep)
    assert "| Task | Base | Tuned | Δ | Δ % | Significant? |" in md
    ext = side["tasks"]["extraction"]
    assert f"| extraction | {ext['base_mean']:.3f} | {ext['tuned_mean']:.3f} | {ext['delta']:+.3f} | " \
           f"{ext['delta_pct']:+.1f}% | yes (p=" in md
    assert "| push |" in md and "undefined (no differences)" in md
    assert "Wilcoxon undefined: every paired difference is zero" in md
    # The report states how zero differences and ties were treated, and the bootstrap's limits.
    assert "zero differences dropped (Wilcoxon's zero method); p exact and conditional on tied ranks" in md
    assert "with fewer than 20 prompts its coverage falls short of 95%" in md
    assert "## Blind review" in md and "## Reviewer notes" in md and "second line" in md
    assert "PARTIAL" not in md
    paths = report.write_report(store, cid, tmp_path / "out", report=rep)
    saved = json.loads(paths["json"].read_text())
    assert saved["notes"][0]["note"].startswith("both say") and saved["blind_review"]["s42/best"]["overall"][
        "judgements"] == 1
    lines = paths["results"].read_text().splitlines()
    assert len(lines) == 64 and json.loads(lines[0])["side"] in ("base", "s42/best")
    assert paths["md"].read_text() == md
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temp files left


def test_partial_report_is_marked(store):
    cid = fill(store, missing_tuned=5)
    store.set_comparison_status(cid, "partial", message="interrupted")
    rep = report.build_report(store, cid, n_resamples=200)
    assert rep["partial"] is True and rep["paired_prompts"] == {"s42/best": 27}
    md = report.to_markdown(rep)
    assert md.splitlines()[2].startswith("> **PARTIAL REPORT.** PARTIAL (interrupted): 59 of 64 completions")
    assert "27 of 32 prompts paired" in md


def test_several_seeds_summary_and_figure(store):
    cid = fill(store, sides=("s42/best", "s123/best", "s456/best"))
    rep = report.build_report(store, cid, n_resamples=200)
    seeds = rep["seeds"]
    deltas = [rep["sides"][s]["tasks"]["extraction"]["delta"] for s in ("s42/best", "s123/best", "s456/best")]
    assert seeds["extraction"]["n_seeds"] == 3
    assert seeds["extraction"]["delta_mean"] == pytest.approx(np.mean(deltas))
    assert seeds["extraction"]["delta_sd"] == pytest.approx(np.std(deltas, ddof=1))
    md = report.to_markdown(rep)
    assert "## Across seeds" in md and "## Results: s123/best" in md and "of 3 seeds" in md
    fig = report.delta_figure(rep)
    assert len(fig.data) == 3 and list(fig.data[0].x) == TASKS
    bar = fig.data[0]
    ext = rep["sides"]["s42/best"]["tasks"]["extraction"]
    assert bar.error_y.array[0] == pytest.approx(ext["ci_high"] - ext["delta"])
