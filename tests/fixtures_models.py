"""Fixtures: the tiny in-process Qwen2 model (session-scoped).

`tiny_model_dir` is built once per test session (about 4 s, deterministic) and reloaded
through train.models.load_model like any real model; tests must not write into it (copy
it to a tmp_path first when a test needs to change its files).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """Path to a saved tiny Qwen2 chat model (random weights, byte-level BPE, ChatML)."""
    from train.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_model") / "tiny-qwen2")
