"""Grouped-query attention for CPU sampling and training, without copying the KV cache.

transformers' "sdpa" attention, given a padding mask (every left-padded batch), cannot
use PyTorch's native grouped-query path and repeats K and V once per query-head group, in
every layer at every step: on CPU that copy was half of a batched decode step.
`grouped_sdpa` computes the same attention with K and V read in place. It is registered
as the attention implementation "sdpa_grouped" and switched on by `use_grouped_attention`.

It is used for training too (TRL generates with, and back-propagates through, the same
model): tests/test_models.py checks on the tiny model in train mode that its loss and
every parameter's gradient equal stock SDPA's, padded and unpadded.
"""

from __future__ import annotations

GROUPED_SDPA = "sdpa_grouped"


def grouped_sdpa(module, query, key, value, attention_mask, dropout=0.0, scaling=None, is_causal=None, **kwargs):
    """transformers' SDPA attention for grouped-query models, without repeating K and V.

    With a padding mask (every left-padded batch) transformers' "sdpa" cannot use PyTorch's
    native GQA and copies the KV cache once per query head group, in every layer at every
    step: on CPU that copy was half of a batched decode step. Here the g query heads that
    share a KV head become g times as many query rows of that head, so K and V are read in
    place; the mask rows are repeated to match (masks are small). Same arithmetic, same
    results; without a mask (no padding) transformers' own path already avoids the copy.
    """
    import torch.nn.functional as F
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    b, heads, q, d = query.shape
    kv_heads = key.shape[1]
    groups = heads // kv_heads
    if groups == 1 or attention_mask is None or query.shape[-1] != value.shape[-1]:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, is_causal=is_causal, **kwargs)
    mask = attention_mask[:, :, -q:, :]
    mask = mask[:, :, None].expand(b, mask.shape[1], groups, q, mask.shape[-1])
    mask = mask.reshape(b, mask.shape[1], groups * q, mask.shape[-1])
    out = F.scaled_dot_product_attention(query.reshape(b, kv_heads, groups * q, d), key, value, attn_mask=mask,
                                         dropout_p=dropout if module.training else 0.0, scale=scaling)
    return out.reshape(b, heads, q, d).transpose(1, 2).contiguous(), None


def use_grouped_attention(model) -> bool:
    """Switch a grouped-query model that uses "sdpa" to grouped_sdpa; True when switched."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    cfg = model.config
    heads, kv_heads = getattr(cfg, "num_attention_heads", None), getattr(cfg, "num_key_value_heads", None)
    if getattr(cfg, "_attn_implementation", None) != "sdpa" or not heads or not kv_heads or heads == kv_heads:
        return False
    AttentionInterface.register(GROUPED_SDPA, grouped_sdpa)
    ALL_MASK_ATTENTION_FUNCTIONS.register(GROUPED_SDPA, sdpa_mask)  # it takes SDPA's masks as they are
    model.set_attn_implementation(GROUPED_SDPA)
    return True
