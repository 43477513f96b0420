"""`tucano-audit demo --train` (what `make demo-train` runs): the loop closed on the demo model.

    tucano-audit demo --train                          # cpu-demo recipe, seed 42, then compare
    tucano-audit demo --train --seed 42 --seed 123 --seed 456   # three seeds through the store's queue

Steps, after the demo's data, model and accounts (audit_app.cli.demo):
1. the launch, through the app's launch rules (audit_app.jobs.launch). The demo store holds
   no human scores, so no audit gate decision can pass; the command says so, lists the
   gate's reasons, and launches with `--skip-gate`, the command line's recorded way past the
   gate (the run row keeps `gate_skipped`). When a passing decision exists (annotators
   scored the demo's rollouts and someone recorded the audit), the gate is not skipped.
2. training: the first seed in this process (`tucano-audit train --store ...`), the others
   as jobs from the store's seeds queue, one after another; this command waits for them.
3. the comparison of the recipe's base (for cpu-demo the warm-started demo model, so the
   gain shown is GRPO's alone) with every seed's final adapter (`--compare-checkpoint best`:
   best_checkpoint/) on every eval prompt of the tasks the recipe trains, at the recipe's
   completion length unless told otherwise (`tucano-audit compare`), its report printed.
   A task the recipe leaves out is not compared: GRPO did not train it, and on a CPU its
   long answers would cost more time than the training (docs/train.md, "The CPU demo
   recipe").
"""

from __future__ import annotations

import time
from pathlib import Path

from audit_app.jobs import launch
from data.store import Store
from data.store.roles import SYSTEM
from train.grpo.recipe import load_recipe

DEFAULT_RECIPE = "cpu-demo"
# On 2 CPU cores each sample per prompt costs about 3.7 min (35 prompts x 2 sides at 144
# tokens): 2 keep `demo --train` at 22-25 min and still give fewer ties than one.
COMPARE_SAMPLES = 2
POLL_S = 15.0


def add_arguments(p) -> None:
    g = p.add_argument_group("demo training (--train)")
    g.add_argument("--train", action="store_true",
                   help="train the demo model with GRPO through the launch rules, then compare it with its base")
    g.add_argument("--recipe", default=DEFAULT_RECIPE, help=f"training recipe (default {DEFAULT_RECIPE})")
    g.add_argument("--seed", type=int, action="append", help="seed (repeat: the others wait in the store's queue)")
    g.add_argument("--compare-samples", type=int, default=COMPARE_SAMPLES,
                   help=f"completions per eval prompt and side at temperature 0.1 (default {COMPARE_SAMPLES})")
    # The final adapter by default: on a CPU the in-run evaluation reads 2 prompts per task x 2
    # samples, whose noise is larger than the gains it would choose between (seed 42's best
    # checkpoint was picked for a push eval of 0.47 that scored 0.26 on the comparison), and
    # at step 0 it can even pick the untrained adapter.
    g.add_argument("--compare-checkpoint", choices=("final", "best"), default="final",
                   help="which adapter of each run the comparison reads: final (default; the demo's in-run "
                        "evaluation is too small to choose) or best (best_checkpoint/)")
    g.add_argument("--compare-max-new-tokens", type=int, default=None,
                   help="completion length cap of the comparison (default: the recipe's max_completion_length, "
                        "which the recipe chose so that its tasks' answers fit)")


def recipe_model(recipe_name: str) -> str:
    """The model the recipe trains (`demo` for cpu-demo): the comparison's base as well."""
    return load_recipe(recipe_name).model.name


def gate_plan(store, recipe) -> tuple[bool, list[str]]:
    """(skip the gate?, what to say). Refuses when something other than the gate stands in the way."""
    check = launch.check_launch(store, SYSTEM, recipe)
    if check.allowed:
        return False, [f"audit gate: decision #{check.decision.id} passes {', '.join(check.tasks)}; launching "
                       "through it"]
    other = [r for r in check.reasons if "gate decision" not in r]
    if other:
        raise launch.GateBlocked("cannot launch " + recipe.name + ": " + "; ".join(other))
    return True, [
        "audit gate: NOT PASSED. " + "; ".join(check.reasons) + ".",
        "The demo store holds no human scores yet, so no gate decision can pass. This demonstration run is "
        "launched with --skip-gate, the command line's way past the gate, and the run is recorded as gate "
        "skipped. A real run waits until annotators have scored rollouts and the audit passes "
        "(Audit & gate page).",
    ]


def launch_runs(store_path: str, recipe_name: str, seeds: list[int], skip_gate: bool, dispatch) -> list[dict]:
    """Train the first seed here (the others queue as jobs); the launch's runs, in seed order."""
    argv = ["train", "--recipe", recipe_name, "--store", store_path]
    argv += ["--skip-gate"] if skip_gate else []
    for seed in seeds:
        argv += ["--seed", str(seed)]
    code = dispatch(argv)
    if code:
        raise RuntimeError(f"training exited with code {code}")
    with Store(store_path) as store:
        newest = store.list_runs(limit=1)[0]
        runs = [r for r in store.list_runs(limit=len(seeds) + 50) if r["launch_id"] == newest["launch_id"]]
    return sorted(runs, key=lambda r: r["id"])


def wait_for(store_path: str, run_ids: list[int], say=print, poll_s: float = POLL_S) -> list[dict]:
    """Wait until every run ended (queued seeds start as jobs one after another); their rows."""
    shown: dict[int, tuple] = {}
    while True:
        with Store(store_path) as store:
            launch.refresh(store)  # a dead job is marked failed; the next queued seed starts
            runs = [store.get_run(i) for i in run_ids]
        for r in runs:
            state = (r["status"], r.get("step"))
            if shown.get(r["id"]) != state:
                shown[r["id"]] = state
                say(f"      run {r['id']} ({r['name']}): {r['status']}, step {r.get('step') or 0}")
        if all(r["status"] in ("finished", "failed", "cancelled") for r in runs):
            return runs
        time.sleep(poll_s)


def run(args, store_path: str, step) -> int:
    """Steps 4-6 of `demo --train` (the demo's own steps 1-3 ran before)."""
    # Lazy: train.grpo.callbacks imports transformers, which --help must not wait for.
    from train.grpo.callbacks import BEST_DIR, FINAL_DIR

    recipe = load_recipe(args.recipe)
    seeds = args.seed or [recipe.grpo.seed]
    with Store(store_path) as store:
        skip, lines = gate_plan(store, recipe)
    step(4, f"launch: recipe {recipe.name}, seed(s) {', '.join(map(str, seeds))}")
    for line in lines:
        print(f"      {line}", flush=True)
    started = time.perf_counter()
    runs = launch_runs(store_path, args.recipe, seeds, skip, args.dispatch)
    if len(runs) > 1:
        step(5, f"training: waiting for the queued seeds (runs {', '.join(str(r['id']) for r in runs[1:])})")
        runs = wait_for(store_path, [r["id"] for r in runs])
    folder = FINAL_DIR if args.compare_checkpoint == "final" else BEST_DIR
    adapters = [str(Path(r["run_dir"]) / folder) for r in runs
                if r["status"] == "finished" and (Path(r["run_dir"]) / folder).is_dir()]
    trained = time.perf_counter() - started
    failed = [f"run {r['id']} {r['status']} ({r.get('stop_reason') or ''})" for r in runs if r["status"] != "finished"]
    if failed:
        print(f"      not compared: {'; '.join(failed)}", flush=True)
    if not adapters:
        print(f"      no finished run with a {folder}/ adapter: nothing to compare", flush=True)
        return 1
    max_new = args.compare_max_new_tokens or recipe.grpo.max_completion_length
    tasks = recipe.tasks
    step(6, f"comparison: the base ({recipe.model.name}) vs {len(adapters)} tuned side(s) on {', '.join(tasks)}, "
            f"{args.compare_samples} sample(s) per prompt at temperature 0.1, up to {max_new} new tokens")
    argv = ["compare", "--base", recipe.model.name, "--samples", str(args.compare_samples), "--temperature", "0.1",
            "--max-new-tokens", str(max_new), "--tasks", *tasks, "--store", store_path]
    for a in adapters:
        argv += ["--adapter", a]
    compared = time.perf_counter()
    code = args.dispatch(argv)
    print(f"\ntraining {trained / 60:.1f} min, comparison {(time.perf_counter() - compared) / 60:.1f} min", flush=True)
    return code
