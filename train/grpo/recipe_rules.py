"""The rules a recipe's values must follow together: allowed choices, ranges, and sizes
that must fit each other (a batch that holds whole prompt groups, a task that exists).
A recipe that breaks one raises RecipeError naming the file and the dotted key, before
anything loads.
"""

from __future__ import annotations

from rewards.types import TASKS

BACKENDS = ("auto", "unsloth", "transformers")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
AGGREGATIONS = ("sum", "gdpo")
SCALE_REWARDS = ("group", "batch", "none")
LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo")
SCHEDULERS = ("constant", "constant_with_warmup", "linear", "cosine")
# Model names that resolve to a model built or cached on this machine (no hub needed).
LOCAL_MODELS = ("tiny", "demo")


class RecipeError(ValueError):
    """The recipe file is missing, malformed, or asks for something that cannot run."""



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
    if g.temperature <= 0:
        raise RecipeError(f"recipe {src}: grpo.temperature must be above 0 (GRPO needs sampling), got {g.temperature}")
    if not 0 < g.top_p <= 1:
        raise RecipeError(f"recipe {src}: grpo.top_p must be in (0, 1], got {g.top_p}")
    if g.learning_rate <= 0 or g.beta < 0 or not 0 <= g.warmup_ratio < 1:
        raise RecipeError(
            f"recipe {src}: need learning_rate > 0, beta >= 0 and 0 <= warmup_ratio < 1 "
            f"(got {g.learning_rate}, {g.beta}, {g.warmup_ratio})"
        )
    if g.save_steps % g.eval_steps:
        raise RecipeError(
            f"recipe {src}: grpo.save_steps ({g.save_steps}) must be a multiple of grpo.eval_steps "
            f"({g.eval_steps}), so every checkpoint has an evaluation score"
        )
    for key, value in (("data.train_limit", d.train_limit), ("data.eval_limit", d.eval_limit)):
        if value is not None and value < 1:
            raise RecipeError(f"recipe {src}: {key} must be at least 1 or null, got {value}")
