"""Rollout files that break in every way a line can, an import killed at random moments,
and the human scores of an export carried into another store."""

from __future__ import annotations

import json
import random

from data.store import Store
from tests.faults.conftest import count, integrity, kill9_when, rows_so_far, run_cli, start_cli
from tests.fixtures_users import seed_rollouts

PROMPT = {"prompt_id": "push-f1", "task": "push", "split": "train", "topic": "reengajamento", "stratum": "push",
          "prompt": [{"role": "user", "content": "Escreva um push de reengajamento."}]}


def good_line(i: int) -> str:
    return json.dumps({**PROMPT, "model_id": "gpu-box/tucano", "sample_index": i % 8,
                       "gen_params": {"temperature": 0.8, "seed": i},
                       "completion": f"Volte já! Cupom {i} com frete grátis 🛒"}, ensure_ascii=False)


# Each breaks one line in its own way; the number is where it goes in the file.
BAD_LINES = {
    3: '{"prompt_id": "push-f1", "model_id": "m", "completion": "corte \\ud83d"}',        # lone surrogate
    10: "[" * 100_000 + "]" * 100_000,                                                        # deep nesting
    17: '{"prompt_id": "push-f1", "model_id": "m", "completion": "x", "gen_params": ' + "{\"a\": " * 200
        + "1" + "}" * 200 + "}",                                                              # nested, parseable
    25: '{"prompt_id": "push-f1", "model_id": "m", "completion": "x", "\\udc80key": 1}',   # surrogate in a key
    40: '{"prompt_id": "push-f1", "model_id": "m", "completion": "x", "sample_index": 1e400}',  # infinite count
    55: '{"prompt_id": "push-f1", "model_id": "m", "completion": "x", "gen_params": {"t": NaN}}',  # NaN
    1200: '{"prompt_id": "push-f1", "model_id": "m", "completion": "\\u0000"}',               # NUL
    2400: '{"prompt_id": "push-f1", "model_id": "m", "completion": "x", "prompt": [{"role": "user",'
          ' "content": "\\ud800"}], "task": "push"}',                                         # surrogate in a prompt
}


def write_file(path, total: int) -> list[int]:
    """`total` lines, the bad ones among them; returns the numbers of the good lines."""
    lines, good = [], []
    for n in range(1, total + 1):
        if n in BAD_LINES:
            lines.append(BAD_LINES[n])
        else:
            lines.append(good_line(n))
            good.append(n)
    with open(path, "wb") as out:
        for text in lines:
            out.write(text.encode("utf-8", "surrogatepass") + b"\n")
        out.write(b"\xff\xfe\x00 binary tail\n")  # line total + 1: not UTF-8
    return good


def test_every_bad_line_is_one_reported_line(tmp_path, ledger):
    path = tmp_path / "samples.jsonl"
    good = write_file(path, 2500)
    home = tmp_path / "home"
    first = run_cli(["rollouts", "import", path], home)
    again = run_cli(["rollouts", "import", path], home)
    store = home / "store.db"
    stored = count(store, "SELECT count(*) FROM rollouts")
    ledger.record("bad lines in a 2,500-line import (8 kinds)", runs=2, rows_lost=len(good) - stored,
                  tracebacks=first.tracebacks + again.tracebacks)
    assert first.rc == 1 and first.tracebacks == 0, first.err
    assert f"{len(good)} rollouts added" in first.out
    reported = sorted(int(line.split()[1].rstrip(":")) for line in first.out.splitlines()
                      if line.startswith("  line "))
    assert reported == sorted([*BAD_LINES, 2501])
    assert "lone surrogate" in first.out and "nested deeper than 64 levels" in first.out
    assert "0 rollouts added" in again.out and f"{len(good)} already present" in again.out
    assert stored == len(good) and integrity(store) == "ok"


def test_import_killed_at_random_moments_resumes(tmp_path, ledger):
    rng = random.Random(14)
    path = tmp_path / "big.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for i in range(6_000):
            out.write(good_line(i) + "\n")
    home = tmp_path / "home"
    store = home / "store.db"
    kills = 0
    for attempt in range(3):
        proc = start_cli(["rollouts", "import", path], home, tmp_path / f"import-{attempt}.log")
        # Wait for the first chunk (2,000 lines) to be committed, then a random moment more.
        ready = (lambda: rows_so_far(store, "rollouts") > 0) if attempt == 0 else (lambda: True)
        kills += kill9_when(proc, ready, delay=rng.uniform(0.0, 1.5))
        assert integrity(store) == "ok"
        assert count(store, "SELECT count(*) FROM rollouts") % 2_000 == 0  # whole chunks only
    final = run_cli(["rollouts", "import", path], home)
    stored = count(store, "SELECT count(*) FROM rollouts")
    ledger.record("kill -9 during rollouts import", runs=4, rows_lost=6_000 - stored, tracebacks=final.tracebacks)
    assert kills >= 1 and final.rc == 0, final.err
    assert stored == 6_000 and count(store, "SELECT count(DISTINCT dedup_key) FROM rollouts") == 6_000
    assert count(store, "SELECT count(*) FROM item_queue") == 6_000 and integrity(store) == "ok"


def test_export_then_import_keeps_the_human_scores(tmp_path, ledger):
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    with Store(source) as a:
        ids = seed_rollouts(a, per_task=2)
        ana = a.add_user("ana", "annotator", "pw-ana-123")
        rui = a.add_user("rui", "annotator", "pw-rui-123")
        a.record_annotation(ana, ids[0], 4, flag=True, comment="a nota não bate", seconds=12.5)
        a.record_annotation(rui, ids[0], 2)
        a.record_annotation(ana, ids[1], 5)
        a.record_annotation(rui, ids[5], 3)
        a.export(tmp_path / "all.jsonl")
        a.export(tmp_path / "scores.jsonl", what="annotations")
    with Store(target) as b:
        b.add_user("ana", "annotator", "pw-ana-456")  # rui has no account here yet
    first = run_cli(["rollouts", "import", tmp_path / "all.jsonl", "--store", target], tmp_path / "home")
    assert first.rc == 1 and first.tracebacks == 0
    assert "2 human scores added" in first.out and "annotator 'rui' has no account in this store" in first.out
    with Store(target) as b:
        assert [u["username"] for u in b.list_users()] == ["ana"]  # nothing created silently
        b.add_user("rui", "annotator", "pw-rui-456")
    second = run_cli(["rollouts", "import", tmp_path / "all.jsonl", "--store", target], tmp_path / "home")
    assert second.rc == 0 and "2 human scores added (2 already present)" in second.out, second.out
    with Store(source) as a, Store(target) as b:
        def scores(s):
            return sorted((r["annotator"], r["score"], r["flag_reward_wrong"], r["comment"], r["seconds"],
                           s.get_rollout(r["rollout_id"])["dedup_key"]) for r in s.list_annotations())
        lost = len(set(scores(a)) - set(scores(b)))
        assert scores(a) == scores(b)
        assert b.progress()["team"]["items_scored"] == a.progress()["team"]["items_scored"] == 3
        assert b.next_item(b.get_user("ana"))["rollout_id"] not in (  # her scored items are not served again
            r["rollout_id"] for r in b.list_annotations(annotator="ana"))
    wrong = run_cli(["rollouts", "import", tmp_path / "scores.jsonl", "--store", target], tmp_path / "home")
    assert "line of an annotations export" in wrong.out and wrong.tracebacks == 0
    ledger.record("export -> import of rollouts with human scores", runs=3, rows_lost=lost,
                  tracebacks=first.tracebacks + second.tracebacks + wrong.tracebacks)
    assert integrity(target) == "ok"
