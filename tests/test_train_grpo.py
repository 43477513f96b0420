"""GRPO training end to end on the tiny model: evaluation, the eval-reward metric as TRL's
metric_for_best_model, early stopping, best_checkpoint/, metrics, resume; and GDPO's
per-component normalisation taking effect with the None rows of other tasks."""

from __future__ import annotations

import json
import math

import pytest

from train.grpo import config as grpo_config
from train.grpo import run as grpo
from train.grpo import trainer as grpo_trainer
from train.grpo.recipe import load_recipe


def tiny_recipe(small_data, tiny_model_dir, **overrides):
    base = {"model.name": str(tiny_model_dir), "data.train": str(small_data["train"]),
            "data.eval": str(small_data["eval"]), "data.db": str(small_data["db"])}
    return load_recipe("tiny").with_overrides({**base, **overrides})


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_tiny_run_end_to_end_early_stop_best_checkpoint_and_resume(tmp_path, home, small_data, tiny_model_dir):
    from train.models.loading import load_model

    # Patience 1 with a threshold no eval can beat: the second scored evaluation stops the run.
    recipe = tiny_recipe(small_data, tiny_model_dir, **{"grpo.early_stopping_patience": 1,
                                                        "grpo.early_stopping_threshold": 10.0})
    run_dir = tmp_path / "run"
    result = grpo.main(recipe, run_dir)
    assert (result.global_step, result.stop_reason) == (4, "early_stopping")

    rows = read_jsonl(run_dir / "metrics.jsonl")
    train = [r for r in rows if r["kind"] == "train"]
    evals = [r for r in rows if r["kind"] == "eval"]
    assert [r["step"] for r in train] == [1, 2, 3, 4]
    assert [r["step"] for r in evals] == [0, 2, 4]  # eval_on_start gives the baseline
    for key in ("reward", "reward_std", "frac_reward_zero_std", "entropy", "clip_ratio", "completion_length",
                "truncated_share", "learning_rate", "step_time", "task_weight/push"):
        assert all(key in r for r in train), key
    assert all(f"task_reward/{t}" in evals[0] for t in recipe.tasks)
    # IWU: weights change after each evaluation and every change is logged.
    assert evals[0]["task_weight/push"] != 0.25 and sum(evals[-1][f"task_weight/{t}"] for t in recipe.tasks) == \
        pytest.approx(1.0)

    # The best checkpoint is the highest eval reward, at whatever step it happened.
    scores = {r["step"]: r["task_reward"] for r in evals}
    best_step = max(scores, key=lambda s: (scores[s], -s))
    best = json.loads((run_dir / "best_checkpoint" / "best.json").read_text())
    assert (best["step"], best["score"]) == (best_step, pytest.approx(scores[best_step]))
    assert (result.best_step, result.first_eval.keys()) == (best_step, set(recipe.tasks))
    loaded = load_model(tiny_model_dir, adapter=run_dir / "best_checkpoint")
    assert loaded.checkpoint_id.endswith("best_checkpoint")

    # TRL/transformers' own best-model bookkeeping runs on our metric (eval_task_reward).
    state = json.loads((run_dir / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["best_metric"] == pytest.approx(max(scores[2], scores[4]))
    assert state["best_global_step"] == (2 if scores[2] >= scores[4] else 4)
    args = grpo_config.trl_config_kwargs(recipe, grpo_config.plan_model(recipe), run_dir)
    assert (args["metric_for_best_model"], args["greater_is_better"]) == ("task_reward", True)

    # Resume with more steps: the step count continues from checkpoint-4, the best so far is kept.
    longer = recipe.with_overrides({"grpo.max_steps": 6})
    again = grpo.main(longer, run_dir, resume=True)
    assert again.global_step == 6
    rows = read_jsonl(run_dir / "metrics.jsonl")
    assert [r["step"] for r in rows if r["kind"] == "train"] == [1, 2, 3, 4, 5, 6]
    assert again.best_score >= result.best_score
    assert again.first_eval == result.first_eval

    with pytest.raises(grpo_config.TrainingError, match="already holds checkpoints; pass --resume"):
        grpo.main(recipe, run_dir)


@pytest.mark.slow
def test_gdpo_normalises_each_component_and_skips_other_tasks_rows(tmp_path, home, small_data, tiny_model_dir):
    """normalize_then_sum: per component, centre and scale within each prompt group; the
    rows of another task are NaN (None from the reward) for that task's components and drop
    out of the sum, so every advantage is finite."""
    import torch
    from transformers import TrainerCallback

    recipe = tiny_recipe(small_data, tiny_model_dir, **{
        "rewards.aggregation": "gdpo", "rewards.iwu": False, "grpo.max_steps": 1, "grpo.eval_on_start": False,
        "grpo.num_generations": 4, "grpo.prompts_per_step": 4, "grpo.micro_batch_size": 16,
        "grpo.max_completion_length": 12, "data.tasks": ["extraction", "push"]})
    s = grpo_trainer.setup(recipe, tmp_path / "gdpo")
    trainer = s.trainer
    assert trainer.multi_objective_aggregation == "normalize_then_sum"
    names = [f.__name__ for f in s.rewards.funcs]
    assert "reward_push__length" in names or any(n.startswith("reward_push__") for n in names)
    weights = torch.tensor(s.rewards.weights)
    assert weights[:2].tolist() == [0.0, 0.0]  # per-task totals: logged, not in the advantage
    snapshot = {}

    class AfterStep(TrainerCallback):
        # The step's rewards and advantages, read before an evaluation adds its own to TRL's logs.
        def on_step_end(self, args, state, control, **kwargs):
            snapshot["rewards"] = {n: list(trainer._logs["rewards"][n]) for n in names}
            snapshot["advantages"] = list(trainer._logs["advantages"])

    trainer.add_callback(AfterStep())
    trainer.train()

    per_func = torch.tensor([snapshot["rewards"][n] for n in names]).T  # (B*G, K), NaN for other tasks
    advantages = torch.tensor(snapshot["advantages"])
    assert per_func.shape[0] == advantages.shape[0] == 16
    assert torch.isnan(per_func).any() and torch.isfinite(advantages).all()
    # A row of one task has NaN in every function of the other task.
    tasks_of_rows = ["extraction" if not math.isnan(r[0]) else "push" for r in per_func.tolist()]
    assert set(tasks_of_rows) <= {"extraction", "push"}

    def nanstd(x, dim):
        mean = torch.nanmean(x, dim=dim, keepdim=True)
        n = (~torch.isnan(x)).sum(dim=dim, keepdim=True)
        return torch.sqrt(torch.nansum((x - mean) ** 2, dim=dim, keepdim=True) / (n - 1))

    grouped = per_func.view(-1, 4, per_func.shape[1])
    normed = ((grouped - torch.nanmean(grouped, dim=1, keepdim=True)) / (nanstd(grouped, 1) + 1e-4)).view(16, -1)
    summed = torch.nansum(normed * weights, dim=1)
    expected = (summed - summed.mean()) / (summed.std() + 1e-4)
    assert torch.allclose(advantages, expected, atol=1e-4)
    # The plain sum of totals (sum_then_normalize) would give other advantages: the option took effect.
    totals = torch.nansum(per_func[:, :2], dim=1).view(-1, 4)
    plain = (totals - totals.mean(dim=1, keepdim=True)).view(-1)
    assert not torch.allclose(advantages, plain, atol=1e-3)
