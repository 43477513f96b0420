"""Gate thresholds: the shipped defaults (gate_thresholds.yaml, revision 0) and the rules
every revision must follow.

The store keeps admins' revisions (data.store.audit) and validates each one here before
writing it, so a bad edit never reaches the gate, whoever calls the store.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import yaml

from data.store.errors import InvalidInput
from rewards.types import TASKS

THRESHOLDS_FILE = Path(__file__).with_name("gate_thresholds.yaml")
# key -> (type, low, high): the range a threshold may take.
THRESHOLD_KEYS: dict[str, tuple[type, float, float]] = {
    "min_items": (int, 3, 1_000_000),
    "min_prompts": (int, 5, 1_000_000),  # below 5 prompts no bootstrap interval is computed at all
    "min_annotators": (int, 1, 1000),
    "min_overlap": (int, 2, 1_000_000),
    "min_rho": (float, -1.0, 1.0),
    "min_ci_low": (float, -1.0, 1.0),
    "min_within_tau": (float, -1.0, 1.0),
    "min_within_ci_low": (float, -1.0, 1.0),
}


def load_default_thresholds(path: str | Path = THRESHOLDS_FILE) -> dict:
    """The shipped thresholds file, validated (a fresh copy; parsed again only when the file changes,
    since every annotate-page progress read consults it)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"gate thresholds file not found: {path}")
    return copy.deepcopy(_load(path, path.stat().st_mtime_ns))


@lru_cache(maxsize=8)
def _load(path: Path, _mtime_ns: int) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path.name} is not valid YAML: {exc}") from exc
    return validate_thresholds(data)


def _check_limits(values, where: str) -> dict:
    if not isinstance(values, Mapping):
        raise InvalidInput(f"gate thresholds: {where} must be a mapping of threshold -> value")
    out = {}
    for key, value in values.items():
        if key not in THRESHOLD_KEYS:
            raise InvalidInput(f"gate thresholds: unknown key {key!r} in {where}; "
                               f"valid keys: {', '.join(THRESHOLD_KEYS)}")
        kind, low, high = THRESHOLD_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidInput(f"gate thresholds: {where}.{key} must be a number, got {value!r}")
        if kind is int and value != int(value):
            raise InvalidInput(f"gate thresholds: {where}.{key} must be a whole number, got {value!r}")
        if not low <= value <= high:
            raise InvalidInput(f"gate thresholds: {where}.{key} = {value} is outside {low}..{high}")
        out[key] = kind(value)
    return out


def validate_thresholds(config) -> dict:
    """Normalised copy of a thresholds config; InvalidInput names what is wrong."""
    if not isinstance(config, Mapping):
        raise InvalidInput("gate thresholds must be a mapping with 'defaults' and 'tasks'")
    unknown = set(config) - {"version", "defaults", "tasks"}
    if unknown:
        raise InvalidInput(f"gate thresholds: unknown section(s) {', '.join(sorted(map(str, unknown)))}; "
                           "valid: version, defaults, tasks")
    defaults = _check_limits(config.get("defaults") or {}, "defaults")
    missing = [k for k in THRESHOLD_KEYS if k not in defaults]
    if missing:
        raise InvalidInput(f"gate thresholds: defaults must set {', '.join(missing)}")
    tasks = config.get("tasks") or {}
    if not isinstance(tasks, Mapping):
        raise InvalidInput("gate thresholds: tasks must be a mapping of task -> overrides")
    valid = TASKS
    per_task = {}
    for task, overrides in tasks.items():
        if task not in valid:
            raise InvalidInput(f"gate thresholds: unknown task {task!r}; valid tasks: {', '.join(valid)}")
        per_task[task] = _check_limits(overrides or {}, f"tasks.{task}")
    version = config.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidInput(f"gate thresholds: version must be an integer, got {version!r}")
    return {"version": version, "defaults": defaults, "tasks": per_task}


def with_shipped_keys(config: dict) -> dict:
    """A stored revision made before a threshold existed, completed with the shipped value
    of every key it lacks (so an older revision still judges every criterion)."""
    shipped = load_default_thresholds()["defaults"]
    return {**config, "defaults": {**shipped, **config.get("defaults", {})}}


def thresholds_for(config: dict, task: str) -> dict:
    """The effective thresholds of one task (defaults with its overrides)."""
    return {**config["defaults"], **config.get("tasks", {}).get(task, {})}
