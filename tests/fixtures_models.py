"""Fixtures: the tiny in-process Qwen2 model (session-scoped)."""
