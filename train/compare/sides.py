"""The tuned sides of a comparison: their names, their identity, and finding them.

`side_label` names an adapter `<run>/<checkpoint>`; `adapter_fingerprint` hashes its config
and weights (a retrained adapter in the same folder is a new comparison); `list_adapters`
finds the adapters under the runs folder for the app's picker.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from data import paths


def side_label(adapter: Path, runs_root: Path | None = None) -> str:
    """A short, stable name for a tuned side: `<run>/<checkpoint>` for a run's checkpoint."""
    root = (runs_root or paths.runs_dir()).resolve()
    try:
        rel = adapter.resolve().relative_to(root)
        return "/".join(rel.parts)
    except ValueError:
        return f"{adapter.parent.name}/{adapter.name}" if adapter.parent.name else adapter.name


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def adapter_fingerprint(adapter: Path) -> str:
    """Hash of the adapter's config and weights: a retrained adapter in the same folder is a new comparison."""
    h = hashlib.sha256()
    for name in ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin"):
        p = adapter / name
        if p.is_file():
            h.update(name.encode())
            h.update(file_sha256(p).encode())
    return h.hexdigest()


def list_adapters(root: str | Path | None = None, max_depth: int = 3) -> list[dict]:
    """LoRA adapter folders under the runs folder: {path, label, base_model}, best first."""
    root = Path(root) if root else paths.runs_dir()
    if not root.is_dir():
        return []
    found = []
    for cfg in root.rglob("adapter_config.json"):
        rel = cfg.parent.relative_to(root)
        if len(rel.parts) > max_depth:
            continue
        try:
            recorded = json.loads(cfg.read_text(encoding="utf-8")).get("base_model_name_or_path")
        except (OSError, json.JSONDecodeError):
            continue
        found.append({"path": str(cfg.parent), "label": side_label(cfg.parent, root), "base_model": recorded})
    found.sort(key=lambda a: (not a["path"].endswith("best_checkpoint"), a["label"]))
    return found
