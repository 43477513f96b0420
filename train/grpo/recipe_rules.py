"""The rules a recipe's values must follow together: allowed choices, ranges, and sizes
that must fit each other (a batch that holds whole prompt groups, a task that exists).
A recipe that breaks one raises RecipeError naming the file and the dotted key, before
anything loads.
"""

from __future__ import annotations

import dataclasses
import math

from rewards.types import TASKS

BACKENDS = ("auto", "unsloth", "transformers")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
AGGREGATIONS = ("sum", "gdpo")
SCALE_REWARDS = ("group", "batch", "none")
LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo")
SCHEDULERS = ("constant", "constant_with_warmup", "linear", "cosine")


class RecipeError(ValueError):
    """The recipe file is missing, malformed, or asks for something that cannot run."""


# Where each number may lie: (low, low_open, high, high_open); None is unbounded. Every
# float of a recipe must also be finite (YAML reads .nan and .inf as floats).
RANGES: dict[str, tuple[float | None, bool, float | None, bool]] = {
    "lora.dropout": (0.0, False, 1.0, True),
    "grpo.learning_rate": (0.0, True, None, False),
    "grpo.warmup_ratio": (0.0, False, 1.0, True),
    "grpo.weight_decay": (0.0, False, None, False),
    "grpo.max_grad_norm": (0.0, True, None, False),
    "grpo.beta": (0.0, False, None, False),
    "grpo.epsilon": (0.0, True, None, False),
    "grpo.temperature": (0.0, True, None, False),
    "grpo.top_p": (0.0, True, 1.0, False),
    "grpo.top_k": (0, False, None, False),
    "grpo.early_stopping_threshold": (0.0, False, None, False),
    "grpo.save_total_limit": (1, False, None, False),
    "grpo.seed": (0, False, 2**32 - 1, False),
    "rewards.iwu_params.eta": (0.0, False, None, False),
    "rewards.iwu_params.lam": (0.0, False, None, False),
    **{f"data.task_weights.{task}": (0.0, False, None, False) for task in TASKS},
}
WHY = {
    "grpo.temperature": " (GRPO needs sampling)",
    "grpo.max_grad_norm": " (gradient clipping needs a positive norm)",
    "lora.dropout": " (a probability below 1)",
    "grpo.seed": " (numpy and torch seeds)",
}


def _numbers(recipe) -> dict[str, object]:
    """Every number of the recipe under its dotted key (sections and iwu_params walked)."""
    out: dict[str, object] = {}
    sections = {"model": recipe.model, "lora": recipe.lora, "data": recipe.data, "rewards": recipe.rewards,
                "grpo": recipe.grpo}
    for name, section in sections.items():
        if section is None:
            continue
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[f"{name}.{f.name}"] = value
    for key, value in recipe.rewards.iwu_params.items():
        out[f"rewards.iwu_params.{key}"] = value
    for key, value in recipe.data.task_weights.items():
        out[f"data.task_weights.{key}"] = value
    return out


def _check_numbers(recipe, src: str) -> None:
    for key, value in _numbers(recipe).items():
        if isinstance(value, float) and not math.isfinite(value):
            raise RecipeError(f"recipe {src}: {key} must be a finite number, got {value}")
        if key not in RANGES:
            continue
        low, low_open, high, high_open = RANGES[key]
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            if high is None:
                wanted = f"above {low:g}" if low_open else f"{low:g} or more"
            else:
                wanted = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
            raise RecipeError(f"recipe {src}: {key} must be {wanted}{WHY.get(key, '')}, got {value}")



def _choice(source: str, key: str, value, allowed) -> None:
    if value not in allowed:
        raise RecipeError(f"recipe {source}: {key} is {value!r}; choose one of {', '.join(map(str, allowed))}")


def validate(recipe) -> None:
    """Raise RecipeError for values that are well-typed but cannot run together."""
    src, m, g, d, r = recipe.source or recipe.name, recipe.model, recipe.grpo, recipe.data, recipe.rewards
    if not recipe.name.strip():
        raise RecipeError(f"recipe {src}: name must not be empty")
    _choice(src, "model.backend", m.backend, BACKENDS)
    _choice(src, "model.precision", m.precision, PRECISIONS)
    _choice(src, "model.quant_type", m.quant_type, ("nf4", "fp4"))
    _choice(src, "rewards.aggregation", r.aggregation, AGGREGATIONS)
    _choice(src, "grpo.scale_rewards", g.scale_rewards, SCALE_REWARDS)
    _choice(src, "grpo.loss_type", g.loss_type, LOSS_TYPES)
    _choice(src, "grpo.lr_scheduler_type", g.lr_scheduler_type, SCHEDULERS)
    _choice(src, "grpo.vllm_mode", g.vllm_mode, ("colocate", "server"))
    for key in ("tasks",):
        for task in getattr(d, key):
            _choice(src, f"data.{key}", task, TASKS)
    if len(set(d.tasks)) != len(d.tasks):
        raise RecipeError(f"recipe {src}: data.tasks lists a task twice: {d.tasks}")
    for task in recipe.excluded_tasks:
        if task not in d.tasks:
            raise RecipeError(f"recipe {src}: cannot exclude {task!r}: it is not in the mix {d.tasks}")
    if not recipe.tasks:
        raise RecipeError(f"recipe {src}: every task of the mix is excluded; nothing to train on")
    for task in r.names:
        _choice(src, "rewards.names", task, TASKS)
    for key in r.iwu_params:
        _choice(src, "rewards.iwu_params", key, ("eta", "lam"))
    if m.load_in_4bit and m.backend == "transformers" and recipe.lora is None:
        raise RecipeError(f"recipe {src}: a 4-bit model can only be trained through LoRA (set a lora section)")
    positive = {
        "grpo.num_generations": g.num_generations, "grpo.num_generations_eval": g.num_generations_eval,
        "grpo.max_completion_length": g.max_completion_length, "grpo.prompts_per_step": g.prompts_per_step,
        "grpo.micro_batch_size": g.micro_batch_size, "grpo.eval_batch_size": g.eval_batch_size,
        "grpo.max_steps": g.max_steps, "grpo.eval_steps": g.eval_steps, "grpo.save_steps": g.save_steps,
        "grpo.logging_steps": g.logging_steps, "grpo.early_stopping_patience": g.early_stopping_patience,
    }
    if recipe.lora is not None:
        positive |= {"lora.r": recipe.lora.r, "lora.alpha": recipe.lora.alpha}
    for key, value in positive.items():
        if value < 1:
            raise RecipeError(f"recipe {src}: {key} must be at least 1, got {value}")
    if g.num_generations < 2 or g.num_generations_eval < 2:
        raise RecipeError(
            f"recipe {src}: GRPO compares completions of one prompt, so grpo.num_generations and "
            f"grpo.num_generations_eval must be at least 2 (got {g.num_generations}, {g.num_generations_eval})"
        )
    if recipe.completions_per_step % g.micro_batch_size:
        raise RecipeError(
            f"recipe {src}: grpo.micro_batch_size ({g.micro_batch_size}) must divide the completions per step "
            f"(prompts_per_step {g.prompts_per_step} x num_generations {g.num_generations} = "
            f"{recipe.completions_per_step})"
        )
    if g.eval_batch_size % g.num_generations_eval:
        raise RecipeError(
            f"recipe {src}: grpo.eval_batch_size ({g.eval_batch_size}) must be a multiple of "
            f"grpo.num_generations_eval ({g.num_generations_eval}) so each batch holds whole prompt groups"
        )
    _check_numbers(recipe, src)
    if g.save_steps % g.eval_steps:
        raise RecipeError(
            f"recipe {src}: grpo.save_steps ({g.save_steps}) must be a multiple of grpo.eval_steps "
            f"({g.eval_steps}), so every checkpoint has an evaluation score"
        )
    for key, value in (("data.train_limit", d.train_limit), ("data.eval_limit", d.eval_limit)):
        if value is not None and value < 1:
            raise RecipeError(f"recipe {src}: {key} must be at least 1 or null, got {value}")
    _check_task_weights(recipe, src)
    if d.eval_from_train and (d.train_limit is None or d.eval_limit is None):
        raise RecipeError(f"recipe {src}: data.eval_from_train holds out train prompts for evaluation, so it needs "
                          "data.train_limit (prompts trained on) and data.eval_limit (prompts held out) per task")


def _check_task_weights(recipe, src) -> None:
    """data.task_weights: tasks of data.tasks, not all zero for the run's tasks (each weight's
    type, finiteness and sign are checked with the recipe's other numbers)."""
    weights = recipe.data.task_weights
    outside = sorted(set(weights) - set(recipe.data.tasks))
    if outside:
        raise RecipeError(f"recipe {src}: data.task_weights names task(s) {outside} outside data.tasks "
                          f"{recipe.data.tasks}")
    if recipe.tasks and not any(weights.get(t, 1.0) > 0 for t in recipe.tasks):
        raise RecipeError(f"recipe {src}: data.task_weights gives every task of the run ({recipe.tasks}) weight 0")
