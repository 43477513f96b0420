"""A reward's version: a stable hash of its source and its parameters.

Rollouts, audits, gate decisions and training runs record the version, so "this run was
vetted" can be checked: a gate decision is void once the version it names changes.

The source part hashes the *syntax tree* of every module the reward declares in
`source_modules` (its own module, the parser, the schema, the word lists, ...), with
docstrings removed: editing code or a word list changes the version; reformatting,
comments and docstrings do not. The tree is written out by `canonical`, not `ast.dump`,
whose text changes between Python minor versions (3.12 added `type_params`, 3.13
`show_empty`): an interpreter upgrade must not void every gate decision.
Parameters are hashed as canonical JSON, so a copy with a planted bug
(`make_push_reward(length_penalty=False)`) has its own version.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
from functools import cache
from typing import Any

VERSION_CHARS = 16
# Fields that newer Pythons add with an empty value (3.12: type_params) or that hold no code.
_IGNORED_FIELDS = frozenset({"type_params", "type_comment", "ctx"})


def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]


def canonical(node) -> str:
    """The tree as text that no Python version changes: node names and their non-empty
    fields, in a fixed order. (`ast.dump` is not that: 3.12 shows `type_params=[]`, 3.13
    leaves empty fields out.) Positions, load/store contexts and empty fields are left out."""
    if isinstance(node, ast.AST):
        parts = [f"{f}={canonical(v)}" for f, v in sorted(ast.iter_fields(node))
                 if f not in _IGNORED_FIELDS and v not in (None, [])]
        return f"{type(node).__name__}({','.join(parts)})"
    if isinstance(node, list):
        return "[" + ",".join(canonical(v) for v in node) + "]"
    return repr(node)


def _parse(source: str, attempts: int = 5) -> ast.AST:
    """ast.parse, again when CPython 3.11's AST constructor reports a recursion-depth
    mismatch: its depth counter is shared by threads (python/cpython#106905), so a parse in
    the app's warm-up thread can fail spuriously while a page script is being compiled.
    The same source always gives the same tree, so a retry is safe."""
    for attempt in range(attempts):
        try:
            return ast.parse(source)
        except SystemError as exc:
            if "recursion depth mismatch" not in str(exc) or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def source_digest(source: str) -> str:
    """Hash of a module's code: its syntax tree without docstrings (comments and layout ignored)."""
    tree = _parse(source)
    _strip_docstrings(tree)
    return hashlib.sha256(canonical(tree).encode()).hexdigest()


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
