"""The train command's checks before anything trains, the CUDA path (only the device check
faked), and adapter export."""

from __future__ import annotations

import json

import pytest
import yaml

from audit_app.cli import main as cli
from train.grpo import config as grpo_config
from train.grpo import run as grpo
from train.grpo.recipe import RecipeError, load_recipe


def recipe_file(tmp_path, small_data, model, **changes):
    data = load_recipe("tiny").to_dict()
    data["model"]["name"] = str(model)
    data["data"].update(train=str(small_data["train"]), eval=str(small_data["eval"]), db=str(small_data["db"]))
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        data[section][key] = value
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run_cli(args, capsys):
    code = cli(args)
    return code, capsys.readouterr().err


def test_bad_input_fails_before_training_with_one_clear_line(tmp_path, home, small_data, tiny_model_dir, capsys):
    run_dir = tmp_path / "run"
    cases = [
        ({"grpo.lerning_rate": 1.0e-4}, "unknown key 'grpo.lerning_rate'; did you mean 'grpo.learning_rate'"),
        ({"grpo.max_steps": "ten"}, "grpo.max_steps must be an integer, got str 'ten'"),
        ({"grpo.micro_batch_size": 3}, "micro_batch_size (3) must divide the completions per step"),
        ({"model.name": str(tmp_path / "no-such-model")}, "does not exist"),
    ]
    for changes, expected in cases:
        path = recipe_file(tmp_path, small_data, tiny_model_dir, **changes)
        code, err = run_cli(["train", "--recipe", str(path), "--run-dir", str(run_dir)], capsys)
        assert code == 2 and expected in err, (changes, err)
        assert err.count("\n") == 1 and not run_dir.exists()

    # A prompt set missing a task of the mix.
    rows = [json.loads(line) for line in small_data["train"].read_text().splitlines()]
    no_push = tmp_path / "no_push.jsonl"
    no_push.write_text("".join(json.dumps(r) + "\n" for r in rows if r["task"] != "push"), encoding="utf-8")
    path = recipe_file(tmp_path, small_data, tiny_model_dir, **{"data.train": str(no_push)})
    code, err = run_cli(["train", "--recipe", str(path), "--run-dir", str(run_dir)], capsys)
    assert code == 2 and "has no prompts for task(s) push" in err and "--exclude-task" in err
    # ...which --exclude-task fixes as far as the checks go.
    recipe = load_recipe(path).with_overrides(exclude_tasks=["push"])
    assert grpo.preflight(recipe)["train_prompts"].keys() == {"extraction", "sql_qa", "insights"}

    code, err = run_cli(["train", "--recipe", "tiny", "--seed", "1", "--seed", "2"], capsys)
    assert code == 2 and "needs --store" in err
    code, err = run_cli(["train", "--run-id", "3"], capsys)
    assert code == 2 and "--run-id needs --store" in err


def test_cuda_path_with_only_the_device_check_faked(monkeypatch, small_data):
    """On a CUDA machine without the gpu extra, the production recipe stops before loading
    anything and says what to install; with it, Unsloth 4-bit + bf16 and the recipe's values."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    prod = load_recipe("tucano2-0.5b-l4").with_overrides(
        {"data.train": str(small_data["train"]), "data.eval": str(small_data["eval"])})
    with pytest.raises(LookupError, match=r"unsloth is not installed: pip install -e '.\[gpu\]'"):
        grpo.preflight(prod)
    auto = prod.with_overrides({"model.backend": "auto"})
    with pytest.raises(RecipeError, match=r"load_in_4bit on the transformers backend needs bitsandbytes"):
        grpo_config.plan_model(auto, bitsandbytes_installed=False)
    bnb = grpo_config.plan_model(auto, unsloth_installed=False, bitsandbytes_installed=True)
    assert (bnb.backend, bnb.load_in_4bit, bnb.bf16) == ("transformers", True, True)
    assert "4-bit through bitsandbytes" in bnb.reason
    with pytest.raises(RecipeError, match="load_in_4bit needs a CUDA device"):
        grpo_config.plan_model(auto, cuda_available=False, unsloth_installed=False)
    plain = auto.with_overrides({"model.load_in_4bit": False})
    plan = grpo_config.plan_model(plain)
    assert (plan.backend, plan.cuda, plan.bf16) == ("transformers", True, True)

    plan = grpo_config.plan_model(prod, cuda_available=True, unsloth_installed=True, bf16_supported=True)
    assert (plan.backend, plan.load_in_4bit, plan.bf16) == ("unsloth", True, True)
    kw = grpo_config.trl_config_kwargs(prod, plan, "/tmp/run")
    assert (kw["bf16"], kw["use_cpu"], kw["gradient_checkpointing"]) == (True, False, False)  # Unsloth's own
    assert (kw["learning_rate"], kw["lr_scheduler_type"], kw["warmup_steps"]) == (5e-6, "constant_with_warmup", 0.05)
    assert (kw["beta"], kw["scale_rewards"], kw["temperature"]) == (0.0, "none", 1.0)
    assert kw["num_generations"] == 16 and kw["max_completion_length"] == 512
    assert kw["per_device_train_batch_size"] * kw["gradient_accumulation_steps"] == 2 * 16
    assert (kw["max_steps"], kw["eval_steps"], kw["save_steps"]) == (1500, 50, 100)
    assert kw["multi_objective_aggregation"] == "sum_then_normalize" and kw["reward_weights"] == [1.0] * 4

    cpu = grpo_config.plan_model(load_recipe("cpu-demo"), cuda_available=False, unsloth_installed=False)
    assert (cpu.backend, cpu.bf16, cpu.fp16) == ("transformers", False, False)
    with pytest.raises(RecipeError, match="precision bf16 needs a CUDA device"):
        grpo_config.plan_model(load_recipe("tiny").with_overrides({"model.precision": "bf16"}), cuda_available=False)


@pytest.mark.slow
def test_export_merges_best_checkpoint(tmp_path, home, small_data, tiny_model_dir, capsys):
    """A one-step run, then `train export`: the merged model loads without PEFT and matches
    base + adapter on the same input."""
    import torch
    from transformers import AutoModelForCausalLM

    from train.models.loading import load_model

    path = recipe_file(tmp_path, small_data, tiny_model_dir, **{"grpo.max_steps": 2, "grpo.eval_on_start": False,
                                                               "grpo.learning_rate": 5.0e-2})
    run_dir = tmp_path / "run"
    assert cli(["train", "--recipe", str(path), "--run-dir", str(run_dir)]) == 0
    out = tmp_path / "merged"
    assert cli(["train", "export", "--adapter", str(run_dir / "best_checkpoint"), "--out", str(out)]) == 0
    merged = AutoModelForCausalLM.from_pretrained(out)
    adapted = load_model(tiny_model_dir, adapter=run_dir / "best_checkpoint").model
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, adapted(ids).logits, atol=1e-4)
    capsys.readouterr()
    code, err = run_cli(["train", "export", "--adapter", str(run_dir / "best_checkpoint"), "--out", str(out)], capsys)
    assert code == 2 and "already exists" in err
    code, err = run_cli(["train", "export", "--adapter", str(tmp_path), "--out", str(tmp_path / "m2")], capsys)
    assert code == 2 and "not a LoRA adapter folder" in err
