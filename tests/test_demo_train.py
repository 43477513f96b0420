"""`tucano-audit demo --train` end to end on the tiny model: the launch goes through the
launch rules (recorded as gate-skipped, with the reasons printed), the run trains, and the
comparison reads exactly the tasks the recipe trained, at the recipe's completion length."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from audit_app.cli import main
from data import paths
from data.store import Store
from data.store.progress import ENV_JOB_ID
from train.grpo.recipe import recipe_path

pytestmark = pytest.mark.slow


def test_demo_train_trains_then_compares_the_recipe_tasks_at_its_length(home, tmp_path, capsys, monkeypatch):
    # A job run in this process earlier (`jobs run`) leaves its store and job id in the
    # environment, as a job's own process would have them.
    monkeypatch.delenv(paths.ENV_STORE, raising=False)
    monkeypatch.delenv(ENV_JOB_ID, raising=False)
    recipe = yaml.safe_load(recipe_path("tiny").read_text(encoding="utf-8"))
    recipe["name"] = "tiny-two-tasks"
    recipe["data"]["tasks"] = ["push", "extraction"]
    recipe["grpo"]["max_completion_length"] = 6
    recipe["grpo"]["max_steps"] = 2
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")

    code = main(["demo", "--train", "--recipe", str(path), "--compare-samples", "1", "--no-app"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "audit gate: NOT PASSED" in out and "--skip-gate" in out
    assert "on push, extraction, 1 sample(s) per prompt at temperature 0.1, up to 6 new tokens" in out

    with Store(home / "store.db") as store:
        (run,) = store.list_runs()
        assert run["status"] == "finished" and run["gate_skipped"]
        (comparison,) = store.list_comparisons()
        results = store.compare_results(comparison["id"])
    # The tasks the recipe trained, no others, at its completion length.
    assert {r["prompt_id"].split("-")[0] for r in results} == {"push", "extraction"}
    assert comparison["status"] == "complete" and sorted(comparison["tasks"]) == ["extraction", "push"]
    assert comparison["gen_params"]["max_new_tokens"] == 6
    # The run's final adapter, not the checkpoint its 2-prompt in-run evaluation chose.
    assert [side["adapter"] for side in comparison["sides"]] == [str(Path(run["run_dir"]) / "final")]
