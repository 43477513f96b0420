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
a half batch. Progress goes to `data.store.progress.report` after every decoding step
(train.models.progress: completions done, the share done within the batch, tokens,
tokens/s, ETA, the batch id the rows carry), which the job's row and the Sample page read.

Sampling that is not sampling: an endpoint may ignore the temperature (`transformers
serve` stays greedy unless told to sample). So with an endpoint, T > 0 and K > 1, the
first batch holding a whole prompt's K completions is checked before anything is stored:
if a prompt's completions are byte-identical the run stops with one line saying so
(NotSampling), or, with `allow_greedy`, every rollout of the run is stored with
`gen_params.identical_samples = true`.
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
from train.models.endpoint import EndpointError, EndpointModel
from train.models.generation import BatchInfo, GenParams, generate
from train.models.loading import load_model
from train.models.local import DEMO, resolve_local
from train.models.progress import LiveProgress


@dataclass(frozen=True)
class SampleRequest:
    model: str | None = DEMO           # "demo", "demo-raw", a local folder or a hub id; the served name with `endpoint`
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
    allow_greedy: bool = False         # store identical completions at T > 0, marked, instead of stopping


class NotSampling(EndpointError):
    """The endpoint answered a prompt's K completions at T > 0 with K identical texts."""


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
    identical_samples: bool = False  # stored with --allow-greedy although the server did not sample

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

    return load_model(resolve_local(request.model or DEMO), request.adapter)


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
    state = {"ids": [], "tokens": 0, "truncated": 0}
    on_progress(0, total, f"sampling {len(picked)} prompts x {request.per_prompt} with {loaded.backend}",
                force=True, stage="sampling", batch_id=batch_id, tokens_per_s=0.0, eta_s=None,
                model_id=loaded.model_id)
    live = LiveProgress(total, on_progress, stage="sampling", batch_id=batch_id, model_id=loaded.model_id)

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
        live.batch(info)

    check = SamplingCheck(request, picked) if loaded.backend == "endpoint" else None

    def store_batch(info: BatchInfo) -> None:
        ready = [info] if check is None else check.feed(info)
        if check is not None and check.identical:
            gen_params["identical_samples"] = True
        for item in ready:
            write_batch(item)

    started = time.perf_counter()
    generate(loaded, [p["prompt"] for p in picked], request.params, k=request.per_prompt,
             batch_size=request.batch_size, on_batch=store_batch,
             on_step=live.step if loaded.backend != "endpoint" else None)
    return SampleResult(
        batch_id=batch_id, model_id=loaded.model_id, checkpoint_id=loaded.checkpoint_id,
        backend=loaded.backend, reason=loaded.reason, prompts=len(picked), rollout_ids=state["ids"],
        new_tokens=state["tokens"], truncated=state["truncated"], seconds=time.perf_counter() - started,
        identical_samples=bool(check and check.identical),
    )


class SamplingCheck:
    """Holds batches back until one prompt has all K completions, then decides whether the
    server sampled at all (see the module docstring); `feed` returns the batches to store."""

    def __init__(self, request: SampleRequest, picked: list[dict]):
        self.request, self.picked = request, picked
        self.decided = not (request.params.temperature > 0 and request.per_prompt > 1)
        self.identical = False
        self.held: list[BatchInfo] = []
        self.texts: dict[int, dict[int, str]] = {}

    def feed(self, info: BatchInfo) -> list[BatchInfo]:
        if self.decided:
            return [info]
        self.held.append(info)
        for pi, j, gen in info.items:
            self.texts.setdefault(pi, {})[j] = gen.text
        whole = [pi for pi, texts in self.texts.items() if len(texts) == self.request.per_prompt]
        if not whole:
            return []
        self.decided = True
        same = [pi for pi in whole if len(set(self.texts[pi].values())) == 1]
        if same:
            if not self.request.allow_greedy:
                pid, k, t = self.picked[same[0]]["prompt_id"], self.request.per_prompt, self.request.params.temperature
                raise NotSampling(
                    f"the endpoint answered the {k} completions of prompt {pid} with {k} identical texts at "
                    f"temperature {t:g}: it is not sampling (greedy decoding); nothing was stored. Check the "
                    "server's sampling settings, or pass --allow-greedy to store them marked as identical")
            self.identical = True
        held, self.held = self.held, []
        return held


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
