"""Recipes: the bundled files load, the production values are the ones the plan names, and
every kind of bad recipe fails with a message naming the key."""

from __future__ import annotations

import pytest
import yaml

from train.grpo.recipe import RecipeError, list_recipes, load_recipe, recipe_from_dict


def _write(tmp_path, data, name="r.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _tiny_dict():
    return load_recipe("tiny").to_dict()


def test_bundled_recipes_load():
    assert {"tiny", "cpu-demo", "tucano2-0.5b-l4"} <= set(list_recipes())
    for name in list_recipes():
        recipe = load_recipe(name)
        assert recipe.name == name
        assert recipe.tasks


def test_production_recipe_values():
    r = load_recipe("tucano2-0.5b-l4")
    assert r.model.name == "Polygl0t/Tucano2-qwen-0.5B-Instruct"
    assert (r.model.backend, r.model.load_in_4bit, r.model.quant_type) == ("unsloth", True, "nf4")
    assert (r.lora.r, r.lora.alpha, r.lora.target_modules) == (16, 32, "all-linear")
    g = r.grpo
    assert g.learning_rate == 5e-6 and g.lr_scheduler_type == "constant_with_warmup" and g.warmup_ratio == 0.05
    assert g.beta == 0.0 and g.scale_rewards == "none"
    assert (g.num_generations, g.max_completion_length, g.temperature) == (16, 512, 1.0)
    assert g.prompts_per_step == 2 and r.completions_per_step == 32
    assert (g.max_steps, g.eval_steps, g.save_steps) == (1500, 50, 100)
    assert r.tasks == ["extraction", "sql_qa", "insights", "push"]


def test_unknown_key_named_with_suggestion(tmp_path):
    data = _tiny_dict()
    data["grpo"]["lerning_rate"] = 1e-5
    with pytest.raises(RecipeError, match=r"unknown key .grpo.lerning_rate.; did you mean .grpo.learning_rate."):
        load_recipe(_write(tmp_path, data))
    data = _tiny_dict()
    data["optimizer"] = {}
    with pytest.raises(RecipeError, match="unknown key 'optimizer'"):
        recipe_from_dict(data)


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("grpo", "num_generations", "16", r"grpo.num_generations must be an integer, got str"),
        ("grpo", "learning_rate", "5e-6", r"must be a number, got str '5e-6'.*write 5.0e-6"),
        ("grpo", "max_steps", True, r"grpo.max_steps must be an integer, got bool"),
        ("model", "load_in_4bit", "yes", r"model.load_in_4bit must be true/false"),
        ("data", "tasks", "push", r"data.tasks must be a list"),
        ("lora", "r", 2.5, r"lora.r must be an integer"),
    ],
)
def test_wrong_type_named(section, key, value, expected):
    data = _tiny_dict()
    data[section][key] = value
    with pytest.raises(RecipeError, match=expected):
        recipe_from_dict(data, source="bad.yaml")


def test_values_that_cannot_work_together():
    cases = [
        ({"grpo": {"micro_batch_size": 3}}, r"micro_batch_size \(3\) must divide the completions per step"),
        ({"grpo": {"eval_batch_size": 5}}, r"eval_batch_size \(5\) must be a multiple of grpo.num_generations_eval"),
        ({"grpo": {"num_generations": 1, "micro_batch_size": 1}}, "at least 2"),
        ({"grpo": {"temperature": 0.0}}, "temperature must be above 0"),
        ({"grpo": {"save_steps": 3}}, "save_steps .* multiple of grpo.eval_steps"),
        ({"data": {"tasks": ["push", "recommendation"]}}, "data.tasks is 'recommendation'"),
        ({"rewards": {"aggregation": "mean"}}, "rewards.aggregation is 'mean'; choose one of sum, gdpo"),
        ({"model": {"backend": "vllm"}}, "model.backend"),
    ]
    for change, expected in cases:
        data = _tiny_dict()
        for section, values in change.items():
            data[section].update(values)
        with pytest.raises(RecipeError, match=expected):
            recipe_from_dict(data)


def test_overrides_and_exclusions_revalidate():
    r = load_recipe("tiny").with_overrides({"grpo.seed": 123}, exclude_tasks=["push"])
    assert r.grpo.seed == 123 and r.tasks == ["extraction", "sql_qa", "insights"]
    assert r.excluded_tasks == ["push"] and r.to_dict()["excluded_tasks"] == ["push"]
    with pytest.raises(RecipeError, match="every task of the mix is excluded"):
        r.with_overrides(exclude_tasks=["extraction", "sql_qa", "insights"])
    with pytest.raises(RecipeError, match="cannot exclude 'chat'"):
        load_recipe("tiny").with_overrides(exclude_tasks=["chat"])
    with pytest.raises(RecipeError, match="must be an integer"):
        load_recipe("tiny").with_overrides({"grpo.seed": "x"})


def test_snapshot_round_trip_and_missing_file(tmp_path):
    r = load_recipe("cpu-demo")
    again = recipe_from_dict(yaml.safe_load(r.to_yaml()))
    assert again == r and again.fingerprint() == r.fingerprint()
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.yaml")
    with pytest.raises(RecipeError, match="unknown recipe 'nope'.*tiny"):
        load_recipe("nope")
    (tmp_path / "broken.yaml").write_text("grpo: [unclosed", encoding="utf-8")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(tmp_path / "broken.yaml")


def test_task_weights_start_the_mix_and_are_checked():
    data = _tiny_dict()
    data["data"]["task_weights"] = {"push": 3, "extraction": 1}
    r = recipe_from_dict(data)
    # Normalised over the run's tasks; a task left out of the mapping weighs 1.
    assert r.start_weights == {"extraction": 1 / 6, "sql_qa": 1 / 6, "insights": 1 / 6, "push": 3 / 6}
    assert r.with_overrides(exclude_tasks=["sql_qa", "insights"]).start_weights == {"extraction": 0.25, "push": 0.75}
    assert load_recipe("tiny").start_weights == {t: 0.25 for t in ("extraction", "sql_qa", "insights", "push")}
    for weights, expected in (({"chat": 1}, r"task\(s\) \['chat'\] outside data.tasks"),
                              ({"push": -1}, "task_weights.push must be 0 or more, got -1"),
                              ({"push": "many"}, "task_weights.push must be a number"),
                              ({"push": float("inf")}, "task_weights.push must be a finite number")):
        data = _tiny_dict()
        data["data"]["task_weights"] = weights
        with pytest.raises(RecipeError, match=expected):
            recipe_from_dict(data)
    data = _tiny_dict()
    data["data"]["task_weights"] = {"push": 0, "extraction": 0, "sql_qa": 0}
    with pytest.raises(RecipeError, match="every task of the run"):
        recipe_from_dict(data).with_overrides(exclude_tasks=["insights"])
