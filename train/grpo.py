"""GRPO training of a chat model on the four e-commerce tasks, on TRL's GRPOTrainer.

How to run it:

    tucano-audit train --recipe tiny                       # the in-process test model, seconds
    tucano-audit train --recipe cpu-demo                   # SmolLM2-135M on CPU, < 30 min on 2 cores
    tucano-audit train --recipe tucano2-0.5b-l4 --store .tucano/store.db   # one L4 GPU, gated by the audit
    tucano-audit train --recipe cpu-demo --resume          # continue from the last complete checkpoint
    python -m train.grpo --recipe tiny --run-dir /tmp/r    # the same without the CLI wrapper

What it does, as one `main()` in phases:
1. config  - the recipe (train/recipes/*.yaml), the machine (CUDA? Unsloth?), TRL's GRPOConfig;
2. data    - train and eval prompt rows (data.prompts), limited per task, every task present;
3. model   - the policy through train.models.load_model, LoRA via PEFT (or Unsloth on CUDA);
4. rewards - the rewards registry through rewards.trl_adapter: one function per task, or
             one per component for GDPO (TRL multi_objective_aggregation="normalize_then_sum");
5. trainer - GRPOTrainer whose sampler draws tasks by IWU weights (train.task_sampler),
             with the callbacks of train.callbacks (metrics, IWU, best checkpoint, early stop);
6. train   - trainer.train(), resuming from the last complete checkpoint when asked;
7. save    - the final adapter, summary.json; best_checkpoint/ already holds the peak.

Everything a run writes lives in its run folder: checkpoint-N/, best_checkpoint/ (with
best.json: step and score), final/, metrics.jsonl, train.log, recipe.yaml, summary.json.
The recipe we follow peaked at step 1,100 and collapsed by 1,500: the evaluation reward,
not the last step, decides which adapter a run hands back.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from train.callbacks import (
    BEST_DIR,
    METRIC,
    STATE_FILE,
    BestCheckpoint,
    EvalRewardMetric,
    IWUCallback,
    RewardNames,
    RunRecorder,
    RunState,
    read_best,
)
from train.recipe import Recipe, RecipeError

logger = logging.getLogger("tucano.train")


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


@dataclass
class RewardSetup:
    funcs: list
    weights: list[float]
    names: RewardNames
    versions: dict[str, str]


@dataclass
class TrainResult:
    run_dir: Path
    global_step: int
    stop_reason: str  # max_steps | early_stopping
    best_step: int | None
    best_score: float | None
    wall_seconds: float
    first_eval: dict = field(default_factory=dict)  # task -> eval reward at the first evaluation
    best_eval: dict = field(default_factory=dict)  # task -> eval reward at the best evaluation

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "run_dir": str(self.run_dir)}


# == 1. config ================================================================================
def plan_model(recipe: Recipe, *, cuda_available: bool | None = None, unsloth_installed: bool | None = None,
               bf16_supported: bool | None = None) -> ModelPlan:
    """Backend and precision for `recipe` on a machine; the arguments default to this machine."""
    from train.models import choose_backend

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
        raise RecipeError(
            f"recipe {src}: model.load_in_4bit trains through Unsloth on CUDA, and this machine uses "
            f"{backend} ({reason}); use a recipe without 4-bit loading here"
        )
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
    from rewards import registry

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
    """'tiny' and 'demo' name models built or cached on this machine; anything else passes through."""
    from data import paths

    if name == "tiny":
        from train.tiny_model import build_tiny_model

        folder = paths.models_dir() / "tiny-qwen2"
        if not (folder / "config.json").is_file():
            build_tiny_model(folder)
        return str(folder)
    if name == "demo":
        from train.demo_model import ensure_demo_model

        return str(ensure_demo_model())
    return name


# == 2. data ===================================================================================
def prompt_paths(recipe: Recipe) -> tuple[Path, Path]:
    from data import paths

    return (Path(recipe.data.train) if recipe.data.train else paths.train_prompts(),
            Path(recipe.data.eval) if recipe.data.eval else paths.eval_prompts())


def load_rows(recipe: Recipe) -> tuple[list[dict], list[dict]]:
    """Train and eval rows for the mix; TrainingError if a task of the mix has no prompts."""
    from data.prompts import load_prompts

    out = []
    for path, limit, split in zip(prompt_paths(recipe), (recipe.data.train_limit, recipe.data.eval_limit),
                                  ("train", "eval"), strict=True):
        rows = load_prompts(path, tasks=recipe.tasks)
        kept, seen = [], {t: 0 for t in recipe.tasks}
        for row in rows:
            if limit is None or seen[row["task"]] < limit:
                kept.append(row)
                seen[row["task"]] += 1
        missing = [t for t, n in seen.items() if n == 0]
        if missing:
            raise TrainingError(
                f"the {split} prompt set {path} has no prompts for task(s) {', '.join(missing)} in the recipe's mix; "
                "rebuild it (tucano-audit data build) or exclude the task (--exclude-task)"
            )
        out.append(kept)
    return out[0], out[1]


def commerce_db(recipe: Recipe) -> str | None:
    """The database sql_qa rewards execute against: the recipe's, else the home's (if built)."""
    from data import paths

    if recipe.data.db:
        if not Path(recipe.data.db).is_file():
            raise TrainingError(f"data.db {recipe.data.db} does not exist (run `tucano-audit data build`)")
        return str(Path(recipe.data.db).resolve())
    return str(paths.commerce_db()) if paths.commerce_db().is_file() else None


def to_dataset(rows: list[dict], db_path: str | None):
    """A datasets.Dataset whose columns TRL hands to the reward functions as keyword arguments."""
    from datasets import Dataset

    columns = ("prompt", "task", "prompt_id", "rating", "reference_sql", "reference_answer", "topic")
    records = [{k: row.get(k) for k in columns} for row in rows]
    if db_path:
        for r in records:
            r["db_path"] = db_path
    return Dataset.from_list(records)


# == 3. model ==================================================================================
def linear_module_names(model) -> list[str]:
    """Leaf names of every linear layer but the output head ("all linear layers" for LoRA)."""
    import torch

    names = {name.rsplit(".", 1)[-1] for name, mod in model.named_modules() if isinstance(mod, torch.nn.Linear)}
    names.discard("lm_head")
    return sorted(names)


def load_policy(recipe: Recipe, plan: ModelPlan):
    """(LoadedModel, model to train, peft_config or None). Unsloth applies LoRA itself."""
    from train.models import load_model

    loaded = load_model(resolve_model_name(recipe.model.name), for_training=True, backend=plan.backend,
                        max_seq_length=4096)
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


# == 4. rewards ================================================================================
def build_rewards(recipe: Recipe) -> RewardSetup:
    """TRL reward functions from the rewards registry, in reward_plan's order."""
    from rewards.trl_adapter import trl_component_funcs, trl_reward_func
    from rewards.versions import reward_version

    plan = reward_plan(recipe)
    funcs, totals, components = [], {}, {}
    for name, task, comp, _ in plan:
        if comp is None:
            f = trl_reward_func(name)
            totals[f.__name__] = task
            funcs.append(f)
    if recipe.rewards.aggregation == "gdpo":
        for name, task, _, _ in [p for p in plan if p[2] is None]:
            comps = [p[2] for p in plan if p[0] == name and p[2] is not None]
            for comp, f in zip(comps, trl_component_funcs(name), strict=True):
                components[f.__name__] = (task, comp)
                funcs.append(f)
    versions = {task: reward_version(name) for name, task, comp, _ in plan if comp is None}
    return RewardSetup(funcs=funcs, weights=[w for *_, w in plan], names=RewardNames(totals, components),
                       versions=versions)


# == 5. trainer ================================================================================
def trainer_class(use_task_sampler: bool):
    """GRPOTrainer, or a subclass whose training prompts come from the task-mix sampler."""
    from trl import GRPOTrainer

    if not use_task_sampler:
        return GRPOTrainer

    from train.task_sampler import TaskMixSampler

    class TaskMixGRPOTrainer(GRPOTrainer):
        """GRPOTrainer drawing each generation batch's prompts by task weight (IWU)."""

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


# == checks before a job starts ==============================================================
def check_model_available(name: str) -> str:
    """Raise (FileNotFoundError / LookupError) if the recipe's model cannot be found, without loading it."""
    if name == "tiny":
        return "tiny (built in process)"
    if name == "demo":
        from train.demo_model import demo_model_dir, gguf_path, is_converted

        return str(demo_model_dir()) if is_converted(demo_model_dir()) else str(gguf_path())
    from train.models import resolve_model

    return resolve_model(name)[0]


def preflight(recipe: Recipe) -> dict:
    """Every check that can fail before a run starts: machine, rewards, prompts, model.

    Returns what was found (backend, prompt counts per task, model source); raises a
    clear error (RecipeError, TrainingError, FileNotFoundError, LookupError) otherwise."""
    plan = plan_model(recipe)
    rewards = reward_plan(recipe)
    train_rows, eval_rows = load_rows(recipe)
    commerce_db(recipe)
    source = check_model_available(recipe.model.name)

    def counts(rows):
        return {t: sum(r["task"] == t for r in rows) for t in recipe.tasks}

    return {"backend": plan.backend, "reason": plan.reason, "model": source, "rewards": [r[0] for r in rewards],
            "train_prompts": counts(train_rows), "eval_prompts": counts(eval_rows)}


# == main ======================================================================================
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


def main(recipe: Recipe, run_dir: str | Path, *, resume: bool = False, store=None, run_id: int | None = None,
         extra_callbacks: list | None = None) -> TrainResult:
    """Train `recipe` into `run_dir`. With `store` and `run_id`, metrics and checkpoints are
    recorded there too (the run row itself is managed by the caller, train.cli_train)."""
    started = time.perf_counter()
    s = setup(recipe, run_dir, resume=resume, store=store, run_id=run_id, extra_callbacks=extra_callbacks)
    # -- 6. train ---------------------------------------------------------------------------
    s.trainer.train(resume_from_checkpoint=str(s.checkpoint) if s.checkpoint else None)
    # -- 7. save ----------------------------------------------------------------------------
    step = s.trainer.state.global_step
    reason = "max_steps" if step >= recipe.grpo.max_steps else "early_stopping"
    s.trainer.save_model(str(s.run_dir / "final"))
    result = _result(s.run_dir, s.state, step, reason, time.perf_counter() - started)
    _write_json(s.run_dir / "summary.json", result.to_dict())
    logger.info("done at step %d (%s); best %s %.4f at step %s -> %s", step, reason, METRIC,
                result.best_score if result.best_score is not None else math.nan, result.best_step,
                s.run_dir / BEST_DIR)
    return result


def setup(recipe: Recipe, run_dir: str | Path, *, resume: bool = False, store=None, run_id: int | None = None,
          extra_callbacks: list | None = None) -> Setup:
    """Phases 1-5: config, data, model, rewards, trainer."""
    from transformers import EarlyStoppingCallback, PrinterCallback

    from train.task_sampler import TaskWeights

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
                           run_id=run_id, max_steps=recipe.grpo.max_steps)
    callbacks = [EvalRewardMetric(rewards.names, recipe.tasks)]
    if recipe.rewards.iwu:
        callbacks.append(IWUCallback(state, weights, rewards.names, recipe.rewards.iwu_params))
    callbacks += [BestCheckpoint(run_dir, state, rewards.names), recorder,
                  EarlyStoppingCallback(early_stopping_patience=recipe.grpo.early_stopping_patience,
                                        early_stopping_threshold=recipe.grpo.early_stopping_threshold),
                  *(extra_callbacks or [])]
    cls = trainer_class(recipe.rewards.iwu)
    trainer = cls(model=model, reward_funcs=rewards.funcs, args=config, train_dataset=train_ds,
                  eval_dataset=eval_ds, processing_class=loaded.tokenizer, peft_config=peft_config,
                  callbacks=callbacks)
    trainer.task_weights = weights
    trainer.remove_callback(PrinterCallback)  # train.log and metrics.jsonl say it once, in our names
    return Setup(recipe=recipe, run_dir=run_dir, trainer=trainer, state=state, checkpoint=checkpoint,
                 rewards=rewards, plan=plan)


def _initial_state(recipe: Recipe, run_dir: Path, checkpoint: Path | None) -> RunState:
    """Fresh uniform weights, or the checkpoint's weights and the best so far (also from
    best_checkpoint/, which may be newer than the checkpoint resumed from)."""
    state = RunState(weights={t: 1.0 / len(recipe.tasks) for t in recipe.tasks})
    if checkpoint is not None:
        state = RunState.load(checkpoint / STATE_FILE)
    best = read_best(run_dir)
    if best and (state.best_score is None or best["score"] > state.best_score):
        state.best_step, state.best_score = best["step"], best["score"]
    return state


def _result(run_dir: Path, state: RunState, step: int, reason: str, seconds: float) -> TrainResult:
    # Evaluations as metrics.jsonl recorded them (a step evaluated again after a resume: the last one).
    evals = {r["step"]: r for r in _read_jsonl(run_dir / "metrics.jsonl") if r.get("kind") == "eval"}

    def per_task(row: dict | None) -> dict:
        return {k.split("/", 1)[1]: v for k, v in (row or {}).items()
                if k.startswith("task_reward/") and v is not None}

    first = evals[min(evals)] if evals else None
    return TrainResult(run_dir=run_dir, global_step=step, stop_reason=reason, best_step=state.best_step,
                       best_score=state.best_score, wall_seconds=round(seconds, 1), first_eval=per_task(first),
                       best_eval=per_task(evals.get(state.best_step)))


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


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


if __name__ == "__main__":  # python -m train.grpo ... is the train command without the dispatcher
    import sys

    from audit_app.cli import main as cli_main

    sys.exit(cli_main(["train", *sys.argv[1:]]))
