"""The rewards score the golden corpus exactly as recorded: every registered reward's total,
components and notes, and the exploit detector's findings, on a fixed set of completions of
real prompts (tests/golden_corpus.py says what is in it). A change that makes the rewards
faster must not move a score; a change meant to move one regenerates the expectation
(`python -m tests.golden_corpus --write`) in the same commit.

The scores must not depend on the order completions come in either (caches of per-prompt
facts, word memos): the corpus is scored once in its own order and once shuffled."""

from __future__ import annotations

import math
import random

import pytest

from rewards import sql_exec
from tests.golden_corpus import build_rows, corpus, load_expected, score_all


@pytest.fixture(scope="module")
def items(small_data):
    yield corpus(build_rows(small_data["dir"]))
    sql_exec.close_all()


@pytest.fixture(scope="module")
def expected():
    return load_expected()


def _differences(got: list[dict], want: list[dict]) -> list[str]:
    out = []
    for g, w in zip(got, want, strict=True):
        where = f"{g['task']} {g['prompt_id']} {g['kind']}"
        if g["digest"] != w["digest"]:
            out.append(f"{where}: the corpus changed (completion or meta keys), regenerate the expectation")
            continue
        if g["detect"] != w["detect"]:
            out.append(f"{where}: detect {g['detect']} != {w['detect']}")
        for name, (total, components, notes) in g["scores"].items():
            w_total, w_components, w_notes = w["scores"][name]
            if not math.isclose(total, w_total, abs_tol=1e-12):
                out.append(f"{where} {name}: total {total!r} != {w_total!r}")
            if components.keys() != w_components.keys() or any(
                    not math.isclose(v, w_components[k], abs_tol=1e-12) for k, v in components.items()):
                out.append(f"{where} {name}: components {components} != {w_components}")
            if notes != w_notes:
                out.append(f"{where} {name}: notes {notes} != {w_notes}")
    return out


def test_the_corpus_covers_every_task_and_kind(items, expected):
    assert len(items) == len(expected) >= 2000
    kinds = {(i["task"], i["kind"].split(":")[0]) for i in items}
    assert {k for _, k in kinds} == {"good", "family", "mutant", "random", "hostile"}
    for task in ("extraction", "sql_qa", "insights", "push"):
        assert sum(i["task"] == task for i in items) >= 450
        assert {k for t, k in kinds if t == task} == {"good", "family", "mutant", "random", "hostile"}
    # The expectation is not degenerate: good answers score high, and scores spread out.
    totals = [s[0] for r in expected for name, s in r["scores"].items() if "_" not in name]
    assert len({round(t, 3) for t in totals}) > 200
    good = [r["scores"][r["task"]][0] for r in expected if r["kind"] == "good"]
    assert sorted(good)[len(good) // 2] >= 0.9


def test_every_reward_scores_the_corpus_as_recorded(items, expected, small_data):
    got = score_all(items, small_data["dir"])
    diffs = _differences(got, expected)
    assert not diffs, f"{len(diffs)} difference(s):\n" + "\n".join(diffs[:20])


def test_scores_do_not_depend_on_the_order_completions_come_in(items, expected, small_data):
    order = list(range(len(items)))
    random.Random(7).shuffle(order)
    shuffled = score_all([items[i] for i in order], small_data["dir"])
    got = [None] * len(items)
    for i, record in zip(order, shuffled, strict=True):
        got[i] = record
    diffs = _differences(got, expected)
    assert not diffs, f"{len(diffs)} difference(s):\n" + "\n".join(diffs[:20])
