"""The TRL adapter: batch signature, None for other tasks' rows, conversational
completions, meta columns, stable names, per-component functions for GDPO."""

from __future__ import annotations

import json

import pytest

from rewards import schema
from rewards.probe_db import build_probe_db
from rewards.push import make_push_reward
from rewards.registry import get_reward
from rewards.trl_adapter import trl_component_funcs, trl_reward_func, trl_reward_funcs, trl_reward_weights

GOOD_JSON = json.dumps(schema.example_json())
PUSH = "Seu pedido chegou! Avalie sua compra e ganhe R$ 10 de desconto na próxima 📦"


def _batch():
    prompts = [[{"role": "user", "content": "Extraia os campos em JSON."}],
               [{"role": "user", "content": "Escreva uma notificação push."}],
               [{"role": "user", "content": "Extraia os campos em JSON."}]]
    completions = [[{"role": "assistant", "content": GOOD_JSON}],
                   [{"role": "assistant", "content": PUSH}],
                   [{"role": "assistant", "content": "sem json"}]]
    # Everything TRL passes besides the dataset columns must be ignored.
    extra = {"completion_ids": [[1], [2], [3]], "trainer_state": object(), "log_extra": print, "log_metric": print}
    return prompts, completions, extra


def test_reward_func_returns_none_for_other_tasks_and_reads_meta():
    prompts, completions, extra = _batch()
    f = trl_reward_func("extraction")
    assert f.__name__ == "reward_extraction"
    out = f(prompts=prompts, completions=completions, task=["extraction", "push", "extraction"],
            rating=[5, None, 2], topic=[None, "x", None], **extra)
    assert out[1] is None
    assert out[0] == pytest.approx(0.3)  # negativo JSON, 5-star rating: the contradiction cap, read from the column
    assert out[2] == 0.0
    push = trl_reward_func("push")(prompts=prompts, completions=completions,
                                   task=["extraction", "push", "extraction"], max_chars=[None, 120, None])
    assert push[0] is None and push[2] is None and push[1] == pytest.approx(1.0)


def test_plain_string_completions_and_routing_of_untagged_rows():
    f = trl_reward_func("push")
    prompts = ["Escreva uma notificação push de reengajamento.",
               "Faça uma análise estratégica da campanha de reengajamento."]
    out = f(prompts=prompts, completions=[PUSH, PUSH])
    assert out[0] == pytest.approx(1.0) and out[1] is None  # the analysis prompt is insights, not push
    out = f(prompts=prompts, completions=[PUSH, PUSH], task=[None, "push"])
    assert out == [pytest.approx(1.0), pytest.approx(1.0)]
    # The historical routing bug sends the analysis to push.
    buggy = trl_reward_func("push", insights_before_push=False)
    assert buggy(prompts=prompts, completions=[PUSH, PUSH])[1] == pytest.approx(1.0)


def test_bad_batches_raise_clear_errors():
    f = trl_reward_func("push")
    with pytest.raises(ValueError, match="column 'task' has 1 values for 2 completions"):
        f(prompts=["a", "b"], completions=[PUSH, PUSH], task=["push"])
    with pytest.raises(ValueError, match="unknown task 'chat'"):
        f(prompts=["a"], completions=[PUSH], task=["chat"])
    with pytest.raises(ValueError, match="need prompts to be routed"):
        f(completions=[PUSH])
    with pytest.raises(KeyError, match="valid rewards"):
        trl_reward_func("nope")


def test_component_funcs_names_values_and_weights():
    funcs = trl_component_funcs("extraction")
    assert [f.__name__ for f in funcs] == [
        "reward_extraction__json_valid", "reward_extraction__completeness", "reward_extraction__value_validity",
        "reward_extraction__sentiment", "reward_extraction__correctness", "reward_extraction__summary",
        "reward_extraction__consistency", "reward_extraction__cap"]
    prompts, completions, extra = _batch()
    cols = {"task": ["extraction", "push", "extraction"], "rating": [5, None, 2], **extra}
    values = [f(prompts=prompts, completions=completions, **cols) for f in funcs]
    # No gold labels or review in these columns: correctness and summary are not scored and
    # the form and sentiment share their weight; the 5-star "negativo" hits the 0.30 cap.
    form = pytest.approx(0.05 / 0.35)
    assert [v[0] for v in values] == [form, form, form, 0.0, 0.0, 0.0, 0.0, pytest.approx(0.30 - 3 * 0.05 / 0.35)]
    assert all(v[1] is None for v in values)
    # The components of a row sum to its total (before clamping).
    total = trl_reward_func("extraction")(prompts=prompts, completions=completions, **cols)
    assert sum(v[0] for v in values) == pytest.approx(total[0])

    tasks = ["extraction", "push"]
    assert [f.__name__ for f in trl_reward_funcs(tasks)] == ["reward_extraction", "reward_push"]
    per = trl_reward_funcs(tasks, per_component=True)
    assert len(per) == 13 and per[-1].__name__ == "reward_push__cap"
    assert trl_reward_weights(tasks) == [1.0, 1.0]
    assert trl_reward_weights(tasks, per_component=True) == [0.05, 0.05, 0.05, 0.20, 0.50, 0.15, 0.10, 1.0,
                                                             0.20, 0.15, 0.45, 0.20, 1.0]


def test_adapter_accepts_reward_objects_and_sql_meta(tmp_path):
    buggy = make_push_reward(length_penalty=False, name="push_no_length")
    f = trl_reward_func(buggy)
    assert f.__name__ == "reward_push_no_length"
    long_push = (PUSH + " Aproveite também as novidades da semana na loja, com entrega rápida para todo o Brasil e "
                 "condições exclusivas no pagamento. Não deixe para depois: as melhores peças da temporada acabam "
                 "logo e o estoque é limitado!")  # over 300 characters
    assert f(prompts=["x"], completions=[long_push], task=["push"])[0] >= \
        trl_reward_func("push")(prompts=["x"], completions=[long_push], task=["push"])[0] + 0.15

    db = build_probe_db(tmp_path / "commerce.db")
    sql = "```sql\nSELECT COUNT(*) FROM orders\n```\nSão 30 pedidos de clientes no total da loja."
    out = trl_reward_func("sql_qa")(prompts=["q", "q"], completions=[sql, sql], task=["sql_qa", "sql_qa"],
                                   reference_answer=["[[30]]", "[[29]]"], reference_sql=[None, None],
                                   db_path=[str(db), str(db)])
    assert out[0] > out[1]
    assert get_reward("sql_qa").components[1] == "sql_correct"


@pytest.mark.slow
def test_real_grpo_trainer_step_with_per_component_rewards(tiny_model_dir, tmp_path):
    """TRL's own GRPOTrainer runs a step on a two-task batch with the per-component
    functions and normalize_then_sum (GDPO); None rows of the other task are ignored."""
    import datasets
    from trl import GRPOConfig, GRPOTrainer

    rows = [{"prompt": [{"role": "user", "content": "Extraia os campos em JSON."}], "task": "extraction",
             "rating": 2, "max_chars": None},
            {"prompt": [{"role": "user", "content": "Escreva uma notificação push."}], "task": "push",
             "rating": None, "max_chars": 120}]
    tasks = ["extraction", "push"]
    config = GRPOConfig(
        output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, num_generations=2,
        max_completion_length=8, max_steps=1, learning_rate=1e-5, logging_steps=1, report_to=[],
        multi_objective_aggregation="normalize_then_sum",
        reward_weights=trl_reward_weights(tasks, per_component=True), use_cpu=True, save_strategy="no",
    )
    trainer = GRPOTrainer(model=str(tiny_model_dir), reward_funcs=trl_reward_funcs(tasks, per_component=True),
                          args=config, train_dataset=datasets.Dataset.from_list(rows * 2))
    trainer.train()
    logged = {k for entry in trainer.state.log_history for k in entry}
    assert "rewards/reward_extraction__json_valid/mean" in logged
    assert "rewards/reward_push__length/mean" in logged
