"""Batched sampling of chat completions with explicit generation parameters.

    params = GenParams(temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=256, seed=7)
    outs = generate(loaded, [messages_a, messages_b], params, k=8, batch_size=16)
    outs[0][3].text, .prompt_tokens, .completion_tokens, .truncated

Why parameters are always explicit: a model's `generation_config.json` may ship defaults
(the recipe this project follows lost a run to temperature 0.1, which made all 8 rollouts
of a prompt identical). GenParams has no "use the model's default": every field is a value,
and the model's own generation config is swapped for a neutral one during the call, so no
unset field can leak in either.

How batches are built: each prompt is rendered once with the tokenizer's chat template,
the K copies of every prompt are flattened into rows, rows are ordered by prompt length
(less padding) and cut into batches of `batch_size`. A batch is left-padded with an
attention mask (decoder-only models continue from the right edge), each row stops at its
own EOS, and a row that never reaches EOS within `max_new_tokens` is marked truncated.
`on_batch(BatchInfo)` is called after every batch (the sampler writes rows there, so a
killed job keeps every finished batch); `on_step(StepInfo)` after every decoding step, with
the tokens the batch has produced so far, so a long batch still shows that it moves
(train.models.progress turns both into progress reports).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from train.models.loading import eos_token_ids

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads: see train/models/loading.py


@dataclass(frozen=True)
class GenParams:
    """Sampling parameters; temperature 0 means greedy, top_k 0 and top_p 1.0 disable those filters."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 256
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.temperature, int | float) or self.temperature < 0:
            raise ValueError(f"temperature must be a number >= 0 (0 = greedy), got {self.temperature!r}")
        if not isinstance(self.top_p, int | float) or not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if not isinstance(self.top_k, int) or isinstance(self.top_k, bool) or self.top_k < 0:
            raise ValueError(f"top_k must be an integer >= 0 (0 = off), got {self.top_k!r}")
        if not isinstance(self.max_new_tokens, int) or isinstance(self.max_new_tokens, bool) or self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be an integer >= 1, got {self.max_new_tokens!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GenParams:
        return cls(**{k: d[k] for k in ("temperature", "top_p", "top_k", "max_new_tokens", "seed") if k in d})

    def generation_config(self, eos_token_ids: list[int], pad_token_id: int | None):
        """A transformers GenerationConfig with every sampling-relevant field set."""
        from transformers import GenerationConfig

        sample = self.temperature > 0
        # Greedy ignores the filters; leaving them unset there avoids transformers' warning,
        # and the neutral model config (see _neutral_generation_config) fills nothing harmful.
        return GenerationConfig(
            do_sample=sample,
            temperature=float(self.temperature) if sample else 1.0,
            top_p=float(self.top_p) if sample else 1.0,
            top_k=int(self.top_k) if sample else None,
            max_new_tokens=int(self.max_new_tokens),
            min_new_tokens=0,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            typical_p=1.0,
            min_p=0.0 if sample else None,
            num_beams=1,
            num_return_sequences=1,
            eos_token_id=list(eos_token_ids),
            pad_token_id=pad_token_id,
        )


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int  # generated tokens, the closing EOS included
    truncated: bool  # hit max_new_tokens before EOS


@dataclass(frozen=True)
class BatchInfo:
    """What one finished batch produced: (prompt index, sample index, Generation) items."""

    done: int
    total: int
    items: list[tuple[int, int, Generation]]
    new_tokens: int
    seconds: float
    elapsed: float


@dataclass(frozen=True)
class StepInfo:
    """Where a batch is after one decoding step: `tokens` generated in it so far (rows that
    already ended stop counting; each row's closing EOS counts, as in completion_tokens)."""

    batch_index: int
    batches: int
    step: int
    max_new_tokens: int
    rows: int
    tokens: int


def validate_request(prompts, k: int, batch_size: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k (completions per prompt) must be an integer >= 1, got {k!r}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    for i, messages in enumerate(prompts):
        if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and "role" in m and "content" in m for m in messages
        ):
            raise ValueError(f"prompt {i} is not a list of {{role, content}} messages")


def render_prompt(tokenizer, messages: list[dict]) -> list[int]:
    """Token ids of `messages` through the chat template, ending with the assistant turn."""
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def generate(loaded, prompts: list[list[dict]], params: GenParams, *, k: int = 1, batch_size: int = 8,
             on_batch: Callable[[BatchInfo], None] | None = None,
             on_step: Callable[[StepInfo], None] | None = None) -> list[list[Generation]]:
    """K completions for each prompt (a list of chat messages); result[i][j] is prompt i's j-th."""
    if not isinstance(params, GenParams):
        raise TypeError("params must be a train.models.generation.GenParams")
    validate_request(prompts, k, batch_size)
    if getattr(loaded, "backend", None) == "endpoint":
        return loaded.generate(prompts, params, k=k, batch_size=batch_size, on_batch=on_batch)

    import torch

    tok, model = loaded.tokenizer, loaded.model
    encoded = [render_prompt(tok, messages) for messages in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    rows = [(pi, j) for pi in order for j in range(k)]
    eos_ids = eos_token_ids(model, tok)
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else eos_ids[0]
    config = params.generation_config(eos_ids, pad_id)
    device = getattr(model, "device", None) or loaded.device
    results: list[list[Generation | None]] = [[None] * k for _ in prompts]
    started = time.perf_counter()
    done = 0
    batches = -(-len(rows) // batch_size)
    with _neutral_generation_config(model, eos_ids, pad_id), torch.inference_mode():
        for b, start in enumerate(range(0, len(rows), batch_size)):
            chunk = rows[start:start + batch_size]
            t0 = time.perf_counter()
            # One seed per batch: reproducible for a given (seed, batch layout), and batches differ.
            torch.manual_seed(params.seed * 1_000_003 + b)
            steps = _StepReporter(on_step, b, batches, params.max_new_tokens, eos_ids) if on_step else None
            out, width = _generate_batch(model, [pi for pi, _ in chunk], encoded, pad_id, config, device,
                                         share_prefill=loaded.backend == "transformers", steps=steps)
            new = out[:, width:].tolist()
            items, new_tokens = [], 0
            for (pi, j), ids in zip(chunk, new, strict=True):
                gen = _finish_row(tok, ids, eos_ids, len(encoded[pi]))
                results[pi][j] = gen
                items.append((pi, j, gen))
                new_tokens += gen.completion_tokens
            done += len(chunk)
            if on_batch is not None:
                now = time.perf_counter()
                on_batch(BatchInfo(done=done, total=len(rows), items=items, new_tokens=new_tokens,
                                   seconds=now - t0, elapsed=now - started))
    return results  # type: ignore[return-value]


def _generate_batch(model, prompt_ids: list[int], encoded: list[list[int]], pad_id: int, config, device,
                    *, share_prefill: bool, steps=None):
    """model.generate on one batch of rows (row r continues prompt encoded[prompt_ids[r]]).

    When rows repeat a prompt (the K samples of GRPO-style sampling), each distinct prompt is
    prefilled once: its KV cache is computed for all but the last prompt token, copied to its
    K rows, and generate() continues from there (it runs the last token itself, so the first
    sampled token sees exactly the logits it would without the shared cache). Prefill is most
    of the work for long prompts and short completions; this divides it by K.
    Returns (sequences, prompt width).
    """
    import torch
    from transformers import StoppingCriteriaList

    extra = {"stopping_criteria": StoppingCriteriaList([steps])} if steps is not None else {}
    unique = list(dict.fromkeys(prompt_ids))
    input_ids, attention = _left_pad([encoded[pi] for pi in unique], pad_id)
    width = input_ids.shape[1]
    input_ids, attention = input_ids.to(device), attention.to(device)
    if not share_prefill or len(unique) == len(prompt_ids) or width < 2:
        rows = torch.tensor([unique.index(pi) for pi in prompt_ids], device=device)
        return model.generate(input_ids=input_ids[rows], attention_mask=attention[rows],
                              generation_config=config, **extra), width
    from transformers import DynamicCache

    # Positions as generate() derives them from the mask, so the cache and the rest agree.
    positions = (attention.cumsum(-1) - 1).masked_fill(attention == 0, 0)
    cache = DynamicCache(config=_base_config(model))
    model(input_ids=input_ids[:, :-1], attention_mask=attention[:, :-1], position_ids=positions[:, :-1],
          past_key_values=cache, use_cache=True, logits_to_keep=1)
    rows = torch.tensor([unique.index(pi) for pi in prompt_ids], device=device)
    cache.batch_select_indices(rows)
    return model.generate(input_ids=input_ids[rows], attention_mask=attention[rows], past_key_values=cache,
                          generation_config=config, **extra), width


class _StepReporter:
    """A stopping criterion that never stops: generate() calls it once per decoding step,
    and it counts the tokens of the rows still generating (a row ends at its first EOS)."""

    def __init__(self, callback, batch_index: int, batches: int, max_new_tokens: int, eos_ids: list[int]):
        self.callback, self.batch_index, self.batches = callback, batch_index, batches
        self.max_new_tokens, self.eos_ids = max_new_tokens, list(eos_ids)
        self.step = self.tokens = 0
        self.ended = None

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        last = input_ids[:, -1]
        if self.ended is None:
            self.ended = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        self.step += 1
        self.tokens += int((~self.ended).sum())  # this step's token of every row not ended before it
        self.ended |= torch.isin(last, torch.tensor(self.eos_ids, device=last.device))
        self.callback(StepInfo(self.batch_index, self.batches, self.step, self.max_new_tokens,
                               int(input_ids.shape[0]), self.tokens))
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def _base_config(model):
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.config


def _left_pad(seqs: list[list[int]], pad_id: int):
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        if s:
            ids[r, width - len(s):] = torch.tensor(s, dtype=torch.long)
            mask[r, width - len(s):] = 1
    return ids, mask


def _finish_row(tok, ids: list[int], eos_ids: list[int], prompt_tokens: int) -> Generation:
    """Cut a generated row at its first EOS (what follows is padding)."""
    stop = next((i for i, t in enumerate(ids) if t in eos_ids), None)
    if stop is None:
        return Generation(tok.decode(ids, skip_special_tokens=True), prompt_tokens, len(ids), True)
    return Generation(tok.decode(ids[:stop], skip_special_tokens=True), prompt_tokens, stop + 1, False)


@contextlib.contextmanager
def _neutral_generation_config(model, eos_ids: list[int], pad_id: int):
    """Swap the model's generation_config for a neutral one during the call.

    transformers fills every field our config leaves unset from model.generation_config;
    a model not loaded through train.models (e.g. one a trainer is holding) may still carry
    its shipped defaults, so we blank them here as well.
    """
    from transformers import GenerationConfig

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    saved = getattr(base, "generation_config", None)
    base.generation_config = GenerationConfig(eos_token_id=list(eos_ids), pad_token_id=pad_id)
    try:
        yield
    finally:
        base.generation_config = saved
