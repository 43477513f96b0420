"""Phase 1 of a GRPO run: what the recipe asks of this machine, and TRL's GRPOConfig.

`plan_model` decides backend and precision before anything is loaded; `reward_plan` lists
the reward functions and their weights; `trl_config_kwargs` is GRPOConfig's keyword
arguments (pure, so tests read them on any machine).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from rewards import registry
from train.grpo.callbacks import METRIC
from train.grpo.recipe import Recipe, RecipeError
from train.models.loading import choose_backend, resolve_model
from train.models.local import local_source, resolve_local


class TrainingError(ValueError):
    """A run cannot start as asked (data, model, run folder); the message says why."""


@dataclass(frozen=True)
class ModelPlan:
    """How the policy is loaded and trained on this machine (decided before loading anything)."""

    backend: str  # "unsloth" | "transformers"
    reason: str
    cuda: bool
    bf16: bool
    fp16: bool
    load_in_4bit: bool


def plan_model(recipe: Recipe, *, cuda_available: bool | None = None, unsloth_installed: bool | None = None,
               bf16_supported: bool | None = None, bitsandbytes_installed: bool | None = None) -> ModelPlan:
    """Backend and precision for `recipe` on a machine; the arguments default to this machine."""
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
        if bf16_supported is None and cuda_available:
            bf16_supported = torch.cuda.is_bf16_supported()
    if unsloth_installed is None:
        unsloth_installed = importlib.util.find_spec("unsloth") is not None
    backend, reason = choose_backend(cuda_available, unsloth_installed, recipe.model.backend)
    m, src = recipe.model, recipe.source or recipe.name
    if m.load_in_4bit and backend != "unsloth":
        if not cuda_available:
            raise RecipeError(
                f"recipe {src}: model.load_in_4bit needs a CUDA device (Unsloth, or transformers + bitsandbytes), "
                f"and this machine has none ({reason}); use a recipe without 4-bit loading here"
            )
        if bitsandbytes_installed is None:
            bitsandbytes_installed = importlib.util.find_spec("bitsandbytes") is not None
        if not bitsandbytes_installed:
            raise RecipeError(f"recipe {src}: model.load_in_4bit on the transformers backend needs bitsandbytes "
                              "(pip install -e '.[gpu]')")
        reason += "; 4-bit through bitsandbytes"
    precision = m.precision
    if precision == "auto":
        precision = ("bf16" if bf16_supported else "fp16") if cuda_available else "fp32"
    if precision in ("bf16", "fp16") and not cuda_available:
        raise RecipeError(f"recipe {src}: model.precision {precision} needs a CUDA device; this machine has none "
                          "(use precision: fp32 or auto)")
    return ModelPlan(backend=backend, reason=reason, cuda=cuda_available, bf16=precision == "bf16",
                     fp16=precision == "fp16", load_in_4bit=m.load_in_4bit)


def reward_plan(recipe: Recipe) -> list[tuple[str, str, str | None, float]]:
    """(reward name, task, component or None, weight) for every reward function, in order.

    Sum: one function per task, weight 1 (a row of another task gets None from it and
    TRL's nansum skips it). GDPO: the per-task totals stay with weight 0, so they are
    logged per task and drive IWU without entering the advantage, and each component
    gets its recipe weight (TRL normalises each within its group before summing)."""
    plan = []
    for task in recipe.tasks:
        name = recipe.rewards.names.get(task) or registry.default_reward_name(task)
        reward = registry.get_reward(name)  # KeyError listing the valid names
        if reward.task != task:
            raise RecipeError(f"recipe {recipe.source or recipe.name}: rewards.names.{task} is {name!r}, "
                              f"a reward for task {reward.task!r}")
        plan.append((name, task, None, 0.0 if recipe.rewards.aggregation == "gdpo" else 1.0))
    if recipe.rewards.aggregation == "gdpo":
        for name, task, _, _ in list(plan):
            reward = registry.get_reward(name)
            # Each component keeps the recipe's weight (penalties by magnitude: their points
            # are already negative), as rewards.trl_adapter.trl_reward_weights does.
            plan += [(name, task, comp, abs(reward.weights[comp])) for comp in reward.components]
    return plan


def trl_config_kwargs(recipe: Recipe, plan: ModelPlan, run_dir: Path, *, resume: bool = False) -> dict:
    """GRPOConfig's keyword arguments for the recipe (pure: tests read them on any machine)."""
    g = recipe.grpo
    weights = [w for *_, w in reward_plan(recipe)]
    return dict(
        output_dir=str(run_dir),
        # Optimisation
        learning_rate=g.learning_rate,
        lr_scheduler_type=g.lr_scheduler_type,
        warmup_steps=g.warmup_ratio,  # transformers reads a value below 1 as a ratio of max_steps
        weight_decay=g.weight_decay,
        max_grad_norm=g.max_grad_norm,
        max_steps=g.max_steps,
        per_device_train_batch_size=g.micro_batch_size,
        gradient_accumulation_steps=recipe.gradient_accumulation_steps,
        per_device_eval_batch_size=g.eval_batch_size,
        bf16=plan.bf16,
        fp16=plan.fp16,
        use_cpu=not plan.cuda,
        # Unsloth brings its own gradient checkpointing (set on the LoRA model).
        gradient_checkpointing=recipe.model.gradient_checkpointing and plan.backend != "unsloth",
        seed=g.seed,
        data_seed=g.seed,
        # GRPO
        beta=g.beta,
        scale_rewards=g.scale_rewards,
        loss_type=g.loss_type,
        epsilon=g.epsilon,
        num_generations=g.num_generations,
        num_generations_eval=g.num_generations_eval,
        max_completion_length=g.max_completion_length,
        temperature=g.temperature,  # always explicit: never inherited from a model's generation_config
        top_p=g.top_p,
        top_k=g.top_k,
        multi_objective_aggregation="normalize_then_sum" if recipe.rewards.aggregation == "gdpo"
        else "sum_then_normalize",
        reward_weights=weights,
        use_vllm=g.use_vllm,
        vllm_mode=g.vllm_mode,
        # Evaluation, checkpoints, best model, logging
        eval_strategy="steps",
        eval_steps=g.eval_steps,
        eval_on_start=g.eval_on_start and not resume,
        save_strategy="steps",
        save_steps=g.save_steps,
        save_total_limit=g.save_total_limit,
        metric_for_best_model=METRIC,
        greater_is_better=True,
        load_best_model_at_end=False,  # best_checkpoint/ is kept instead, at any eval step
        restore_callback_states_from_checkpoint=True,  # early-stopping patience survives a resume
        logging_strategy="steps",
        logging_steps=g.logging_steps,
        report_to=[],
        disable_tqdm=True,
        log_completions=False,
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )


def build_config(recipe: Recipe, plan: ModelPlan, run_dir: Path, *, resume: bool = False):
    from trl import GRPOConfig

    return GRPOConfig(**trl_config_kwargs(recipe, plan, run_dir, resume=resume))


def resolve_model_name(name: str) -> str:
    """'tiny', 'demo' and 'demo-raw' name models built or cached on this machine
    (train.models.local); anything else passes through."""
    return resolve_local(name)


def check_model_available(name: str) -> str:
    """Raise (FileNotFoundError / LookupError / ValueError) if the recipe's model cannot be
    found or built, without loading or building it."""
    return local_source(name) or resolve_model(name)[0]
