"""JSONL import (bad lines, re-import, inline prompts) and JSONL/Parquet export, read back
with datasets.load_dataset; hypothesis round trip export -> import."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit_app.cli import main
from data.store import Store
from data.store.errors import PermissionDenied
from data.store.import_export import import_jsonl
from tests.fixtures_users import seed_rollouts

PUSH_PROMPT = {"prompt_id": "push-x1", "task": "push", "split": "eval", "topic": "reengajamento",
               "stratum": "push", "prompt": [{"role": "user", "content": "Escreva um push de reengajamento."}]}


def line(completion: str, **extra) -> dict:
    return {**PUSH_PROMPT, "model_id": "gpu-box/tucano", "completion": completion, "sample_index": 0,
            "gen_params": {"temperature": 0.8, "top_p": 0.95}, **extra}


def write_jsonl(path, items) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for item in items:
            out.write(item if isinstance(item, str) else json.dumps(item, ensure_ascii=False))
            out.write("\n")


def test_import_scores_reports_bad_lines_and_is_idempotent(store, users, tmp_path):
    path = tmp_path / "samples.jsonl"
    write_jsonl(path, [
        line("Volte já! Seu carrinho está esperando 🛒 10% OFF hoje."),
        "{not json",
        "[1, 2]",
        "",
        line("Oferta só hoje para você!", reward_total=1.0, reward_name="push", reward_version="forged"),
        {"prompt_id": "push-x1", "model_id": "m"},                       # no completion
        {"prompt_id": "nope", "model_id": "m", "completion": "x"},        # unknown prompt
        line("Oi", task="sql_qa"),                                        # clashes with the prompt
        {**line("texto"), "prompt": [{"role": "robot", "content": "?"}]},  # malformed prompt
        line("Volte já! Seu carrinho está esperando 🛒 10% OFF hoje."),   # same rollout again
    ])
    with open(path, "ab") as out:
        out.write(b'{"prompt_id": "push-x1", "completion": "\xff\xfe"}\n')
    report = import_jsonl(store, path, actor=users["engineer"])
    assert (report.added, report.duplicates, report.prompts_added) == (2, 1, 1)
    reasons = dict(report.errors)
    assert sorted(reasons) == [2, 3, 6, 7, 8, 9, 11]
    assert "not valid JSON" in reasons[2] and "expected a JSON object, got list" in reasons[3]
    assert "completion is missing" in reasons[6] and "prompt 'nope' is not in the store" in reasons[7]
    assert reasons[8] == "prompt 'push-x1' has task 'push'; this line says 'sql_qa'"
    assert "prompt message 0" in reasons[9] and "not UTF-8" in reasons[11]
    assert "line 2: not valid JSON" in report.summary()
    rollouts = store.list_rollouts()
    assert len(rollouts) == 2 and {r["source"] for r in rollouts} == {"import"}
    assert {r["batch_id"] for r in rollouts} == {"import:samples.jsonl"}
    from rewards.registry import get_reward

    push = get_reward("push")
    for r in rollouts:  # scored now, with the current reward; reward fields in the file ignored
        assert r["reward_version"] == push.version and r["reward_name"] == "push"
        assert r["reward_total"] == pytest.approx(push.score(r["completion"], max_chars=120,
                                                             topic="reengajamento").total)
    assert store.get_prompt("push-x1")["topic"] == "reengajamento"
    again = import_jsonl(store, path, actor=users["engineer"])
    assert (again.added, again.duplicates, again.prompts_added) == (0, 3, 0)
    assert store.count_rollouts() == 2 and len(again.errors) == 7


def test_import_against_stored_prompts_and_roles(store, users, tmp_path):
    seed_rollouts(store, per_task=1)
    path = tmp_path / "bare.jsonl"
    write_jsonl(path, [{"prompt_id": "extraction-0", "model_id": "m", "completion": '{"sentiment": "positivo"}'},
                       {**PUSH_PROMPT, "prompt_id": "push-0", "model_id": "m", "completion": "x"}])
    with pytest.raises(PermissionDenied):
        import_jsonl(store, path, actor=users["annotator"])
    report = import_jsonl(store, path, actor=users["engineer"])
    assert report.added == 1 and report.errors[0][0] == 2 and "different text" in report.errors[0][1]
    assert store.get_rollout(report.ids[0])["task"] == "extraction"
    # Imported rollouts join the annotation queue.
    assert store.query("SELECT count(*) AS n FROM item_queue")[0]["n"] == 5
    with pytest.raises(FileNotFoundError, match="no such file"):
        import_jsonl(store, tmp_path / "missing.jsonl")


def test_out_of_range_numbers_and_forged_dedup_keys_are_line_errors(store, tmp_path):
    # An integer SQLite cannot hold used to abort the whole import with an OverflowError;
    # a dedup_key copied into an edited line used to make it a silent "duplicate".
    path = tmp_path / "odd.jsonl"
    first = line("Volte já! 10% OFF só hoje no seu carrinho.")
    write_jsonl(path, [first, line("x", sample_index=2**70), line("y", completion_tokens=1e300),
                       line("Outro texto, outra oferta: frete grátis!", dedup_key="k"),
                       line("E mais um, com a mesma chave.", dedup_key="k")])
    report = import_jsonl(store, path)
    reasons = dict(report.errors)
    assert sorted(reasons) == [2, 3]
    assert "sample_index is too large" in reasons[2] and "completion_tokens is too large" in reasons[3]
    assert (report.added, report.duplicates) == (3, 0) and store.count_rollouts() == 3
    assert len({r["dedup_key"] for r in store.list_rollouts()} - {"k"}) == 3


def test_binary_garbage_file_imports_nothing(store, tmp_path):
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(bytes(range(256)) * 4)
    report = import_jsonl(store, path)
    assert report.added == 0 and report.errors and store.count_rollouts() == 0


def test_export_reads_back_with_datasets(store, users, tmp_path):
    import datasets

    ids = seed_rollouts(store, per_task=3)
    store.record_annotation(users["annotator"], ids[0], 4, flag=True, comment="ok", seconds=3.0)
    store.record_annotation(users["admin"], ids[0], 5)
    for suffix in ("jsonl", "parquet"):
        path = tmp_path / f"rollouts.{suffix}"
        assert store.export(path) == 12
        ds = datasets.load_dataset("json" if suffix == "jsonl" else "parquet", data_files=str(path),
                                   split="train", cache_dir=str(tmp_path / "hf"))
        assert ds.num_rows == 12 and ds[0]["rollout_id"] == ids[0]
        assert ds[0]["prompt"][1]["content"] == "Pergunta 0 sobre extraction."
        assert json.loads(ds[0]["reward_components"]) == {"format": 1.0}
        assert sorted((a["annotator"], a["score"]) for a in ds[0]["annotations"]) == [("admin", 5), ("annotator", 4)]
        path = tmp_path / f"annotations.{suffix}"
        assert store.export(path, what="annotations", actor=users["reviewer"]) == 2
        ds = datasets.load_dataset("json" if suffix == "jsonl" else "parquet", data_files=str(path),
                                   split="train", cache_dir=str(tmp_path / "hf"))
        assert ds["score"] == [4, 5] and ds["flag_reward_wrong"] == [True, False]
        assert ds["task"] == ["extraction", "extraction"] and ds["reward_version"] == ["test-v1"] * 2
    assert store.export(tmp_path / "push.parquet", task="push") == 3
    assert store.export(tmp_path / "empty.parquet", what="annotations", task="push") == 0


def test_export_errors_leave_no_file(store, users, tmp_path):
    seed_rollouts(store, per_task=1)
    with pytest.raises(ValueError, match="cannot tell the format"):
        store.export(tmp_path / "out.csv")
    with pytest.raises(ValueError, match="unknown export"):
        store.export(tmp_path / "out.jsonl", what="users")
    with pytest.raises(PermissionDenied):
        store.export(tmp_path / "out.jsonl", actor=users["annotator"])
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ValueError, match="a-file is not a folder"):
        store.export(tmp_path / "a-file" / "out.jsonl")
    with pytest.raises(ValueError, match="it is a folder"):
        store.export(tmp_path, fmt="jsonl")
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


def test_rollouts_cli(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "s.db")
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [line("Volte! Frete grátis hoje."), "oops"])
    assert main(["rollouts", "import", str(src), "--store", db]) == 1  # some lines refused
    out = capsys.readouterr().out
    assert "1 rollouts added" in out and "line 2: not valid JSON" in out
    assert main(["rollouts", "export", str(tmp_path / "o.parquet"), "--store", db]) == 0
    assert "wrote 1 rollouts" in capsys.readouterr().out
    assert main(["rollouts", "import", str(tmp_path / "nothing.jsonl"), "--store", db]) == 2
    assert "no such file" in capsys.readouterr().err


def test_rollouts_cli_finds_prompts_of_the_home_prompt_sets(home, tmp_path, capsys):
    """A line naming its prompt by id alone imports when the prompt is in the home's
    train or eval set, before any sampling stored it; an unknown id is still a line error."""
    from data import paths
    from data.prompts import dumps, make_row

    train = make_row("push", "Você escreve notificações.", "Escreva um push sobre frete grátis.", topic="frete")
    evals = make_row("push", "Você escreve notificações.", "Escreva um push de reengajamento.", split="eval")
    paths.prompts_dir().mkdir(parents=True)
    paths.train_prompts().write_text(dumps([train]), encoding="utf-8")
    paths.eval_prompts().write_text(dumps([evals]), encoding="utf-8")
    src = tmp_path / "made-elsewhere.jsonl"
    write_jsonl(src, [{"prompt_id": train["prompt_id"], "model_id": "gpu-box", "completion": "Frete grátis hoje!"},
                      {"prompt_id": evals["prompt_id"], "model_id": "gpu-box", "completion": "Volte!"},
                      {"prompt_id": "push-unknown", "model_id": "gpu-box", "completion": "Oi"}])
    db = str(tmp_path / "s.db")
    assert main(["rollouts", "import", str(src), "--store", db]) == 1
    out = capsys.readouterr().out
    assert "2 rollouts added" in out and "2 prompts added" in out
    assert "line 3: prompt 'push-unknown' is not in the store" in out
    with Store(db) as store:
        assert store.get_prompt(train["prompt_id"])["topic"] == "frete"
        assert store.get_prompt(evals["prompt_id"])["split"] == "eval"
        assert {r["reward_name"] for r in store.list_rollouts(limit=None)} == {"push"}


# -- round trip ---------------------------------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=80)
rollout = st.fixed_dictionaries(
    {"prompt": st.sampled_from(["extraction-0", "push-0", "insights-0", "sql_qa-1"]),
     "completion": text, "model_id": st.sampled_from(["base", "tucano/0.5b"]),
     "checkpoint_id": st.none() | st.sampled_from(["run1:50", "adapters/x"]),
     "gen_params": st.dictionaries(st.sampled_from(["temperature", "top_p", "seed", "max_new_tokens"]),
                                   st.integers(0, 10_000) | st.floats(0, 2, allow_nan=False), max_size=4),
     "sample_index": st.integers(0, 16), "prompt_tokens": st.none() | st.integers(0, 4096),
     "completion_tokens": st.none() | st.integers(0, 4096), "truncated": st.none() | st.booleans()})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(rollout, max_size=8))
def test_round_trip_export_import(tmp_path_factory, rows):
    import pyarrow.parquet as pq

    tmp = tmp_path_factory.mktemp("rt")
    fields = ("prompt_id", "model_id", "checkpoint_id", "gen_params", "sample_index", "completion",
              "prompt_tokens", "completion_tokens", "truncated", "dedup_key", "task")
    with Store(":memory:") as first, Store(":memory:") as second:
        seed_rollouts(first, per_task=0)
        first.add_rollouts([{**{k: v for k, v in r.items() if k != "prompt"}, "prompt_id": r["prompt"],
                             "reward_name": "x", "reward_total": 0.5, "reward_version": "v"} for r in rows])
        first.export(tmp / "all.jsonl")
        first.export(tmp / "all.parquet")
        report = second.import_rollouts(tmp / "all.jsonl")
        assert report.errors == []
        before = [{k: r[k] for k in fields} for r in first.list_rollouts(limit=None)]
        after = [{k: r[k] for k in fields} for r in second.list_rollouts(limit=None)]
        assert after == before
        assert [second.get_prompt(r["prompt_id"]) for r in after] == [first.get_prompt(r["prompt_id"]) for r in before]
        table = pq.read_table(tmp / "all.parquet").to_pylist()
        assert [(t["completion"], json.loads(t["gen_params"]), t["truncated"]) for t in table] == \
            [(r["completion"], r["gen_params"], r["truncated"]) for r in before]
