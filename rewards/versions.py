"""Reward versions: a stable hash of a reward's source and parameters.

Rollouts, audits, gate decisions and training runs record the version, so "this run was
vetted" can be checked: a gate decision is void once the version it names changes.

The source part hashes the *syntax tree* of every module the reward declares in
`source_modules` (its own module, the parser, the schema, the word lists, ...), with
docstrings removed: editing code or a word list changes the version; reformatting,
comments and docstrings do not. Parameters are hashed as canonical JSON, so a copy with
a planted bug (`make_push_reward(length_penalty=False)`) has its own version.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
from functools import cache
from typing import Any

VERSION_CHARS = 16


def source_digest(source: str) -> str:
    """Hash of a module's code: its AST without docstrings (comments and layout ignored)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


@cache
def module_digest(module: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise LookupError(f"cannot find the source of module {module!r}")
    with open(spec.origin, encoding="utf-8") as f:
        return source_digest(f.read())


def version_hash(name: str, task: str, params: dict[str, Any], digests: dict[str, str]) -> str:
    payload = json.dumps(
        {"name": name, "task": task, "params": params, "sources": digests},
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:VERSION_CHARS]


def compute_version(reward) -> str:
    """The version of a Reward object (Reward.version calls this)."""
    digests = {m: module_digest(m) for m in reward.source_modules}
    return version_hash(reward.name, reward.task, reward.params, digests)


def reward_version(name: str) -> str:
    """The version of the registered reward `name`."""
    from rewards.registry import get_reward

    return get_reward(name).version


def current_versions() -> dict[str, str]:
    """task -> version of that task's default reward."""
    from rewards.registry import default_reward_name
    from rewards.types import TASKS

    return {task: reward_version(default_reward_name(task)) for task in TASKS}
