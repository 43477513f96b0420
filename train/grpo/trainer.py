"""Phases 3 and 5 of a GRPO run: the policy (LoRA through PEFT, or Unsloth on CUDA) and
the GRPOTrainer with its task-mix sampler and callbacks (train.grpo.callbacks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from train.grpo.callbacks import (
    STATE_FILE,
    BestCheckpoint,
    EvalRewardMetric,
    IWUCallback,
    RunRecorder,
    RunState,
    read_best,
)
from train.grpo.config import ModelPlan, TrainingError, build_config, plan_model, resolve_model_name
from train.grpo.inputs import RewardSetup, build_rewards, commerce_db, load_rows, to_dataset
from train.grpo.recipe import Recipe
from train.grpo.signal import SignalGate
from train.grpo.task_sampler import TaskMixSampler, TaskWeights
from train.models.loading import load_model

logger = logging.getLogger("tucano.train")


def linear_module_names(model) -> list[str]:
    """Leaf names of every linear layer but the output head ("all linear layers" for LoRA)."""
    import torch

    names = {name.rsplit(".", 1)[-1] for name, mod in model.named_modules() if isinstance(mod, torch.nn.Linear)}
    names.discard("lm_head")
    return sorted(names)


def load_policy(recipe: Recipe, plan: ModelPlan):
    """(LoadedModel, model to train, peft_config or None). Unsloth applies LoRA itself."""
    loaded = load_model(resolve_model_name(recipe.model.name), for_training=True, backend=plan.backend,
                        max_seq_length=4096, load_in_4bit=plan.load_in_4bit, quant_type=recipe.model.quant_type)
    model, lora = loaded.model, recipe.lora
    if lora is None:
        return loaded, model, None
    targets = linear_module_names(model) if lora.target_modules == "all-linear" else list(lora.target_modules)
    if plan.backend == "unsloth":
        from unsloth import FastLanguageModel

        model = FastLanguageModel.get_peft_model(
            model, r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=targets,
            use_gradient_checkpointing="unsloth" if recipe.model.gradient_checkpointing else False,
            random_state=recipe.grpo.seed,
        )
        return loaded, model, None
    from peft import LoraConfig

    return loaded, model, LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                     target_modules=targets, task_type="CAUSAL_LM")


def trainer_class(use_task_sampler: bool):
    """GRPOTrainer, or a subclass whose training prompts come from the task-mix sampler
    (its weights start at the recipe's data.task_weights; IWU, when on, moves them)."""
    from trl import GRPOTrainer

    if not use_task_sampler:
        return GRPOTrainer


    class TaskMixGRPOTrainer(GRPOTrainer):
        """GRPOTrainer choosing each generation batch's prompts by task weight."""

        task_weights = None  # set by build_trainer before training

        def _get_train_sampler(self, dataset=None):
            dataset = self.train_dataset if dataset is None else dataset
            return TaskMixSampler(
                dataset["task"], self.task_weights, mini_repeat_count=self.num_generations,
                batch_size=self.args.generation_batch_size // self.num_generations,
                repeat_count=self.num_iterations * self.args.steps_per_generation, seed=self.args.seed,
            )

    return TaskMixGRPOTrainer


def last_complete_checkpoint(run_dir: Path) -> Path | None:
    """Newest checkpoint-N holding our state file (written last, so the folder is whole)."""
    found = []
    for folder in Path(run_dir).glob("checkpoint-*"):
        suffix = folder.name.split("-", 1)[1]
        if suffix.isdigit() and (folder / STATE_FILE).is_file() and (folder / "trainer_state.json").is_file():
            found.append((int(suffix), folder))
    return max(found)[1] if found else None


@dataclass
class Setup:
    """Phases 1-5 done: what `train` and `save` need (tests and the benchmark use it too)."""

    recipe: Recipe
    run_dir: Path
    trainer: object  # GRPOTrainer (or its task-mix subclass)
    state: RunState
    checkpoint: Path | None
    rewards: RewardSetup
    plan: ModelPlan


def setup(recipe: Recipe, run_dir: str | Path, *, resume: bool = False, store=None, run_id: int | None = None,
          extra_callbacks: list | None = None) -> Setup:
    """Phases 1-5: config, data, model, rewards, trainer."""
    from transformers import EarlyStoppingCallback, PrinterCallback

    run_dir = Path(run_dir).resolve()
    # -- 1. config ------------------------------------------------------------------------
    plan = plan_model(recipe)
    checkpoint = last_complete_checkpoint(run_dir) if resume else None
    if not resume and any(run_dir.glob("checkpoint-*")):
        raise TrainingError(f"run folder {run_dir} already holds checkpoints; pass --resume to continue that run "
                            "or choose another --run-dir")
    run_dir.mkdir(parents=True, exist_ok=True)
    _log_to(run_dir / "train.log")
    (run_dir / "recipe.yaml").write_text(recipe.to_yaml(), encoding="utf-8")
    logger.info("run %s: recipe %s (%s), seed %d, tasks %s", run_dir.name, recipe.name, recipe.fingerprint(),
                recipe.grpo.seed, ",".join(recipe.tasks))
    logger.info("model backend %s: %s", plan.backend, plan.reason)
    if resume:
        logger.info("resuming from %s", checkpoint or "the start (no complete checkpoint yet)")
    config = build_config(recipe, plan, run_dir, resume=checkpoint is not None)
    # -- 2. data ----------------------------------------------------------------------------
    train_rows, eval_rows = load_rows(recipe)
    db = commerce_db(recipe)
    train_ds, eval_ds = to_dataset(train_rows, db), to_dataset(eval_rows, db)
    logger.info("data: %d train prompts, %d eval prompts", len(train_ds), len(eval_ds))
    # -- 3. model ---------------------------------------------------------------------------
    loaded, model, peft_config = load_policy(recipe, plan)
    # -- 4. rewards -------------------------------------------------------------------------
    rewards = build_rewards(recipe)
    logger.info("rewards (%s): %s", recipe.rewards.aggregation, ", ".join(f.__name__ for f in rewards.funcs))
    # -- 5. trainer -------------------------------------------------------------------------
    state = _initial_state(recipe, run_dir, checkpoint)
    weights = TaskWeights(recipe.tasks, state.weights)
    recorder = RunRecorder(run_dir, state, rewards.names, weights if recipe.rewards.iwu else None, store=store,
                           run_id=run_id, max_steps=recipe.grpo.max_steps, sampler=rewards.sampler)
    callbacks = [EvalRewardMetric(rewards.names, recipe.tasks)]
    if recipe.rewards.iwu:
        callbacks.append(IWUCallback(state, weights, rewards.names, recipe.rewards.iwu_params))
        callbacks.append(SignalGate(rewards.meter, weights, state))  # after IWU: scales its weights
    callbacks += [BestCheckpoint(run_dir, state, rewards.names), recorder,
                  EarlyStoppingCallback(early_stopping_patience=recipe.grpo.early_stopping_patience,
                                        early_stopping_threshold=recipe.grpo.early_stopping_threshold),
                  *(extra_callbacks or [])]
    # Any mix of tasks goes through the task-mix sampler (the recipe's start weights, fixed
    # without IWU): TRL's own sampler shuffles the pooled prompts, which leaves a short run's
    # mix to chance.
    cls = trainer_class(recipe.rewards.iwu or len(recipe.tasks) > 1)
    trainer = cls(model=model, reward_funcs=rewards.funcs, args=config, train_dataset=train_ds,
                  eval_dataset=eval_ds, processing_class=loaded.tokenizer, peft_config=peft_config,
                  callbacks=callbacks)
    trainer.task_weights = weights
    trainer.remove_callback(PrinterCallback)  # train.log and metrics.jsonl say it once, in our names
    return Setup(recipe=recipe, run_dir=run_dir, trainer=trainer, state=state, checkpoint=checkpoint,
                 rewards=rewards, plan=plan)


def _initial_state(recipe: Recipe, run_dir: Path, checkpoint: Path | None) -> RunState:
    """The recipe's start weights, or the checkpoint's weights and the best so far (also from
    best_checkpoint/, which may be newer than the checkpoint resumed from)."""
    state = RunState(weights=recipe.start_weights)
    if checkpoint is not None:
        state = RunState.load(checkpoint / STATE_FILE)
    best = read_best(run_dir)
    if best and (state.best_score is None or best["score"] > state.best_score):
        state.best_step, state.best_score = best["step"], best["score"]
    return state


def _log_to(path: Path) -> None:
    """Send this module's log lines to the run's train.log (and stderr, for the job log)."""
    logger.setLevel(logging.INFO)
    for h in list(logger.handlers):
        if getattr(h, "_tucano_run_log", False):
            logger.removeHandler(h)
            h.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers = [logging.FileHandler(path, encoding="utf-8")]
    if not any(isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
               for h in logger.handlers):
        handlers.append(logging.StreamHandler())
    for h in handlers:
        h.setFormatter(fmt)
        h._tucano_run_log = isinstance(h, logging.FileHandler)
        logger.addHandler(h)
    logger.propagate = False
