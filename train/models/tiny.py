"""A tiny Qwen2-architecture chat model built in process, for tests and offline checks.

    path = build_tiny_model(tmp_dir)          # ~1 s after imports; same bytes every time
    loaded = train.models.loading.load_model(path)     # the same loader as any real model

What it is: random weights (seeded) in a 2-layer Qwen2 with a 64-wide residual stream, a
byte-level BPE tokenizer trained in milliseconds with `tokenizers` on a few hundred
generated Portuguese e-commerce sentences, the ChatML chat template Qwen2-Instruct uses,
`<|im_end|>` as EOS and `<|endoftext|>` as padding. It writes nonsense, but it exercises
every path a real model does: chat templating, left-padded batches, sampling, stopping at
EOS per sequence, LoRA adapters, GRPO steps.

Why one planted weight: with purely random weights EOS is one token among ~1,000, so every
completion would run to max_new_tokens and "stops at EOS per sequence" could never be seen.
We give the residual stream a constant direction (embedding dimension 0) and point the
EOS row of the (untied) output head along it, so EOS has a steady per-step probability
(about 1 in `mean_length`) and completions end at different lengths, as a real model's do.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

SEED = 1234
VOCAB_SIZE = 1024
EOS = "<|im_end|>"
PAD = "<|endoftext|>"
SPECIAL_TOKENS = [PAD, "<|im_start|>", EOS]

# Qwen2-Instruct's template, trimmed of tool calls: system defaults to a generic line.
CHATML_TEMPLATE = (
    "{%- if messages[0]['role'] != 'system' -%}"
    "{{- '<|im_start|>system\\nVocê é um assistente útil.<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

_PRODUCTS = ["fone de ouvido", "cadeira gamer", "relógio", "perfume", "tênis de corrida", "panela",
             "jogo de cama", "celular", "notebook", "mochila", "cafeteira", "livro", "brinquedo",
             "luminária", "kit de maquiagem", "toalha", "smartwatch", "carregador"]
_OPINIONS = ["chegou antes do prazo", "veio com defeito", "a qualidade é ótima", "não recomendo",
             "o vendedor respondeu rápido", "a embalagem estava amassada", "superou as expectativas",
             "demorou muito para chegar", "produto original e bem embalado", "veio a cor errada",
             "custo-benefício excelente", "parou de funcionar em uma semana"]
_QUESTIONS = ["Qual foi o faturamento total por estado em {y}?",
              "Quais categorias tiveram a maior nota média de avaliação?",
              "Quantos pedidos foram entregues com atraso em {y}?",
              "Qual é o ticket médio dos clientes de {uf}?",
              "Quais vendedores de {uf} venderam mais {p}?"]
_PUSH = ["Seu {p} está te esperando! Frete grátis só hoje.",
         "Volte e ganhe 10% de desconto no {p}.",
         "Últimas unidades de {p}: garanta o seu agora!",
         "Black Friday: {p} com até 40% off."]
_INSIGHTS = ["A taxa de recompra caiu em {uf}; recomendamos uma campanha de reengajamento.",
             "Pedidos de {p} atrasam mais no Norte: revisar a logística com os vendedores.",
             "Clientes que avaliam com nota {n} raramente voltam; priorizar o pós-venda."]
_SQL = ["SELECT customer_state, SUM(payment_value) FROM orders JOIN order_payments USING (order_id) "
        "GROUP BY customer_state ORDER BY 2 DESC LIMIT 5;",
        "SELECT product_category_name, AVG(review_score) FROM order_reviews GROUP BY 1;",
        "SELECT COUNT(*) FROM orders WHERE order_delivered_customer_date > order_estimated_delivery_date;"]
_UFS = ["SP", "RJ", "MG", "BA", "RS", "PR", "PE", "CE", "AM", "PA"]


def corpus(n: int = 400, seed: int = SEED) -> list[str]:
    """`n` Portuguese e-commerce lines (reviews, questions, SQL, JSON, pushes, insights)."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        p, uf, y, s = rng.choice(_PRODUCTS), rng.choice(_UFS), rng.choice([2016, 2017, 2018]), rng.randint(1, 5)
        kind = i % 6
        if kind == 0:
            lines.append(f"Comprei o {p} e {rng.choice(_OPINIONS)}. Nota {s} de 5.")
        elif kind == 1:
            lines.append(rng.choice(_QUESTIONS).format(y=y, uf=uf, p=p))
        elif kind == 2:
            lines.append(rng.choice(_PUSH).format(p=p))
        elif kind == 3:
            lines.append(rng.choice(_INSIGHTS).format(uf=uf, p=p, n=s))
        elif kind == 4:
            lines.append(rng.choice(_SQL))
        else:
            lines.append(json.dumps({"produto": p, "nota": s, "entrega_no_prazo": rng.random() < 0.5,
                                     "sentimento": rng.choice(["positivo", "negativo", "neutro"])},
                                    ensure_ascii=False))
    return lines


def build_tokenizer(seed: int = SEED):
    """A byte-level BPE (as Qwen2's) trained on `corpus()`, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        # Every byte is in the vocabulary, so any text (and any sampled id) round-trips.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(seed=seed), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS,
        pad_token=PAD,
        padding_side="left",
        model_max_length=2048,
    )
    wrapped.chat_template = CHATML_TEMPLATE
    return wrapped


def build_tiny_model(out_dir, *, seed: int = SEED, mean_length: int = 24, hidden_size: int = 64) -> Path:
    """Write a tiny Qwen2 chat model (weights, tokenizer, chat template) to `out_dir`.

    Deterministic for a given `seed`. `mean_length` sets how many tokens a sampled
    completion runs on average before EOS (see the module docstring); `hidden_size` gives
    a differently shaped sibling (an adapter of one must not load on the other).
    Returns the folder.
    """
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(seed)
    eos_id = tokenizer.convert_tokens_to_ids(EOS)
    pad_id = tokenizer.convert_tokens_to_ids(PAD)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        dtype="float32",
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    with torch.no_grad():
        _plant_eos_rate(model, eos_id, mean_length)
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _plant_eos_rate(model, eos_id: int, mean_length: int) -> None:
    """Give EOS a near-constant logit so P(EOS) per step is about 1 / mean_length."""
    import torch

    embed = model.model.embed_tokens.weight
    vocab = embed.shape[0]
    # A constant component in every embedding survives the (small-init) layers, so after the
    # final RMSNorm dimension 0 is positive at every position.
    embed[:, 0] = 0.1
    head = model.lm_head.weight
    head[:, 0] = 0.0  # no other token rides the constant direction
    head[eos_id, 0] = 1.0
    # softmax: p = e^L / (e^L + V - 1)  =>  L = log(p (V - 1) / (1 - p))
    p = 1.0 / max(2, mean_length)
    target = math.log(p * (vocab - 1) / (1 - p))
    # Calibrate on a fixed batch of token ids: the EOS logit is (head[eos, 0] * h0 + noise).
    ids = torch.arange(64 * 4).remainder(vocab).view(4, 64)
    logits = model(input_ids=ids).logits[..., eos_id]
    head[eos_id, 0] = target / float(logits.mean())
