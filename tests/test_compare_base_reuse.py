"""What decides whether a base side can be reused (train.compare.base_reuse): the model
folder's weights as they are on disk, and every setting the outputs depend on."""

from __future__ import annotations

import os

from train.compare.base_reuse import base_key, model_fingerprint, stored_texts


def _model(folder):
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"0" * 64)
    return folder


def test_a_rewritten_model_is_another_key_and_a_hub_name_has_none(tmp_path):
    model = _model(tmp_path / "m")
    key = base_key(str(model), "sha", ["a", "b"], {"temperature": 0.1}, 2, 8)
    assert key == base_key(str(model), "sha", ["a", "b"], {"temperature": 0.1}, 2, 8)
    weights = model / "model.safetensors"
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # retrained in place
    assert base_key(str(model), "sha", ["a", "b"], {"temperature": 0.1}, 2, 8) != key
    assert model_fingerprint("HuggingFaceTB/SmolLM2-135M-Instruct") is None
    assert model_fingerprint(str(tmp_path)) is None  # a folder without weights
    assert base_key("HuggingFaceTB/SmolLM2-135M-Instruct", "sha", ["a"], {}, 1, 8) is None


def test_every_setting_is_in_the_key(tmp_path):
    model = str(_model(tmp_path / "m"))
    same = ("sha", ["a", "b"], {"temperature": 0.1, "seed": 42}, 2, 8)
    key = base_key(model, *same)
    for changed in (("sha2", ["a", "b"], {"temperature": 0.1, "seed": 42}, 2, 8),
                    ("sha", ["b", "a"], {"temperature": 0.1, "seed": 42}, 2, 8),
                    ("sha", ["a", "b"], {"temperature": 0.1, "seed": 43}, 2, 8),
                    ("sha", ["a", "b"], {"temperature": 0.1, "seed": 42}, 4, 8),
                    ("sha", ["a", "b"], {"temperature": 0.1, "seed": 42}, 2, 4)):
        assert base_key(model, *changed) != key, changed


def test_a_chunk_is_copied_whole_or_not_at_all():
    chunk = [{"prompt_id": "a"}, {"prompt_id": "b"}]
    stored = {("a", 0): {"completion": "x"}, ("a", 1): {"completion": "y"}, ("b", 0): {"completion": "z"}}
    assert stored_texts(chunk, 1, stored) == [[{"completion": "x"}], [{"completion": "z"}]]
    assert stored_texts(chunk, 2, stored) is None  # b's second sample is missing
