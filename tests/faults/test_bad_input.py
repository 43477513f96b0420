"""Bad input, each through the command a user would run: impossible dates in the Olist
files, recipes with numbers that cannot train, and adapters that are damaged. Every case
ends in one line naming what is wrong (and where), exit code 2, and nothing written."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.faults.conftest import run_cli
from tests.faults.test_disk_faults import in_process
from tests.test_data_olist import _export, _files
from train.grpo.recipe import load_recipe


@pytest.mark.parametrize("stamp, reason", [
    ("2016-13-45 27:61:99", "there is no month 13"),
    ("2017-02-30 10:00:00", "day 30 does not exist in 2017-02"),
    ("2017-06-01 24:00:00", "there is no hour 24"),
])
def test_olist_impossible_timestamps(stamp, reason, small_data, tmp_path, capsys, ledger):
    csv_dir = _export(small_data["db"], tmp_path / "olist")
    path = csv_dir / "olist_orders_dataset.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[7].split(",")
    fields[3] = f'"{stamp}"'  # order_purchase_timestamp of data row 6
    lines[7] = ",".join(fields)
    path.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    res = in_process(["data", "build", "--olist-dir", csv_dir, "--out", out, "--train", "40", "--eval", "8"], capsys)
    ledger.record("impossible Olist timestamps", tracebacks=res.tracebacks)
    assert res.rc == 2 and res.tracebacks == 0, res.err
    assert res.last_line == (f"error: olist_orders_dataset.csv: row 7 (line 8), column order_purchase_timestamp: "
                             f"{stamp!r} is not a real date and time: {reason}")
    assert _files(out) == []


BAD_NUMBERS = [
    ("grpo.learning_rate", float("nan"), "must be a finite number"),
    ("grpo.learning_rate", float("inf"), "must be a finite number"),
    ("grpo.temperature", float("nan"), "must be a finite number"),
    ("grpo.temperature", 0.0, "must be above 0"),
    ("lora.dropout", 5.0, "must be in [0, 1)"),
    ("lora.dropout", -0.5, "must be in [0, 1)"),
    ("grpo.top_k", -1, "must be 0 or more"),
    ("grpo.top_p", 1.5, "must be in (0, 1]"),
    ("grpo.max_grad_norm", -1.0, "must be above 0"),
    ("grpo.weight_decay", -0.01, "must be 0 or more"),
    ("grpo.epsilon", -0.2, "must be above 0"),
    ("grpo.beta", -0.1, "must be 0 or more"),
    ("grpo.warmup_ratio", 1.0, "must be in [0, 1)"),
    ("grpo.early_stopping_threshold", float("-inf"), "must be a finite number"),
    ("rewards.iwu_params.eta", float("nan"), "must be a finite number"),
]


def test_recipe_numbers_that_cannot_train(tmp_path, capsys, ledger):
    tracebacks = 0
    for key, value, wanted in BAD_NUMBERS:
        data = load_recipe("tiny").to_dict()
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")  # .nan / .inf, as a user would write them
        res = in_process(["train", "--recipe", path, "--run-dir", tmp_path / "run"], capsys)
        tracebacks += res.tracebacks
        assert res.rc == 2 and res.tracebacks == 0, (key, res.err)
        assert f"{key} {wanted}" in res.last_line, (key, res.last_line)
        assert not (tmp_path / "run").exists()
    ledger.record("recipe numbers out of range or not finite", runs=len(BAD_NUMBERS), tracebacks=tracebacks)


@pytest.mark.slow
def test_damaged_adapters_are_refused_before_any_generation(tiny_model_dir, sample_home, tmp_path, capsys, ledger):
    from tests.test_compare_flow import make_adapter

    good = make_adapter(tiny_model_dir, tmp_path / "good")
    cases = {}

    def variant(name):
        folder = tmp_path / "runs" / name / "best_checkpoint"
        shutil.copytree(good, folder)
        return folder

    truncated = variant("truncated")
    weights = truncated / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    cases[truncated] = f"{weights} cannot be read"
    header_cut = variant("header")
    (header_cut / "adapter_model.safetensors").write_bytes(b"\x10\x00")
    cases[header_cut] = f"{header_cut / 'adapter_model.safetensors'} cannot be read"
    no_weights = variant("no-weights")
    (no_weights / "adapter_model.safetensors").unlink()
    cases[no_weights] = "has adapter_config.json but no weights"
    garbage = variant("garbage")
    (garbage / "adapter_config.json").write_text("{'r': 4,", encoding="utf-8")
    cases[garbage] = f"{garbage / 'adapter_config.json'} is not valid JSON"
    wrong_type = variant("wrong-type")
    (wrong_type / "adapter_config.json").write_text("[1, 2]", encoding="utf-8")
    cases[wrong_type] = f"{wrong_type / 'adapter_config.json'} must hold a JSON object"
    bad_rank = variant("bad-rank")
    (bad_rank / "adapter_config.json").write_text('{"peft_type": "LORA", "r": "four"}', encoding="utf-8")
    cases[bad_rank] = f"{bad_rank / 'adapter_config.json'}: r must be a whole number above 0, got 'four'"
    bad_dropout = variant("bad-dropout")
    (bad_dropout / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 4, "lora_dropout": 3}')
    cases[bad_dropout] = "lora_dropout must be a number in [0, 1), got 3"
    other_base = variant("other-base")
    (other_base / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 4, "base_model_name_or_path":'
                                                    ' "someone/else"}')
    cases[other_base] = "was trained on someone/else"
    store = tmp_path / "store.db"
    tracebacks = 0
    for folder, wanted in cases.items():
        res = in_process(["compare", "--base", tiny_model_dir, "--adapter", good, "--adapter", folder,
                          "--limit-per-task", "1", "--max-new-tokens", "4", "--store", store], capsys)
        tracebacks += res.tracebacks
        assert res.rc == 2 and res.tracebacks == 0, (folder.parent.name, res.err)
        assert wanted in res.last_line, (folder.parent.name, res.last_line)
        assert not list(folder.parent.glob("compare-*"))  # no report, partial or not
    assert not store.exists()  # checked before the store was even opened: nothing generated
    ledger.record("damaged adapters given to compare", runs=len(cases), tracebacks=tracebacks)


def test_sample_with_a_damaged_adapter(tiny_model_dir, sample_home, tmp_path, ledger):
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 4, "lora_alpha": 8}', encoding="utf-8")
    res = run_cli(["sample", "--model", tiny_model_dir, "--adapter", folder, "--tasks", "push", "--prompts", "1",
                   "--per-prompt", "1", "--store", tmp_path / "store.db"], sample_home)
    ledger.record("damaged adapters given to sample", tracebacks=res.tracebacks)
    assert res.rc == 2 and res.tracebacks == 0 and "has adapter_config.json but no weights" in res.last_line
