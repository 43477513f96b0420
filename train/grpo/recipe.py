"""Training recipes: typed YAML files in train/grpo/recipes/, one per model and machine.

A recipe is read into frozen dataclasses (`Recipe` with `model`, `lora`, `data`,
`rewards`, `grpo` sections). Reading is strict, because a typo in a recipe otherwise
costs a GPU run: an unknown key or a value of the wrong type raises `RecipeError`
naming the file and the dotted key; values that cannot work together (a batch that does
not hold whole prompt groups, a task that does not exist) raise before anything loads.

    recipe = load_recipe("tiny")                   # a name in train/grpo/recipes/ or a path
    recipe = recipe.with_overrides({"grpo.seed": 123}, exclude_tasks=["push"])
    recipe.to_dict()                               # the snapshot a run records
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rewards.types import TASKS
from train.grpo.recipe_rules import RecipeError, validate

RECIPES_DIR = Path(__file__).with_name("recipes")

@dataclass(frozen=True)
class ModelSection:
    name: str  # hub id, local folder, or "tiny" / "demo" / "demo-raw" (train.models.local)
    backend: str = "auto"  # auto: Unsloth when CUDA and unsloth are present, else transformers
    load_in_4bit: bool = False  # bitsandbytes 4-bit (CUDA only)
    quant_type: str = "nf4"
    precision: str = "auto"  # auto: bf16 on CUDA when supported, fp32 on CPU
    gradient_checkpointing: bool = False


@dataclass(frozen=True)
class LoraSection:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: str | list[str] = "all-linear"


@dataclass(frozen=True)
class DataSection:
    train: str | None = None  # default: data.paths.train_prompts()
    eval: str | None = None  # default: data.paths.eval_prompts()
    db: str | None = None  # commerce database for sql_qa; default: data.paths.commerce_db()
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    train_limit: int | None = None  # keep the first N train prompts per task (small machines)
    eval_limit: int | None = None  # keep the first N eval prompts per task
    # Choose the best checkpoint on train prompts held out from training (the eval_limit rows
    # per task after the first train_limit) instead of the eval set, which then stays unseen
    # until `compare` measures the run on it.
    eval_from_train: bool = False
    # How often each task's prompts are drawn at the start (task -> weight, normalised over the
    # run's tasks; a task left out weighs 1). IWU, when on, moves them from there.
    task_weights: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RewardsSection:
    # sum: one reward per task, summed (None rows of other tasks ignored) then group-centred;
    # gdpo: one reward per component, each normalised within its group, then summed
    # (TRL multi_objective_aggregation="normalize_then_sum").
    aggregation: str = "sum"
    names: dict[str, str] = field(default_factory=dict)  # task -> reward name, e.g. sql_qa: sql_qa_heuristic
    iwu: bool = True  # task weights from rewards.iwu decide how often each task is sampled
    iwu_params: dict[str, float] = field(default_factory=dict)  # eta, lam for rewards.iwu.iwu_update


@dataclass(frozen=True)
class GRPOSection:
    learning_rate: float = 5.0e-6
    lr_scheduler_type: str = "constant_with_warmup"
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    beta: float = 0.0  # KL coefficient; 0 = no reference model
    scale_rewards: str = "none"  # Dr. GRPO: no division by the group's reward std
    loss_type: str = "dr_grpo"
    epsilon: float = 0.2
    num_generations: int = 16
    num_generations_eval: int = 4
    max_completion_length: int = 512
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    prompts_per_step: int = 2
    micro_batch_size: int = 16  # completions per forward/backward pass
    eval_batch_size: int = 16  # completions per evaluation batch
    max_steps: int = 1500
    eval_steps: int = 50
    save_steps: int = 100
    save_total_limit: int | None = None
    logging_steps: int = 1
    early_stopping_patience: int = 6  # evaluations without improvement before stopping
    early_stopping_threshold: float = 0.0
    eval_on_start: bool = True  # the step-0 evaluation is the baseline the run must beat
    seed: int = 42
    use_vllm: bool = False
    vllm_mode: str = "colocate"


@dataclass(frozen=True)
class Recipe:
    name: str
    model: ModelSection
    description: str = ""
    lora: LoraSection | None = field(default_factory=LoraSection)  # null = full fine-tuning
    data: DataSection = field(default_factory=DataSection)
    rewards: RewardsSection = field(default_factory=RewardsSection)
    grpo: GRPOSection = field(default_factory=GRPOSection)
    excluded_tasks: list[str] = field(default_factory=list)  # set by a launch, recorded with the run
    source: str | None = field(default=None, compare=False)  # file it was read from (not part of the snapshot)

    # -- derived values -----------------------------------------------------------------
    @property
    def tasks(self) -> list[str]:
        """The task mix this run trains on (the data section's tasks minus exclusions)."""
        return [t for t in self.data.tasks if t not in self.excluded_tasks]

    @property
    def start_weights(self) -> dict[str, float]:
        """The task mix's first sampling weights, normalised over the run's tasks."""
        raw = {t: float(self.data.task_weights.get(t, 1.0)) for t in self.tasks}
        total = sum(raw.values())
        return {t: w / total for t, w in raw.items()}

    @property
    def completions_per_step(self) -> int:
        return self.grpo.prompts_per_step * self.grpo.num_generations

    @property
    def gradient_accumulation_steps(self) -> int:
        return self.completions_per_step // self.grpo.micro_batch_size

    def to_dict(self) -> dict:
        """The snapshot stored with a run (plain JSON types, no source path)."""
        out = dataclasses.asdict(self)
        out.pop("source", None)
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]

    def with_overrides(self, overrides: dict | None = None, *, exclude_tasks=None) -> Recipe:
        """A copy with dotted-key overrides (e.g. {"grpo.seed": 7}) and tasks excluded, re-validated."""
        data = self.to_dict()
        for dotted, value in (overrides or {}).items():
            node = data
            *parents, leaf = dotted.split(".")
            for key in parents:
                if not isinstance(node.get(key), dict):
                    raise RecipeError(f"recipe {self.name}: cannot override {dotted!r}: {key!r} is not a section")
                node = node[key]
            node[leaf] = value
        if exclude_tasks:
            excluded = list(dict.fromkeys([*data.get("excluded_tasks", []), *exclude_tasks]))
            data["excluded_tasks"] = excluded
        return recipe_from_dict(data, source=self.source or self.name)


# -- reading ------------------------------------------------------------------------------
def recipe_path(name_or_path: str | Path) -> Path:
    """A recipe name (file stem in train/grpo/recipes/) or a path -> an existing file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise RecipeError(f"recipe file not found: {path}")
        return path
    candidate = RECIPES_DIR / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    raise RecipeError(f"unknown recipe {str(name_or_path)!r}; bundled recipes: {', '.join(list_recipes())}")


def list_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def load_recipe(name_or_path: str | Path) -> Recipe:
    """Read and validate a recipe file; every problem raises RecipeError naming the key."""
    path = recipe_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RecipeError(f"recipe {path}: not valid YAML: {exc}") from exc
    return recipe_from_dict(data, source=str(path))


def recipe_from_dict(data, *, source: str = "<dict>") -> Recipe:
    if not isinstance(data, dict):
        raise RecipeError(f"recipe {source}: the top level must be a mapping of sections")
    recipe = _build(Recipe, data, source, prefix="")
    recipe = dataclasses.replace(recipe, source=source)
    validate(recipe)
    return recipe


def _build(cls, data: dict, source: str, prefix: str):
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name != "source"]
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean {prefix + close[0]!r}?" if close else f"; valid keys: {', '.join(names)}"
            raise RecipeError(f"recipe {source}: unknown key {dotted!r}{hint}")
        kwargs[key] = _coerce(hints[key], value, source, dotted)
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise RecipeError(f"recipe {source}: missing key {prefix}{missing[0]!r}")
    return cls(**kwargs)


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "a section (mapping)"
    return {int: "an integer", float: "a number", str: "text", bool: "true/false", type(None): "null",
            list: "a list", dict: "a mapping"}.get(origin or tp, str(tp))


def _coerce(tp, value, source: str, dotted: str):
    """Check `value` against the annotation `tp`; sections recurse. Returns the value to store."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            # A mapping or list that matches a section/list member: report the error inside it.
            if (isinstance(value, dict) and (dataclasses.is_dataclass(arg) or typing.get_origin(arg) is dict)) or (
                isinstance(value, list) and typing.get_origin(arg) is list
            ):
                return _coerce(arg, value, source, dotted)
        for arg in typing.get_args(tp):
            try:
                return _coerce(arg, value, source, dotted)
            except RecipeError:
                continue
        raise _type_error(tp, value, source, dotted)
    if tp is type(None):
        if value is None:
            return None
        raise _type_error(tp, value, source, dotted)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _type_error(tp, value, source, dotted)
        return _build(tp, value, source, prefix=f"{dotted}.")
    if origin is list:
        if not isinstance(value, list):
            raise _type_error(tp, value, source, dotted)
        (item,) = typing.get_args(tp)
        return [_coerce(item, v, source, f"{dotted}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _type_error(tp, value, source, dotted)
        key_tp, val_tp = typing.get_args(tp)
        return {_coerce(key_tp, k, source, f"{dotted} key"): _coerce(val_tp, v, source, f"{dotted}.{k}")
                for k, v in value.items()}
    # bool is an int in Python; a recipe's `true` must never pass for a number (or vice versa).
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    raise _type_error(tp, value, source, dotted)


def _type_error(tp, value, source: str, dotted: str) -> RecipeError:
    hint = ""
    if isinstance(value, str) and _looks_numeric(value):
        # PyYAML follows YAML 1.1: 5e-6 is text, 5.0e-6 is a number.
        hint = " (YAML reads numbers like 5e-6 as text; write 5.0e-6)"
    return RecipeError(
        f"recipe {source}: {dotted} must be {_type_name(tp)}, got {type(value).__name__} {value!r}{hint}"
    )


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
