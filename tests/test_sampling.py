"""The sample service and `tucano-audit sample`: prompt picking, checks before work,
rollouts stored scored with generation parameters, ids and reward versions."""

from __future__ import annotations

import json

import pytest

from train.models.generation import GenParams
from train.sampling import SampleRequest, check_request, pick_prompts, run_sampling


def _rows():
    rows = []
    for task, strata in (("extraction", [f"extraction:rating={r}" for r in range(1, 6)]), ("push", ["push"])):
        for s in strata:
            for i in range(4):
                rows.append({"prompt_id": f"{s}-{i}", "task": task, "stratum": s,
                             "prompt": [{"role": "user", "content": f"{s} {i}"}]})
    return rows


# -- picking -----------------------------------------------------------------------------------
def test_pick_is_stratified_and_seeded():
    rows = _rows()
    picked = pick_prompts(rows, ("extraction", "push"), 5, seed=1)
    ext = [r for r in picked if r["task"] == "extraction"]
    assert len(ext) == 5 and len([r for r in picked if r["task"] == "push"]) == 4  # push has only 4
    assert len({r["stratum"] for r in ext}) == 5  # one per star rating, not the first five rows
    assert pick_prompts(rows, ("extraction", "push"), 5, seed=1) == picked
    assert pick_prompts(rows, ("extraction", "push"), 5, seed=2) != picked


def test_pick_given_ids():
    rows = _rows()
    picked = pick_prompts(rows, ("extraction", "push"), 1, seed=0, prompt_ids=("push-2", "push-0", "push-2"))
    assert [r["prompt_id"] for r in picked] == ["push-2", "push-0"]
    with pytest.raises(LookupError, match="nope"):
        pick_prompts(rows, ("push",), 1, seed=0, prompt_ids=("push-1", "nope"))
    with pytest.raises(ValueError, match="task.*extraction"):
        pick_prompts(rows, ("push",), 1, seed=0, prompt_ids=("extraction:rating=1-0",))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"per_prompt": 0}, "per-prompt"),
        ({"tasks": ("extraction", "poetry")}, "unknown task.*poetry.*valid tasks"),
        ({"tasks": ()}, "unknown task"),
        ({"prompts_per_task": 0}, "--prompts"),
        ({"batch_size": 0}, "--batch-size"),
    ],
)
def test_request_checks(kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_request(SampleRequest(**kwargs))


def test_unknown_task_in_prompt_file_fails_before_the_model_loads(tmp_path, file_store):
    bad = tmp_path / "prompts.jsonl"
    bad.write_text(json.dumps({"prompt_id": "x", "task": "haiku", "prompt": [{"role": "user", "content": "oi"}]})
                   + "\n", encoding="utf-8")
    # The model does not exist either: the prompt file's error must come first.
    request = SampleRequest(model=str(tmp_path / "no-model"), prompts_file=str(bad))
    with pytest.raises(ValueError, match=r"prompts.jsonl:1: unknown task 'haiku'"):
        run_sampling(file_store, request, on_progress=lambda *a, **k: None)
    assert file_store.count_prompts() == 0


# -- end to end --------------------------------------------------------------------------------
@pytest.mark.slow
def test_run_sampling_stores_scored_rollouts(sample_home, file_store, tiny_model_dir):
    from rewards.types import TASKS

    params = GenParams(temperature=1.0, top_p=0.95, top_k=40, max_new_tokens=24, seed=5)
    progress = []
    request = SampleRequest(model=str(tiny_model_dir), tasks=TASKS, prompts_per_task=2, per_prompt=3,
                            params=params, batch_size=5, batch_id="t-batch")
    result = run_sampling(file_store, request, on_progress=lambda d, t, m="", **x: progress.append((d, t, x, m)))
    assert result.prompts == 8 and len(result.rollout_ids) == 24
    assert result.backend == "transformers" and result.new_tokens > 0
    rows = file_store.list_rollouts(batch_id="t-batch", limit=None)
    assert len(rows) == 24
    assert {r["task"] for r in rows} == set(TASKS)
    try:
        from rewards.versions import current_versions

        versions = current_versions()
    except ImportError:
        versions = None
    for r in rows:
        assert r["gen_params"] == params.to_dict()
        assert r["model_id"] == str(tiny_model_dir.resolve()) and r["checkpoint_id"] is None
        assert r["source"] == "sample" and r["reward_name"] == r["task"]
        assert 0.0 <= r["reward_total"] <= 1.0
        assert r["prompt_tokens"] > 0 and 1 <= r["completion_tokens"] <= 24
        if versions:
            assert r["reward_version"] == versions[r["task"]]
    by_prompt: dict[str, list[int]] = {}
    for r in rows:
        by_prompt.setdefault(r["prompt_id"], []).append(r["sample_index"])
    assert all(sorted(v) == [0, 1, 2] for v in by_prompt.values())
    assert sum(r["truncated"] for r in rows) == result.truncated
    # Progress: a start line, then one per batch of 5 rows, ending at 24/24 with figures
    # (lines saying which token a long batch is at may come in between).
    batches = [p for p in progress[1:] if p[3].startswith("completions")]
    assert progress[0][0] == 0 and [p[0] for p in batches] == [5, 10, 15, 20, 24]
    assert progress[-1][2]["batch_id"] == "t-batch" and progress[-1][2]["tokens_per_s"] > 0
    # Within a batch the share done, the tokens and the rate move with every decoding step.
    first = [p for p in progress if p[3].startswith("batch 1/5: token")]
    assert first and all(p[0] == 0 for p in first)
    assert 0 < first[-1][2]["fraction"] <= 5 / 24 and first[-1][2]["tokens"] > 0
    assert first[-1][2]["tokens_per_s"] > 0 and first[-1][2]["eta_s"] > 0
    fractions = [p[2]["fraction"] for p in progress[1:]]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


@pytest.mark.slow
def test_adapter_checkpoint_id_recorded(sample_home, file_store, tiny_model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir.resolve()))
    get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(tmp_path / "checkpoint-3")
    request = SampleRequest(model=str(tiny_model_dir), adapter=str(tmp_path / "checkpoint-3"), tasks=("push",),
                            prompts_per_task=1, per_prompt=2, params=GenParams(max_new_tokens=8, seed=1))
    result = run_sampling(file_store, request, on_progress=lambda *a, **k: None)
    rows = [file_store.get_rollout(i) for i in result.rollout_ids]
    assert {r["checkpoint_id"] for r in rows} == {str((tmp_path / "checkpoint-3").resolve())}


@pytest.mark.slow
def test_cli_sample(sample_home, tmp_path, tiny_model_dir, capsys):
    from audit_app.cli import main
    from data.store import Store

    store_path = tmp_path / "s.db"
    code = main(["sample", "--model", str(tiny_model_dir), "--tasks", "push", "insights", "--prompts", "2",
                 "--per-prompt", "2", "--temperature", "0.8", "--max-new-tokens", "16", "--seed", "3",
                 "--eval", "--batch-size", "4", "--store", str(store_path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "stored 8 rollouts for 4 prompts" in out.out and "seed 3" in out.out
    with Store(store_path) as s:
        rows = s.list_rollouts(limit=None)
        assert len(rows) == 8 and {r["gen_params"]["temperature"] for r in rows} == {0.8}
        assert all(s.get_prompt(r["prompt_id"])["split"] == "eval" for r in rows)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--per-prompt", "0"], "--per-prompt (K completions per prompt) must be at least 1"),
        (["--temperature", "-0.5"], "temperature must be a number >= 0"),
        (["--tasks", "poems"], "unknown task(s) poems"),
        (["--model", "/nonexistent/model"], "model path /nonexistent/model does not exist"),
    ],
)
def test_cli_sample_bad_input(sample_home, tmp_path, capsys, argv, message):
    from audit_app.cli import main

    assert main(["sample", "--store", str(tmp_path / "s.db"), *argv]) == 2
    assert message in capsys.readouterr().err
