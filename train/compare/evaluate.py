"""Base-versus-tuned evaluation: generate a completion for every eval prompt with the base
model and with each tuned adapter, score every completion with the task's reward, and
store the per-prompt results in the store; then write the report into the run folder.

    spec = CompareSpec(base="demo", adapters=(".tucano/runs/cpu-demo/best_checkpoint",))
    outcome = run_comparison(store, SYSTEM, spec)
    outcome["report"]["sides"]["cpu-demo/best_checkpoint"]["tasks"]["push"]["delta"]

How fairness is kept: every side sees the same prompts in the same chunks with the same
generation parameters and the same seed per chunk (seed + chunk number), so the only
difference between sides is the adapter. Parameters are explicit (GenParams); the
default temperature is 0.1, as the recipe we follow evaluated.

How an interruption is survived: prompts are cut into fixed chunks (eval-file order), and
a chunk's results for one side are stored in one transaction. The comparison is keyed by a
hash of everything that determines its outputs, so running the same command again finds it,
skips every (chunk, side) already stored and generates only the rest. Ctrl-C or SIGTERM
(the job runner's cancel) mark it "partial" and still write a report, marked PARTIAL at
the top; a SIGKILL leaves it "running" with whatever chunks finished, and the report's
completeness is always counted from the stored rows.

How a base side is reused: it depends on the base model, the prompts and the settings,
never on the tuned sides, so a later comparison of the same base (the next checkpoint)
copies its completions from the store and scores them again (train.compare.base_reuse).

Everything that can be wrong with the input (eval file missing or with unknown tasks, an
adapter trained on another base, samples < 1, temperature < 0) raises before any model loads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from data import paths
from data.prompts import load_prompts, reward_meta
from data.store import progress
from data.store.compare import BASE
from data.store.roles import User
from rewards.registry import default_reward_name, score
from rewards.types import TASKS
from rewards.versions import current_versions
from train.compare import base_reuse
from train.compare import report as report_mod
from train.compare.sides import adapter_fingerprint, file_sha256, side_label
from train.models.adapters import AdapterSet
from train.models.generation import GenParams, generate
from train.models.loading import check_adapter, hub_offline, load_model, resolve_adapter, resolve_model
from train.models.local import resolve_local
from train.models.progress import LiveProgress

DEFAULT_TEMPERATURE = 0.1
DEFAULT_MAX_NEW_TOKENS = 256
DEFAULT_SEED = 42
DEFAULT_CHUNK = 8
# Completions per prompt and side: at temperature 0.1 one completion often equals the other
# side's, and a mean over 4 ties less often (docs/compare.md).
DEFAULT_SAMPLES = 4


@dataclass(frozen=True)
class CompareSpec:
    """What to compare. `adapters`: one LoRA folder per tuned side (e.g. one per seed)."""

    base: str
    adapters: tuple[str, ...]
    eval_path: str | None = None  # default: data.paths.eval_prompts()
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    seed: int = DEFAULT_SEED
    samples: int = DEFAULT_SAMPLES
    tasks: tuple[str, ...] | None = None
    limit_per_task: int | None = None
    chunk_size: int = DEFAULT_CHUNK

    def params(self) -> GenParams:
        return GenParams(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k,
                         max_new_tokens=self.max_new_tokens, seed=self.seed)


@dataclass
class Plan:
    """A validated spec: resolved model and adapters, loaded prompts, the comparison key."""

    spec: CompareSpec
    base_source: str
    sides: list[dict]  # {label, adapter, checkpoint_id}
    eval_path: Path
    eval_sha256: str
    prompts: list[dict]  # prompt rows as data.prompts.load_prompts returns them
    tasks: list[str]
    reward_names: dict[str, str]
    reward_versions: dict[str, str]
    key: str = ""
    params: GenParams = field(default_factory=GenParams)
    base_key: str | None = None  # what the base side depends on (train.compare.base_reuse)

    def chunks(self) -> list[list[dict]]:
        n = self.spec.chunk_size
        return [self.prompts[i:i + n] for i in range(0, len(self.prompts), n)]


# -- planning (all checks, no model loaded) --------------------------------------------------

def resolve_base(base: str) -> str:
    """`demo` (the warm-started demo model), `demo-raw` (as shipped) or `tiny` name models built
    here (train.models.local); anything else goes to the loader."""
    return resolve_local(base)


def load_eval_prompts(path: Path, tasks: list[str] | None, limit_per_task: int | None) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"eval set {path} does not exist: build it with `tucano-audit data build` "
                                "or pass --eval FILE")
    try:
        rows = load_prompts(path, tasks=tasks)
    except KeyError as exc:  # a task the rewards registry does not know
        raise ValueError(f"eval set {path}: {exc.args[0] if exc.args else exc}") from exc
    if limit_per_task is not None:
        seen: dict[str, int] = {}
        kept = []
        for row in rows:
            seen[row["task"]] = seen.get(row["task"], 0) + 1
            if seen[row["task"]] <= limit_per_task:
                kept.append(row)
        rows = kept
    if not rows:
        wanted = ", ".join(tasks) if tasks else "any task"
        raise ValueError(f"eval set {path} has no prompts for {wanted}")
    ids = [r["prompt_id"] for r in rows]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise ValueError(f"eval set {path} repeats prompt ids: {dup}")
    return rows


def plan_comparison(spec: CompareSpec) -> Plan:
    """Validate everything and resolve names; raises ValueError / FileNotFoundError /
    LookupError subclasses with a message naming what is wrong. Loads no weights."""
    if not spec.adapters:
        raise ValueError("compare needs at least one --adapter (a LoRA checkpoint folder)")
    if not isinstance(spec.samples, int) or spec.samples < 1:
        raise ValueError(f"--samples must be an integer >= 1, got {spec.samples!r}")
    if not isinstance(spec.chunk_size, int) or spec.chunk_size < 1:
        raise ValueError(f"chunk size must be an integer >= 1, got {spec.chunk_size!r}")
    if spec.limit_per_task is not None and spec.limit_per_task < 1:
        raise ValueError(f"--limit-per-task must be >= 1, got {spec.limit_per_task}")
    params = spec.params()  # validates temperature, top_p, top_k, max_new_tokens, seed
    tasks = list(spec.tasks) if spec.tasks else None
    if tasks:
        unknown = [t for t in tasks if t not in TASKS]
        if unknown:
            raise ValueError(f"unknown task(s) {unknown}; valid tasks: {', '.join(TASKS)}")

    eval_path = Path(spec.eval_path) if spec.eval_path else paths.eval_prompts()
    prompts = load_eval_prompts(eval_path, tasks, spec.limit_per_task)
    present = [t for t in TASKS if any(r["task"] == t for r in prompts)]
    reward_names = {}
    for task in present:
        try:
            reward_names[task] = default_reward_name(task)
        except KeyError as exc:
            raise ValueError(f"eval set {eval_path}: no reward scores task {task!r} ({exc})") from exc
    versions = current_versions()
    reward_versions = {t: versions[t] for t in present}

    source, is_local = resolve_model(resolve_base(spec.base))
    sides, labels = [], set()
    for adapter in spec.adapters:
        adapter_dir = resolve_adapter(adapter)
        # Before any weight loads: the adapter's recorded base and tensor shapes must fit.
        check_adapter(adapter_dir, source, local_only=is_local or hub_offline())
        label = side_label(adapter_dir)
        while label in labels or label == BASE:
            label += "'"
        labels.add(label)
        sides.append({"label": label, "adapter": str(adapter_dir), "checkpoint_id": str(adapter_dir),
                      "fingerprint": adapter_fingerprint(adapter_dir)})
    plan = Plan(spec=spec, base_source=source, sides=sides, eval_path=eval_path.resolve(),
                eval_sha256=file_sha256(eval_path), prompts=prompts, tasks=present, reward_names=reward_names,
                reward_versions=reward_versions, params=params)
    plan.key = comparison_key(plan)
    plan.base_key = base_reuse.base_key(source, plan.eval_sha256, [p["prompt_id"] for p in prompts],
                                        params.to_dict(), spec.samples, spec.chunk_size)
    return plan


def comparison_key(plan: Plan) -> str:
    """Hash of everything that determines the outputs (the same key resumes)."""
    ident = {
        "base": plan.base_source, "sides": [(s["label"], s["fingerprint"]) for s in plan.sides],
        "eval": plan.eval_sha256, "prompts": [p["prompt_id"] for p in plan.prompts],
        "params": plan.params.to_dict(), "samples": plan.spec.samples, "chunk": plan.spec.chunk_size,
        "rewards": plan.reward_versions,
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def default_out_dir(plan: Plan, comparison_id: int) -> Path:
    """Inside the first adapter's run folder when it lives under runs/, else runs/compare-<id>."""
    root = paths.runs_dir().resolve()
    adapter = Path(plan.sides[0]["adapter"])
    try:
        run_id = adapter.relative_to(root).parts[0]
        return root / run_id / f"compare-{comparison_id}"
    except (ValueError, IndexError):
        return root / f"compare-{comparison_id}"


# -- running ---------------------------------------------------------------------------------

def _score(plan: Plan, row: dict, text: str):
    return score(row["task"], text, **reward_meta(row))


def _stored_meta(row: dict) -> dict:
    meta = dict(reward_meta(row))
    for k in ("db_path", "db_path_b", "prompt_text"):  # machine-specific, or the messages again
        meta.pop(k, None)
    for k in ("stratum", "topic", "rating"):
        if row.get(k) is not None:
            meta[k] = row[k]
    return meta


def run_comparison(store, actor: User, spec: CompareSpec | Plan, *, out_dir: str | Path | None = None,
                   job_id: int | None = None, on_chunk: Callable[[dict], None] | None = None,
                   loader: Callable | None = None) -> dict:
    """Run (or resume) a comparison and write its report.

    Returns {comparison_id, status, created, out_dir, paths, report, generated_chunks,
    reused_chunks, reused_from}: base chunks another comparison of the same base already
    generated are copied and scored again, not generated (`reused_from`: those comparisons'
    ids). `on_chunk(info)` is called after every stored (chunk, side). The base model is loaded
    once (`loader(base)`, default train.models.loading.load_model; tests may count calls)
    and every side's adapter is attached to it (train.models.adapters.AdapterSet).
    """
    plan = spec if isinstance(spec, Plan) else plan_comparison(spec)
    if loader is None:
        loader = load_model
    prompts_rows = [{"prompt_id": r["prompt_id"], "task": r["task"], "messages": r["prompt"],
                     "meta": _stored_meta(r)} for r in plan.prompts]
    cid, created = store.create_comparison(
        actor, key=plan.key, base_model=plan.base_source,
        sides=[{k: s[k] for k in ("label", "adapter", "checkpoint_id")} for s in plan.sides],
        eval_path=str(plan.eval_path), eval_sha256=plan.eval_sha256,
        gen_params={**plan.params.to_dict(), "chunk_size": plan.spec.chunk_size},
        samples=plan.spec.samples, tasks=plan.tasks, prompts=prompts_rows,
        reward_versions=plan.reward_versions, job_id=job_id, base_key=plan.base_key)
    comparison = store.get_comparison(cid)
    target = Path(out_dir) if out_dir else Path(comparison["out_dir"] or default_out_dir(plan, cid))
    store.set_comparison_status(cid, "running", message=None if created else "resumed", out_dir=str(target))

    side_adapters = {BASE: None, **{s["label"]: s["adapter"] for s in plan.sides}}
    models: AdapterSet | None = None
    chunks = plan.chunks()
    k = plan.spec.samples
    expected = len(plan.prompts) * k * len(side_adapters)
    generated, reused, reused_from = 0, 0, set()
    stored_base = store.stored_base_results(plan.base_key, besides=cid) if plan.base_key else {}
    try:
        for c, chunk in enumerate(chunks):
            for side in side_adapters:
                done = store.compare_done_keys(cid)
                missing = [r for r in chunk if any((r["prompt_id"], side, s) not in done for s in range(k))]
                if not missing:
                    continue
                copied = base_reuse.stored_texts(chunk, k, stored_base) if side == BASE else None
                if copied is not None:
                    rows = [_result(plan, r, side, s, old["completion"], old)
                            for r, olds in zip(chunk, copied, strict=True) for s, old in enumerate(olds)]
                    store.add_compare_results(cid, rows)
                    reused += 1
                    reused_from |= {old["comparison_id"] for olds in copied for old in olds}
                    _stored(store, cid, c, chunks, side, expected, on_chunk, "copied from an earlier comparison")
                    continue
                if models is None:
                    # Adapters were checked against the base by plan_comparison.
                    models = AdapterSet(loader(plan.base_source), {s: a for s, a in side_adapters.items() if a},
                                        check=False)
                # The whole chunk is generated so the seed and batch layout match the other sides;
                # rows already stored are ignored by the insert.
                params = GenParams(**{**plan.params.to_dict(), "seed": plan.params.seed + c})
                # The chunk is one batch: report token by token so the job page moves within it.
                live = LiveProgress(expected, progress.report, stage="comparing", unit="results",
                                    done_before=store.comparison_progress(cid)["done"], comparison_id=cid)
                with models.use(None if side == BASE else side) as loaded:
                    outs = generate(loaded, [r["prompt"] for r in chunk], params, k=k, batch_size=len(chunk) * k,
                                    on_step=live.step)
                rows = [_result(plan, r, side, s, g.text, {"prompt_tokens": g.prompt_tokens,
                                                          "completion_tokens": g.completion_tokens,
                                                          "truncated": g.truncated})
                        for r, gens in zip(chunk, outs, strict=True) for s, g in enumerate(gens)]
                store.add_compare_results(cid, rows)
                generated += 1
                _stored(store, cid, c, chunks, side, expected, on_chunk)
    except BaseException as exc:
        if isinstance(exc, Exception):
            _finish(store, cid, "failed", f"{type(exc).__name__}: {exc}", target)
        else:
            # Ctrl-C, the job runner's cancel (SIGTERM raised as a BaseException), SystemExit.
            _finish(store, cid, "partial", "interrupted: rerun the same command to resume", target)
        raise
    status = "partial" if store.comparison_progress(cid)["partial"] else "complete"
    paths = _finish(store, cid, status, None, target)
    report = json.loads(paths["json"].read_text(encoding="utf-8"))
    return {"comparison_id": cid, "status": status, "created": created, "out_dir": target, "paths": paths,
            "report": report, "generated_chunks": generated, "reused_chunks": reused,
            "reused_from": sorted(reused_from)}


def _result(plan: Plan, row: dict, side: str, sample: int, text: str, tokens: dict) -> dict:
    """A result row: the completion, its token counts (`tokens`) and its score now."""
    b = _score(plan, row, text)
    return {"prompt_id": row["prompt_id"], "side": side, "sample_index": sample, "completion": text,
            "prompt_tokens": tokens.get("prompt_tokens"), "completion_tokens": tokens.get("completion_tokens"),
            "truncated": tokens.get("truncated"), "reward_name": plan.reward_names[row["task"]],
            "reward_version": plan.reward_versions[row["task"]], "reward_total": b.total,
            "reward_components": dict(b.components), "reward_notes": list(b.notes)}


def _stored(store, cid: int, c: int, chunks: list, side: str, expected: int, on_chunk, how: str = "") -> None:
    """Report a stored (chunk, side) to the job page and to `on_chunk`."""
    stored = store.comparison_progress(cid)["done"]
    progress.report(stored, expected, f"chunk {c + 1}/{len(chunks)} {side}" + (f" ({how})" if how else ""),
                    stage="comparing", fraction=stored / expected if expected else 1.0, comparison_id=cid)
    if on_chunk is not None:
        on_chunk({"comparison_id": cid, "chunk": c, "side": side, "done": stored, "expected": expected,
                  "copied": bool(how)})


def _finish(store, cid: int, status: str, message: str | None, out_dir: Path) -> dict:
    """Record the status and write the report (partial ones too); a failure to write the
    report must not hide why the run stopped."""
    store.set_comparison_status(cid, status, message=message, out_dir=str(out_dir))
    try:
        return report_mod.write_report(store, cid, out_dir)
    except Exception as exc:  # reported; the original outcome stands
        store.set_comparison_status(cid, status, message=f"{message or ''} (report not written: {exc})".strip())
        if status == "complete":
            raise
        return {}


def spec_to_dict(spec: CompareSpec) -> dict:
    return asdict(spec)
