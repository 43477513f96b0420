"""The sample service: pick prompts, generate K completions each, score and store them.

    request = SampleRequest(model="demo", tasks=("push", "sql_qa"), prompts_per_task=4, per_prompt=4,
                            params=GenParams(temperature=1.0, max_new_tokens=256, seed=7))
    result = run_sampling(store, request)       # SampleResult: batch_id, rollout_ids, tokens/s...

Phases, in order, so every mistake surfaces before a model is loaded: check the request
(tasks, K, counts), read and validate the prompt set (an unknown task names its line),
pick prompts (stratified: per task, round-robin over the strata data gives them, seeded),
resolve the model (the demo model, a folder or hub id, an adapter, or an OpenAI-compatible
endpoint) and only then load it and generate.

Writing: after every generation batch its rows go to `store.add_rollouts` in one
transaction; the store scores each with the task's current default reward and records the
reward version. A job killed mid-way therefore keeps every finished batch whole and never
a half batch. Progress (done/total, tokens/s, ETA, the batch id the rows carry) goes to
`data.store.progress.report`, which the job's row and the Sample page read.
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from data import paths
from data.prompts import load_prompts
from data.store.progress import current_job_id
from data.store.progress import report as report_progress
from rewards.types import TASKS
from train.models.demo import ensure_demo_model
from train.models.endpoint import EndpointModel
from train.models.generation import BatchInfo, GenParams, generate
from train.models.loading import load_model

DEMO = "demo"


@dataclass(frozen=True)
class SampleRequest:
    model: str | None = DEMO           # "demo", a local folder or a hub id; the served name with `endpoint`
    adapter: str | None = None         # LoRA checkpoint folder
    endpoint: str | None = None        # OpenAI-compatible server URL (vLLM `vllm serve`)
    tasks: tuple[str, ...] = TASKS
    prompts_per_task: int = 4
    per_prompt: int = 4                # K completions per prompt
    params: GenParams = field(default_factory=GenParams)
    prompts_file: str | None = None    # JSONL prompt rows; default: the train split
    prompt_ids: tuple[str, ...] | None = None  # sample exactly these prompts instead
    batch_size: int = 8
    batch_id: str | None = None


@dataclass
class SampleResult:
    batch_id: str
    model_id: str
    checkpoint_id: str | None
    backend: str
    reason: str
    prompts: int
    rollout_ids: list[int]
    new_tokens: int
    truncated: int
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0


def new_seed() -> int:
    return secrets.randbelow(2**31)


def check_request(request: SampleRequest) -> None:
    """Raise ValueError naming the first thing wrong with `request` (no I/O)."""
    bad = [t for t in request.tasks if t not in TASKS]
    if bad or not request.tasks:
        raise ValueError(f"unknown task(s) {', '.join(bad) or '(none given)'}; valid tasks: {', '.join(TASKS)}")
    if not isinstance(request.per_prompt, int) or request.per_prompt < 1:
        raise ValueError(f"--per-prompt (K completions per prompt) must be at least 1, got {request.per_prompt}")
    if request.prompt_ids is None and (not isinstance(request.prompts_per_task, int)
                                       or request.prompts_per_task < 1):
        raise ValueError(f"--prompts (prompts per task) must be at least 1, got {request.prompts_per_task}")
    if not isinstance(request.batch_size, int) or request.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {request.batch_size}")
    if not isinstance(request.params, GenParams):
        raise TypeError("request.params must be a GenParams")
    if request.endpoint is None and request.model is not None and not str(request.model).strip():
        raise ValueError("--model is empty")


def load_prompt_rows(request: SampleRequest) -> list[dict]:
    """The validated prompt set the request draws from (unknown tasks name their line)."""
    path = Path(request.prompts_file) if request.prompts_file else paths.train_prompts()
    return load_prompts(path)


def pick_prompts(rows: list[dict], tasks, per_task: int, *, seed: int,
                 prompt_ids: tuple[str, ...] | None = None) -> list[dict]:
    """Prompts to sample: the given ids (in order), or `per_task` per task, stratified.

    Within a task, strata (e.g. extraction's star ratings) take turns, each shuffled with
    `seed`, so four extraction prompts cover four ratings rather than whatever came first.
    """
    if prompt_ids is not None:
        by_id = {r["prompt_id"]: r for r in rows}
        missing = [p for p in prompt_ids if p not in by_id]
        if missing:
            raise LookupError(f"prompt id(s) not in the prompt set: {', '.join(missing[:5])}"
                              + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        picked = [by_id[p] for p in dict.fromkeys(prompt_ids)]
        other = sorted({r["task"] for r in picked} - set(tasks))
        if other:
            raise ValueError(f"prompt id(s) of task(s) {', '.join(other)} given, but --tasks is {' '.join(tasks)}")
        return picked
    rng = random.Random(seed)
    picked = []
    for task in tasks:
        strata: dict[str, list[dict]] = {}
        for r in rows:
            if r["task"] == task:
                strata.setdefault(r.get("stratum") or task, []).append(r)
        for members in strata.values():
            rng.shuffle(members)
        queues = [strata[s] for s in sorted(strata)]
        rng.shuffle(queues)  # which stratum starts is part of the draw too
        taken: list[dict] = []
        while len(taken) < per_task and any(queues):
            for q in queues:
                if q and len(taken) < per_task:
                    taken.append(q.pop())
        picked.extend(taken)
    if not picked:
        raise ValueError(f"the prompt set has no prompts for task(s) {', '.join(tasks)}")
    return picked


def open_model(request: SampleRequest):
    """The LoadedModel (or EndpointModel) the request names; raises before loading on bad input."""
    if request.endpoint:
        if request.adapter:
            raise ValueError("--adapter does not apply to --endpoint: serve the adapter with the endpoint "
                             "(vLLM --lora-modules NAME=DIR) and pass --model NAME")
        model = None if request.model in (None, DEMO) else request.model
        return EndpointModel(request.endpoint, model).check()

    model = request.model or DEMO
    if model == DEMO:
        model = str(ensure_demo_model())
    return load_model(model, request.adapter)


def clean_text(text: str) -> str:
    """The completion as stored: a NUL (which a byte-level model can emit) becomes U+FFFD,
    since SQLite text and the store refuse NUL characters."""
    return text.replace("\x00", "\ufffd")


def default_batch_id() -> str:
    job = current_job_id()
    if job is not None:
        return f"job-{job}"
    return "sample-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{secrets.token_hex(3)}"


def run_sampling(store, request: SampleRequest, *, on_progress=None) -> SampleResult:
    """Sample, score and store; see the module docstring. `on_progress(done, total, message,
    **extra)` defaults to data.store.progress.report (prints; records it inside a job)."""
    if on_progress is None:
        on_progress = report_progress
    check_request(request)
    rows = load_prompt_rows(request)
    picked = pick_prompts(rows, request.tasks, request.prompts_per_task, seed=request.params.seed,
                          prompt_ids=request.prompt_ids)
    loaded = open_model(request)
    batch_id = request.batch_id or default_batch_id()
    store.add_prompts(picked)
    gen_params = request.params.to_dict()
    total = len(picked) * request.per_prompt
    state = {"ids": [], "tokens": 0, "truncated": 0, "rate": 0.0, "eta": None}
    on_progress(0, total, f"sampling {len(picked)} prompts x {request.per_prompt} with {loaded.backend}",
                force=True, batch_id=batch_id, tokens_per_s=0.0, eta_s=None, model_id=loaded.model_id)

    def write_batch(info: BatchInfo) -> None:
        rows_out = [{
            "prompt_id": picked[pi]["prompt_id"], "model_id": loaded.model_id,
            "checkpoint_id": loaded.checkpoint_id, "gen_params": gen_params, "sample_index": j,
            "completion": clean_text(g.text), "prompt_tokens": g.prompt_tokens, "completion_tokens": g.completion_tokens,
            "truncated": g.truncated, "source": "sample", "batch_id": batch_id,
        } for pi, j, g in info.items]
        state["ids"].extend(store.add_rollouts(rows_out))  # one transaction per batch
        state["tokens"] += info.new_tokens
        state["truncated"] += sum(g.truncated for _, _, g in info.items)
        rate = state["tokens"] / info.elapsed if info.elapsed > 0 else 0.0
        eta = info.elapsed / info.done * (info.total - info.done) if info.done else None
        state["rate"], state["eta"] = round(rate, 2), None if eta is None else round(eta, 1)
        on_progress(info.done, info.total, f"completions, {rate:.1f} tokens/s",
                    force=info.done == info.total, batch_id=batch_id, tokens_per_s=round(rate, 2),
                    eta_s=None if eta is None else round(eta, 1), new_tokens=state["tokens"],
                    truncated=state["truncated"], model_id=loaded.model_id)

    last_step_report = [0.0]

    def step_progress(batch_index: int, batches: int, step: int, max_steps: int) -> None:
        # Between batches, say where the current one is (at most every 2 s: it prints a line).
        now = time.monotonic()
        if now - last_step_report[0] < 2.0:
            return
        last_step_report[0] = now
        done = batch_index * request.batch_size
        on_progress(min(done, total), total, f"batch {batch_index + 1}/{batches}: token {step}/{max_steps}",
                    batch_id=batch_id, model_id=loaded.model_id, tokens_per_s=state["rate"], eta_s=state["eta"],
                    new_tokens=state["tokens"], truncated=state["truncated"])

    started = time.perf_counter()
    generate(loaded, [p["prompt"] for p in picked], request.params, k=request.per_prompt,
             batch_size=request.batch_size, on_batch=write_batch,
             on_step=step_progress if loaded.backend != "endpoint" else None)
    return SampleResult(
        batch_id=batch_id, model_id=loaded.model_id, checkpoint_id=loaded.checkpoint_id,
        backend=loaded.backend, reason=loaded.reason, prompts=len(picked), rollout_ids=state["ids"],
        new_tokens=state["tokens"], truncated=state["truncated"], seconds=time.perf_counter() - started,
    )


# -- for the Sample page ---------------------------------------------------------------------
def list_checkpoints(store=None) -> list[dict]:
    """LoRA checkpoints to sample from: {label, adapter, base_model, run, step}.

    First the checkpoints the store records for finished training runs (best first), then
    any adapter folder under <home>/runs/*/checkpoint-*/ or */best_checkpoint/ not seen yet
    and not belonging to a run that is still going.
    """
    import json as _json

    found: dict[str, dict] = {}
    unfinished_dirs: set[str] = set()

    def add(folder: Path, label: str, run, step) -> None:
        cfg_path = folder / "adapter_config.json"
        key = str(folder.resolve())
        if key in found or not cfg_path.is_file():
            return
        try:
            base = _json.loads(cfg_path.read_text(encoding="utf-8")).get("base_model_name_or_path")
        except (OSError, ValueError):
            return
        found[key] = {"label": label, "adapter": key, "base_model": base, "run": run, "step": step}

    if store is not None and hasattr(store, "list_runs"):
        for run in store.list_runs(limit=200):
            if run["status"] != "finished":
                if run.get("run_dir"):
                    unfinished_dirs.add(str(Path(run["run_dir"]).resolve()))
                continue
            checkpoints = sorted(store.list_checkpoints(run["id"]), key=lambda c: (not c["is_best"], -c["step"]))
            for c in checkpoints:
                tag = "best" if c["is_best"] else f"step {c['step']}"
                add(Path(c["path"]), f"{run['name']} ({tag})", run["id"], c["step"])
    root = paths.runs_dir()
    if root.is_dir():
        for folder in sorted([*root.glob("*/best_checkpoint"), *root.glob("*/checkpoint-*")]):
            if str(folder.parent.resolve()) in unfinished_dirs:
                continue
            add(folder, f"{folder.parent.name}/{folder.name}", None, None)
    return list(found.values())


def sample_argv(*, model: str, adapter: str | None, tasks, prompts: int, per_prompt: int, temperature: float,
                max_new_tokens: int, eval_split: bool = False, top_p: float = 1.0, seed: int | None = None,
                batch_size: int = 8, prompt_ids=None) -> list[str]:
    """The `tucano-audit sample ...` arguments a Sample-page form stands for (checked here);
    `prompt_ids` names exactly the prompts to sample (then `prompts` is ignored)."""
    params = GenParams(temperature=float(temperature), top_p=float(top_p), top_k=0,
                       max_new_tokens=int(max_new_tokens), seed=0 if seed is None else int(seed))
    check_request(SampleRequest(model=model, adapter=adapter, tasks=tuple(tasks), prompts_per_task=int(prompts),
                                per_prompt=int(per_prompt), params=params, batch_size=int(batch_size),
                                prompt_ids=tuple(prompt_ids) if prompt_ids else None))
    argv = ["sample", "--model", model, "--tasks", *tasks, "--prompts", str(int(prompts)),
            "--per-prompt", str(int(per_prompt)), "--temperature", repr(float(temperature)),
            "--top-p", repr(float(top_p)), "--max-new-tokens", str(int(max_new_tokens)),
            "--batch-size", str(int(batch_size))]
    if adapter:
        argv += ["--adapter", adapter]
    if eval_split:
        argv.append("--eval")
    if seed is not None:
        argv += ["--seed", str(int(seed))]
    if prompt_ids:
        argv += ["--prompt-ids", *prompt_ids]
    return argv
