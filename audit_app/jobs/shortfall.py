"""Rollouts the audit still lacks, and a sampling job that supplies exactly them.

Per task, the goal is the gate's minimum or, once an audit has run, its estimate of the
scored items needed (`Store.audit_minimums`). When the store holds fewer rollouts queued
for annotation than that goal, annotators cannot reach it however hard they work: the
annotate page says so, and the engineers' pages (Sample rollouts, Audit & gate) offer to
sample the missing number with `sample_missing`. The new rollouts come from prompts of
the train set that have none yet (more completions of the same prompts do not count as
more data for the audit), with the model, adapter and generation settings of the task's
latest sampling job (the demo model and the form's defaults when there is none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from audit_app.audit.needs import DEFAULT_PER_PROMPT
from audit_app.cli import start_job
from data import paths
from data.prompts import load_prompts
from data.store.roles import User
from rewards.types import TASKS
from train.sampling import DEMO, sample_argv


@dataclass(frozen=True)
class Shortfall:
    task: str
    goal: int            # scored items the audit needs (the gate's minimum or the latest estimate)
    scored: int
    rollouts: int        # rollouts queued for annotation
    missing: int         # rollouts to sample so the goal can be reached
    new_prompts: int     # prompts without rollouts those would come from
    per_prompt: int      # completions per new prompt

    @property
    def message(self) -> str:
        return (f"{self.task}: the audit needs {self.goal} scored items but the store holds only {self.rollouts} "
                f"{self.task} rollouts to score; {self.missing} more must be sampled "
                f"({self.new_prompts} new prompts x {self.per_prompt})")


def shortfalls(store, tasks=TASKS) -> dict[str, Shortfall]:
    """Tasks whose goal the rollouts in the store cannot reach, with what to sample."""
    per_task = store.progress()["per_task"]
    targets = store.audit_targets()
    prompts_with = dict(store.conn.execute(
        "SELECT q.task, count(DISTINCT r.prompt_id) FROM item_queue q JOIN rollouts r ON r.id = q.rollout_id"
        " GROUP BY q.task").fetchall())
    out = {}
    for task in tasks:
        t = per_task[task]
        if not t["short_of_rollouts"]:
            continue
        target = targets.get(task, {})
        per_prompt = max(1, round(target.get("per_prompt") or DEFAULT_PER_PROMPT))
        prompts_short = max(0, (target.get("target_prompts") or 0) - prompts_with.get(task, 0))
        new_prompts = max(prompts_short, math.ceil(t["short_of_rollouts"] / per_prompt))
        out[task] = Shortfall(task, t["goal"], t["scored"], max(t["items"], t["scored"]), new_prompts * per_prompt,
                              new_prompts, per_prompt)
    return out


def unused_prompt_ids(store, task: str, n: int) -> list[str]:
    """Up to `n` prompt ids of the home's train set for `task` with no rollout in the store yet."""
    used = {r[0] for r in store.conn.execute("SELECT DISTINCT prompt_id FROM rollouts WHERE task = ?", [task])}
    rows = load_prompts(paths.train_prompts(), tasks=[task])
    return [r["prompt_id"] for r in rows if r["prompt_id"] not in used][:n]


def last_sampling_settings(store, task: str) -> dict:
    """Model, adapter and generation settings of the latest sampling job that covered `task`."""
    for job in store.list_jobs(kind="sample", limit=20):
        meta = job.get("meta") or {}
        if task in (meta.get("tasks") or []) and meta.get("model"):
            gen = meta.get("gen") or {}
            return {"model": meta["model"], "adapter": meta.get("adapter"),
                    "temperature": gen.get("temperature", 1.0), "max_new_tokens": gen.get("max_new_tokens", 256)}
    return {"model": DEMO, "adapter": None, "temperature": 1.0, "max_new_tokens": 256}


def sample_missing(store, actor: User, shortfall: Shortfall) -> tuple[int, str]:
    """Start the sampling job that supplies `shortfall`; (job id, what it samples, in words).
    ValueError when the train set has no unused prompt left for the task."""
    ids = unused_prompt_ids(store, shortfall.task, shortfall.new_prompts)
    if not ids:
        raise ValueError(f"every {shortfall.task} prompt of the train set already has rollouts; build more prompts "
                         "(tucano-audit data build) or sample more completions per prompt on the Sample page")
    how = last_sampling_settings(store, shortfall.task)
    argv = sample_argv(model=how["model"], adapter=how["adapter"], tasks=[shortfall.task], prompts=len(ids),
                       per_prompt=shortfall.per_prompt, temperature=how["temperature"],
                       max_new_tokens=how["max_new_tokens"], prompt_ids=ids)
    meta = {"model": how["model"], "adapter": how["adapter"], "tasks": [shortfall.task],
            "gen": {"temperature": how["temperature"], "max_new_tokens": how["max_new_tokens"]},
            "reason": "what the audit still needs"}
    job_id = start_job(store, actor, "sample", argv, meta=meta)
    fewer = "" if len(ids) == shortfall.new_prompts else f" (only {len(ids)} unused prompts left)"
    return job_id, f"{len(ids) * shortfall.per_prompt} {shortfall.task} rollouts: {len(ids)} new prompts x " \
                   f"{shortfall.per_prompt}{fewer}"
