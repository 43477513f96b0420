"""Fixtures: the tiny in-process Qwen2 model, and a home folder ready for sampling.

`tiny_model_dir` is built once per test session (about 4 s, deterministic) and reloaded
through train.models.loading.load_model like any real model; tests must not write into it (copy
it to a tmp_path first when a test needs to change its files).

`sample_home` is a fresh TUCANO_AUDIT_HOME per test holding copies of one small synthetic
build (commerce database and prompt sets, built once per session), so sampling, scoring
(the SQL reward runs queries on the commerce database) and job logs stay per test.
"""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """Path to a saved tiny Qwen2 chat model (random weights, byte-level BPE, ChatML)."""
    from train.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_model") / "tiny-qwen2")


@pytest.fixture(scope="session")
def small_build_dir(tmp_path_factory):
    """One small synthetic build (commerce.db, prompts/train.jsonl, prompts/eval.jsonl)."""
    try:
        from data.build import build
    except ImportError as exc:
        pytest.skip(f"data.build not available yet: {exc}")
    out = tmp_path_factory.mktemp("small_build")
    build(out, size="small")
    return out


@pytest.fixture
def sample_home(tmp_path, monkeypatch, small_build_dir):
    """A TUCANO_AUDIT_HOME with the small build copied in; no job or store variables set."""
    from data import paths
    from data.paths import ENV_STORE
    from data.store.progress import ENV_JOB_ID

    home = tmp_path / "home"
    (home / "prompts").mkdir(parents=True)
    shutil.copy(small_build_dir / "commerce.db", home / "commerce.db")
    for name in ("train.jsonl", "eval.jsonl"):
        shutil.copy(small_build_dir / "prompts" / name, home / "prompts" / name)
    monkeypatch.setenv(paths.ENV_HOME, str(home))
    monkeypatch.delenv(ENV_JOB_ID, raising=False)
    monkeypatch.delenv(ENV_STORE, raising=False)
    return home
