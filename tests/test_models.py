"""Model loading: backend choice, the tiny model through the real loader, LoRA adapters,
and the errors raised before any work starts."""

from __future__ import annotations

import json
import shutil

import pytest

from train.models import attention
from train.models import loading as models
from train.models.loading import (
    AdapterMismatch,
    BackendUnavailable,
    ModelNotFound,
    ModelUnavailable,
    choose_backend,
    load_model,
)

pytestmark = pytest.mark.slow


# -- backend choice --------------------------------------------------------------------------
def test_choose_backend_all_branches():
    assert choose_backend(True, True)[0] == "unsloth"
    assert "4-bit NF4" in choose_backend(True, True)[1]
    backend, reason = choose_backend(True, False)
    assert backend == "transformers" and "unsloth is not installed" in reason and "CUDA" in reason
    backend, reason = choose_backend(False, True)
    assert backend == "transformers" and "no CUDA" in reason
    assert choose_backend(False, False, "transformers")[0] == "transformers"
    with pytest.raises(BackendUnavailable, match="needs a CUDA device"):
        choose_backend(False, True, "unsloth")
    with pytest.raises(ValueError, match="unknown backend"):
        choose_backend(True, True, "vllm")


def test_cuda_branch_on_this_machine(monkeypatch, tiny_model_dir):
    """Only the device check is faked: unsloth really is absent here, so the CUDA branch
    picks transformers and says why, and forcing Unsloth fails before loading anything."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    backend, reason = models.detect_backend()
    assert backend == "transformers"
    assert "unsloth is not installed" in reason
    with pytest.raises(BackendUnavailable, match=r"pip install -e '\.\[gpu\]'"):
        load_model(tiny_model_dir, backend="unsloth")


# -- loading ---------------------------------------------------------------------------------
def test_load_tiny_model(tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    assert loaded.backend == "transformers" and loaded.device == "cpu"
    assert "no CUDA" in loaded.reason
    assert loaded.model_id == str(tiny_model_dir.resolve())
    assert loaded.checkpoint_id is None
    tok = loaded.tokenizer
    assert tok.padding_side == "left"
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    text = tok.apply_chat_template([{"role": "user", "content": "Oi"}], tokenize=False, add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")
    assert not loaded.model.training


def test_tiny_model_is_deterministic(tmp_path, tiny_model_dir):
    from train.models.tiny import build_tiny_model

    again = build_tiny_model(tmp_path / "again")
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (again / name).read_bytes() == (tiny_model_dir / name).read_bytes(), name


def test_missing_model_path(tmp_path):
    with pytest.raises(ModelNotFound, match="does not exist"):
        load_model(tmp_path / "nope")
    with pytest.raises(FileNotFoundError):
        load_model("./models/not-here")


def test_folder_without_config(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFound, match="no config.json"):
        load_model(tmp_path / "empty")


def test_hub_id_offline_not_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="HF_HUB_OFFLINE") as info:
        load_model("Polygl0t/Tucano2-qwen-0.5B-Instruct")
    assert isinstance(info.value, LookupError)


# -- adapters --------------------------------------------------------------------------------
def _make_adapter(base_dir, out_dir):
    """A LoRA adapter trained (well, perturbed) on `base_dir`, saved like a checkpoint."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(base_dir.resolve()))
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    peft_model.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="module")
def adapter_dir(tiny_model_dir, tmp_path_factory):
    return _make_adapter(tiny_model_dir, tmp_path_factory.mktemp("adapter") / "checkpoint-1")


def test_load_with_adapter_changes_outputs(tiny_model_dir, adapter_dir):
    import torch

    base = load_model(tiny_model_dir)
    tuned = load_model(tiny_model_dir, adapter_dir)
    assert tuned.checkpoint_id == str(adapter_dir.resolve())
    ids = torch.tensor([[5, 17, 42, 99]])
    with torch.no_grad():
        a = base.model(input_ids=ids).logits
        b = tuned.model(input_ids=ids).logits
    assert not torch.allclose(a, b)


def test_adapter_from_a_moved_base_still_loads(tmp_path, tiny_model_dir, adapter_dir):
    moved = tmp_path / "elsewhere" / tiny_model_dir.name
    shutil.copytree(tiny_model_dir, moved)
    assert load_model(moved, adapter_dir).checkpoint_id is not None


def test_adapter_of_another_base_by_name(tmp_path, tiny_model_dir, adapter_dir):
    other = tmp_path / "other"
    shutil.copytree(adapter_dir, other)
    cfg = json.loads((other / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = "HuggingFaceTB/SmolLM2-135M-Instruct"
    (other / "adapter_config.json").write_text(json.dumps(cfg))
    with pytest.raises(AdapterMismatch, match="trained on HuggingFaceTB/SmolLM2-135M-Instruct"):
        load_model(tiny_model_dir, other)


def test_adapter_of_another_base_by_shape(tmp_path, tiny_model_dir, adapter_dir):
    """Same folder name, different width: the names agree, the tensor shapes do not."""
    from train.models.tiny import build_tiny_model

    narrow = build_tiny_model(tmp_path / "narrow" / tiny_model_dir.name, hidden_size=32)
    with pytest.raises(AdapterMismatch, match="does not fit"):
        load_model(narrow, adapter_dir)


def test_adapter_folder_errors(tmp_path, tiny_model_dir):
    with pytest.raises(ModelNotFound, match="adapter folder .* does not exist"):
        load_model(tiny_model_dir, tmp_path / "missing")
    (tmp_path / "notadapter").mkdir()
    with pytest.raises(ModelNotFound, match="no adapter_config.json"):
        load_model(tiny_model_dir, tmp_path / "notadapter")


def test_grouped_attention_matches_sdpa(tiny_model_dir):
    """The tiny model has 4 query heads per 2 KV heads: the loader switches it to grouped
    SDPA, whose logits on a left-padded batch equal transformers' own SDPA."""
    import torch

    loaded = load_model(tiny_model_dir)
    model = loaded.model
    assert model.config._attn_implementation == attention.GROUPED_SDPA
    ids = torch.tensor([[0, 0, 0, 5, 17, 42, 99], [8, 9, 10, 11, 12, 13, 14]])
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]])
    with torch.no_grad():
        grouped = model(input_ids=ids, attention_mask=mask).logits
        model.set_attn_implementation("sdpa")
        plain = model(input_ids=ids, attention_mask=mask).logits
        model.set_attn_implementation(attention.GROUPED_SDPA)
    assert torch.allclose(grouped[mask.bool()], plain[mask.bool()], atol=1e-5)


def test_grouped_attention_gradients_match_sdpa_in_train_mode(tiny_model_dir):
    """Training back-propagates through the same model, so grouped SDPA must give the same
    loss and the same gradient for every parameter as stock SDPA, on a left-padded batch
    (the grouped path) and an unpadded one (transformers' own path)."""
    import torch

    loaded = load_model(tiny_model_dir, for_training=True)
    model = loaded.model
    assert model.training and model.config._attn_implementation == attention.GROUPED_SDPA
    torch.manual_seed(0)
    ids = torch.randint(3, model.config.vocab_size, (3, 9))
    padded = torch.ones_like(ids)
    padded[0, :4] = 0
    padded[1, :2] = 0
    for mask in (padded, torch.ones_like(ids)):
        results = {}
        for impl in (attention.GROUPED_SDPA, "sdpa"):
            model.set_attn_implementation(impl)
            model.zero_grad(set_to_none=True)
            labels = ids.masked_fill(mask == 0, -100)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            results[impl] = (loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                                             if p.grad is not None})
        (loss_g, grads_g), (loss_s, grads_s) = results[attention.GROUPED_SDPA], results["sdpa"]
        assert torch.allclose(loss_g, loss_s, atol=1e-6)
        assert grads_g.keys() == grads_s.keys() and len(grads_g) > 10
        for name in grads_g:
            assert torch.allclose(grads_g[name], grads_s[name], rtol=1e-4, atol=1e-6), name
    model.set_attn_implementation(attention.GROUPED_SDPA)
