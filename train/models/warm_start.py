"""The demo's base model: SmolLM2-135M-Instruct warm-started on good answers to train prompts.

    path = ensure_warm_demo()            # <home>/models/SmolLM2-135M-Instruct-warm, built once
    warm_start(base_dir, out_dir, train_rows, eval_rows, WarmStartSpec())   # the step itself

Why: GRPO improves what a model already does sometimes; it cannot invent a format the
model never writes. The raw demo model answers an extraction prompt with "Averes, averes,
..." and a SQL question with `CREATE TABLE`, so every completion of a group scores the same
and GRPO gets no gradient. Real pipelines start GRPO from an instruction-tuned model; this
is the demo's version of that step: supervised fine-tuning (TRL's SFTTrainer, LoRA, loss on
the completion only) on `data.gold.gold_answer` of a few hundred train prompts (the gold-label
JSON, the reference SQL with a Portuguese explanation, a brief-faithful push, a
data-grounded analysis), merged into a plain Hugging Face folder. It teaches the formats;
it does not make the answers right (a 135M model guesses labels, SQL and figures), which
leaves GRPO something to improve.

Held apart from evaluation: no train row whose prompt id or normalised user text is in the
eval set is used, and `warm_start.json` lists the prompt ids used, so a later eval set is
checked against them (`overlap`): a cached model that saw an eval prompt is rebuilt.

Cost on CPU: a forward and backward pass over prompt + answer (250-1,100 tokens); 296
examples (144 of them pushes) took 25 minutes on 2 cores (docs/train.md, "The CPU demo recipe"). The folder is
built once, written to a temporary sibling (marker `warm_start.json` included) and renamed
into place, as the demo conversion does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from data import paths
from data.gold import gold_answer
from data.prompts import load_prompts, normalise, prompt_text
from data.store import progress
from rewards.types import TASKS
from train.models.demo import DEMO_NAME, ensure_demo_model

logger = logging.getLogger(__name__)

WARM_NAME = f"{DEMO_NAME}-warm"
MARKER = "warm_start.json"


class WarmStartError(ValueError):
    """The warm start cannot be built as asked (no train prompts, no gold answers...)."""


@dataclass(frozen=True)
class WarmStartSpec:
    """What the warm start trains on and how. Defaults: the demo's (see docs/train.md).

    `per_task`: examples per task. Push answers are short, so its examples are cheap;
    sql_qa and insights answers run to 350-450 tokens on top of 330-620 prompt tokens.
    Push gets nearly all of the small build's 148 train pushes: with 64 the model stopped
    after its first sentence about half the time, and whether GRPO then learned push was
    luck of the seed (docs/train.md, "The CPU demo recipe")."""

    per_task: dict[str, int] = dataclasses.field(
        default_factory=lambda: {"extraction": 64, "sql_qa": 48, "insights": 40, "push": 144})
    epochs: float = 1.0
    learning_rate: float = 3.0e-4
    lora_r: int = 16
    lora_alpha: int = 32
    batch_size: int = 1  # one sequence per pass: no padding, least memory on a CPU
    grad_accum: int = 8
    max_length: int = 1280  # the longest prompt (620) + the longest gold answer (570) fit
    seed: int = 0

    def __post_init__(self):
        bad = {t: n for t, n in self.per_task.items() if t not in TASKS or not isinstance(n, int) or n < 0}
        if bad or not any(self.per_task.values()):
            raise WarmStartError(f"per_task must give tasks of {', '.join(TASKS)} a count >= 0 (one above 0), "
                                 f"got {self.per_task}")
        if self.epochs <= 0 or self.learning_rate <= 0 or min(self.lora_r, self.lora_alpha, self.batch_size,
                                                               self.grad_accum, self.max_length) < 1:
            raise WarmStartError(f"warm start settings out of range: {self}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# -- the examples ------------------------------------------------------------------------------
def select_examples(train_rows: list[dict], eval_rows: list[dict], spec: WarmStartSpec) -> list[dict]:
    """Train rows for the warm start: `per_task` of each task (seeded draw), with a gold answer,
    none sharing a prompt id or normalised user text with the eval rows."""
    held = {r["prompt_id"] for r in eval_rows} | {normalise(prompt_text(r)) for r in eval_rows}
    rng = random.Random(spec.seed)
    picked = []
    for task, want in spec.per_task.items():
        pool = [r for r in train_rows if r["task"] == task and r["prompt_id"] not in held
                and normalise(prompt_text(r)) not in held]
        rng.shuffle(pool)
        taken = []
        for row in pool:
            if len(taken) == want:
                break
            if gold_answer(row) is not None:
                taken.append(row)
        if len(taken) < want:
            raise WarmStartError(f"the train prompts hold {len(taken)} {task} rows with a gold answer outside the "
                                 f"eval set; the warm start wants {want} (rebuild the data: tucano-audit data build)")
        picked += taken
    rng.shuffle(picked)
    return picked


def sft_records(rows: list[dict]) -> list[dict]:
    """TRL's conversational prompt-completion format: the loss falls on the completion only."""
    return [{"prompt": row["prompt"], "completion": [{"role": "assistant", "content": gold_answer(row)}]}
            for row in rows]


def overlap(marker: dict, eval_rows: list[dict]) -> list[str]:
    """Eval prompt ids whose prompt the warm start trained on (by id or normalised text)."""
    ids, texts = set(marker.get("prompt_ids", [])), set(marker.get("prompt_texts", []))
    return [r["prompt_id"] for r in eval_rows if r["prompt_id"] in ids or _digest(r) in texts]


def _digest(row: dict) -> str:
    return hashlib.sha1(normalise(prompt_text(row)).encode()).hexdigest()[:16]


# -- training ------------------------------------------------------------------------------------
def sft_trainer(base_dir: str | Path, rows: list[dict], spec: WarmStartSpec, out_dir: str | Path, *,
                on_log: Callable[[int, int, dict], None] | None = None):
    """TRL's SFTTrainer for `rows` (prompt rows with gold answers): LoRA on every linear layer,
    loss on the completion only. `on_log(step, total, logs)` at every logging step."""
    # Lazy: TRL, PEFT and torch are optional heavy dependencies loaded only to train.
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    steps_total = max(1, int(-(-len(rows) * spec.epochs // (spec.batch_size * spec.grad_accum))))

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if on_log is not None and logs:
                on_log(state.global_step, steps_total, logs)

    config = SFTConfig(
        output_dir=str(out_dir), per_device_train_batch_size=spec.batch_size,
        gradient_accumulation_steps=spec.grad_accum, num_train_epochs=spec.epochs,
        learning_rate=spec.learning_rate, lr_scheduler_type="cosine", warmup_steps=0.1,
        max_length=spec.max_length, completion_only_loss=True, seed=spec.seed, data_seed=spec.seed,
        logging_steps=1, save_strategy="no", report_to=[], disable_tqdm=True, use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
    )
    trainer = SFTTrainer(
        model=model, args=config, train_dataset=Dataset.from_list(sft_records(rows)), processing_class=tokenizer,
        peft_config=LoraConfig(r=spec.lora_r, lora_alpha=spec.lora_alpha, lora_dropout=0.0,
                               target_modules="all-linear", task_type="CAUSAL_LM"),
        callbacks=[Progress()],
    )
    trainer.remove_callback(PrinterCallback)  # progress goes through on_log, once
    return trainer


def warm_start(base_dir: str | Path, out_dir: str | Path, train_rows: list[dict], eval_rows: list[dict],
               spec: WarmStartSpec | None = None, *, on_step: Callable[[int, int, dict], None] | None = None) -> Path:
    """SFT `base_dir` with LoRA on gold answers, merge, and write a plain model folder at `out_dir`.

    `on_step(step, total, logs)` is called at every logging step (progress). Returns `out_dir`,
    which holds MARKER (settings, prompt ids, loss, seconds) once complete."""
    import torch  # lazy, as in sft_trainer

    spec = spec or WarmStartSpec()
    base_dir, out_dir = Path(base_dir), Path(out_dir)
    rows = select_examples(train_rows, eval_rows, spec)
    started = time.perf_counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    losses: list[float] = []

    def logged(step: int, total: int, logs: dict) -> None:
        if "loss" in logs:
            losses.append(float(logs["loss"]))
        if on_step is not None:
            on_step(step, total, logs)

    try:
        trainer = sft_trainer(base_dir, rows, spec, work / "sft", on_log=logged)
        tokenizer = trainer.processing_class
        trainer.train()
        # Merged in full precision into a plain folder: every loader reads it without PEFT,
        # and GRPO's own LoRA adapter later sits on top of it.
        merged = work / "merged"
        trainer.model.merge_and_unload().save_pretrained(str(merged))
        tokenizer.save_pretrained(str(merged))
        marker = {
            "base": str(base_dir.resolve()), "spec": spec.to_dict(), "examples": len(rows),
            "per_task": {t: sum(r["task"] == t for r in rows) for t in spec.per_task},
            "prompt_ids": [r["prompt_id"] for r in rows], "prompt_texts": [_digest(r) for r in rows],
            "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
            "seconds": round(time.perf_counter() - started, 1), "torch_threads": torch.get_num_threads(),
        }
        (merged / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)  # an older or unfinished warm start being replaced
        os.replace(merged, out_dir)  # whole, marker included, or not there at all
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir


# -- the demo's cached base ----------------------------------------------------------------------
def warm_dir() -> Path:
    return paths.models_dir() / WARM_NAME


def read_marker(folder: Path) -> dict | None:
    path = Path(folder) / MARKER
    if not (path.is_file() and (Path(folder) / "config.json").is_file()):
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def ensure_warm_demo(spec: WarmStartSpec | None = None, *, train_path: Path | None = None,
                     eval_path: Path | None = None, base: Path | None = None, on_step=None,
                     say: Callable[[str], None] = print) -> Path:
    """The warm-started demo model folder; builds it first (from `base`, default the converted
    demo model) when it is missing, unfinished, built with other settings than `spec`, or
    trained on a prompt the current eval set holds. Needs the home's prompt sets."""
    train_path, eval_path = train_path or paths.train_prompts(), eval_path or paths.eval_prompts()
    target = warm_dir()
    marker = read_marker(target)
    eval_rows = load_prompts(eval_path) if eval_path.is_file() else []
    spec = spec or WarmStartSpec()
    if marker is not None:
        shared = overlap(marker, eval_rows)
        if not shared and marker.get("spec") == spec.to_dict():
            return target
        if shared:
            say(f"the warm-started demo model trained on {len(shared)} prompt(s) of the current eval set "
                f"(e.g. {shared[0]}): building it again on train prompts only")
        else:  # a cached model of older settings would hide what the current ones give
            say(f"the warm-started demo model was built with other settings ({marker.get('spec')}): "
                f"building it again with {spec.to_dict()}")
    if not train_path.is_file():
        raise WarmStartError(f"the demo model `demo` is warm-started on the home's train prompts and {train_path} "
                             "does not exist: run `tucano-audit data build` first (or use `demo-raw`, the model "
                             "as shipped)")
    if on_step is None:
        def on_step(step: int, total: int, logs: dict) -> None:
            loss = f", loss {logs['loss']:.3f}" if "loss" in logs else ""
            progress.report(step, total, f"step {step}/{total}{loss}", stage="warm-starting the demo model")
    say(f"warm-starting the demo model on gold answers of {sum(spec.per_task.values())} train prompts "
        f"(SFT + LoRA, once; several minutes on CPU) -> {target}")
    return warm_start(base or ensure_demo_model(), target, load_prompts(train_path), eval_rows, spec,
                      on_step=on_step)
