"""Per-prompt caches: what a reward works out from a prompt's fields once, for all the
answers to that prompt.

GRPO scores a group of completions of one prompt together, so a reward's prompt-side work
(the figures of a data summary, a brief's terms, the words of a review or a question) is
done once per group: `prompt_cache()` is `functools.lru_cache` on a function of the prompt's
fields (never of a completion), registered here so that `clear()` can forget them all, as a
process that has never seen the prompts would (bench/rewards.py's cold-prompt figure, and
tests that the scores do not depend on what was seen before).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

_CACHES: list[Any] = []


def prompt_cache(maxsize: int = 4096) -> Callable[[Callable], Callable]:
    """`lru_cache(maxsize)`, registered for `clear()`."""
    def wrap(fn: Callable) -> Callable:
        cached = lru_cache(maxsize=maxsize)(fn)
        _CACHES.append(cached)
        return cached
    return wrap


def register(cache: dict) -> dict:
    """Register a plain dict used as a per-prompt cache (cleared by `clear()`)."""
    _CACHES.append(cache)
    return cache


def clear() -> None:
    """Forget every per-prompt cache."""
    for cache in _CACHES:
        if isinstance(cache, dict):
            cache.clear()
        else:
            cache.cache_clear()
