"""Generation: explicit parameters (never the model's shipped defaults), batches with left
padding, per-sequence EOS, truncation counts, seeds."""

from __future__ import annotations

import json
import shutil

import pytest

from train.models.generation import GenParams, generate
from train.models.loading import load_model

pytestmark = pytest.mark.slow

PROMPTS = [
    [{"role": "user", "content": "Olá"}],
    [{"role": "system", "content": "Responda em JSON."},
     {"role": "user", "content": "Comprei o relógio e veio com defeito. Nota 1 de 5. Extraia os campos."}],
    [{"role": "user", "content": "Qual foi o faturamento total por estado em 2017?"}],
]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_model(tiny_model_dir)


@pytest.fixture(scope="module")
def chatty(tmp_path_factory):
    """A tiny model that practically never emits EOS, so greedy outputs are non-empty."""
    from train.models.tiny import build_tiny_model

    return load_model(build_tiny_model(tmp_path_factory.mktemp("chatty") / "m", mean_length=10**6))


# -- parameters ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_genparams_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GenParams(**kwargs)


def test_genparams_round_trip():
    p = GenParams(temperature=0.7, top_p=0.9, top_k=20, max_new_tokens=33, seed=5)
    assert GenParams.from_dict(json.loads(json.dumps(p.to_dict()))) == p


def test_bad_requests_fail_before_work(tiny):
    with pytest.raises(ValueError, match="k .* >= 1"):
        generate(tiny, PROMPTS, GenParams(), k=0)
    with pytest.raises(ValueError, match="batch_size"):
        generate(tiny, PROMPTS, GenParams(), batch_size=0)
    with pytest.raises(ValueError, match="prompt 1"):
        generate(tiny, [PROMPTS[0], "not messages"], GenParams())


# -- the generation_config trap ---------------------------------------------------------------
def test_shipped_generation_config_is_never_inherited(tmp_path, tiny_model_dir):
    """A model shipping temperature 0.1 (and greedy, top_k=1) still samples at 1.0."""
    import torch
    from transformers import AutoModelForCausalLM

    model_dir = tmp_path / "cold-model"
    shutil.copytree(tiny_model_dir, model_dir)
    shipped = json.loads((model_dir / "generation_config.json").read_text())
    shipped.update(do_sample=False, temperature=0.1, top_k=1)
    (model_dir / "generation_config.json").write_text(json.dumps(shipped))

    # The trap is real: transformers' own generate() honours the shipped file and the
    # completions of one prompt come out identical.
    raw = AutoModelForCausalLM.from_pretrained(model_dir)
    ids = torch.tensor([[5, 17, 42]] * 4)
    out = raw.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=12)
    assert len({tuple(r) for r in out.tolist()}) == 1

    loaded = load_model(model_dir)
    assert loaded.shipped_generation["temperature"] == 0.1
    params = GenParams(temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=24, seed=3)
    outs = generate(loaded, [PROMPTS[1]], params, k=8, batch_size=8)
    texts = [g.text for g in outs[0]]
    assert len(set(texts)) >= 6, texts
    # And the shipped file did not leak into the config generate() used.
    assert loaded.model.generation_config.temperature in (None, 1.0)
    assert loaded.model.generation_config.do_sample in (None, False)
    cfg = params.generation_config([2], 0)
    assert cfg.temperature == 1.0 and cfg.do_sample and cfg.top_k == 0


# -- batching ---------------------------------------------------------------------------------
def test_shapes_counts_and_progress(tiny):
    seen = []
    params = GenParams(temperature=1.0, max_new_tokens=16, seed=1)
    outs = generate(tiny, PROMPTS, params, k=3, batch_size=4, on_batch=seen.append)
    assert [len(o) for o in outs] == [3, 3, 3]
    assert [b.done for b in seen] == [4, 8, 9]
    assert all(b.total == 9 for b in seen)
    assert sum(len(b.items) for b in seen) == 9
    assert sum(b.new_tokens for b in seen) == sum(g.completion_tokens for o in outs for g in o)
    from train.models.generation import render_prompt

    for prompt, gens in zip(PROMPTS, outs, strict=True):
        assert {g.prompt_tokens for g in gens} == {len(render_prompt(tiny.tokenizer, prompt))}
        for g in gens:
            assert 1 <= g.completion_tokens <= 16
            if g.truncated:
                assert g.completion_tokens == 16


def test_each_sequence_stops_at_its_own_eos(tiny):
    """Mean length ~24: with 48 rows and 64 new tokens some end early, some run out."""
    params = GenParams(temperature=1.0, max_new_tokens=64, seed=2)
    gens = [g for o in generate(tiny, PROMPTS, params, k=16, batch_size=16) for g in o]
    finished = [g for g in gens if not g.truncated]
    truncated = [g for g in gens if g.truncated]
    assert finished and truncated
    assert all(g.completion_tokens == 64 for g in truncated)
    assert len({g.completion_tokens for g in finished}) > 3  # different lengths within a batch
    # Nothing after EOS (padding, a second turn) leaks into a finished text.
    assert not any("<|" in g.text for g in gens)


def test_left_padding_does_not_change_results(chatty):
    """Greedy output of a short prompt is the same alone and in a batch with a long one."""
    params = GenParams(temperature=0.0, max_new_tokens=12)
    alone = generate(chatty, [PROMPTS[0]], params)[0][0]
    batched = generate(chatty, [PROMPTS[1], PROMPTS[0]], params, batch_size=2)[1][0]
    assert alone.text and alone.text == batched.text
    assert alone.completion_tokens == batched.completion_tokens == 12 and alone.truncated


def test_seeds(tiny):
    p = GenParams(temperature=1.0, max_new_tokens=20, seed=11)
    a = generate(tiny, PROMPTS, p, k=2)
    b = generate(tiny, PROMPTS, p, k=2)
    c = generate(tiny, PROMPTS, GenParams(temperature=1.0, max_new_tokens=20, seed=12), k=2)
    assert a == b
    assert a != c


def test_greedy_gives_identical_samples(chatty):
    outs = generate(chatty, [PROMPTS[2]], GenParams(temperature=0.0, max_new_tokens=8), k=3)
    assert len({g.text for g in outs[0]}) == 1


def test_shared_prefill_matches_one_prompt_at_a_time(chatty):
    """K rows of a prompt share one prefill; greedy results equal those of a lone prompt."""
    params = GenParams(temperature=0.0, max_new_tokens=12)
    shared = generate(chatty, PROMPTS, params, k=3, batch_size=9)
    for prompt, outs in zip(PROMPTS, shared, strict=True):
        alone = generate(chatty, [prompt], params, k=1)[0][0]
        assert [g.text for g in outs] == [alone.text] * 3
        assert {g.prompt_tokens for g in outs} == {alone.prompt_tokens}
    # A batch boundary that splits a prompt's rows (batch_size 2, k=3) changes nothing either.
    assert generate(chatty, PROMPTS, params, k=3, batch_size=2) == shared


def test_on_step_reports_every_decoding_step_with_its_tokens(chatty):
    steps, batches = [], []
    outs = generate(chatty, PROMPTS, GenParams(max_new_tokens=5, seed=1), k=2, batch_size=4,
                    on_step=steps.append, on_batch=batches.append)
    first = [s for s in steps if s.batch_index == 0]
    assert [(s.batches, s.step, s.max_new_tokens, s.rows) for s in first] == [(2, n, 5, 4) for n in range(1, 6)]
    assert steps[-1].batch_index == 1 and max(s.step for s in steps) <= 5
    # The running token count of a batch ends at the batch's generated tokens (EOS included).
    for b, info in enumerate(batches):
        assert [s for s in steps if s.batch_index == b][-1].tokens == info.new_tokens
    assert sum(b.new_tokens for b in batches) == sum(g.completion_tokens for row in outs for g in row)
