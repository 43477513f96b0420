"""Reusing a base side already generated, instead of generating it again.

A comparison's base completions depend on the base model's weights, the eval prompts, the
generation settings, the samples per prompt and the chunk layout (each chunk is one batch
with its own seed), never on the tuned sides. So a second comparison against the same base
(the next checkpoint, another seed's run) copies the base side from the store: on CPU that
is about half of a two-sided comparison's time. The copied completions are scored again
with the current rewards, as freshly generated ones are, so a reward that moved since is
applied to both sides alike.

`base_key` hashes all of that. The model is identified by its folder's file names, sizes
and modification times (a rebuilt or retrained model in the same folder is a new key,
without reading hundreds of megabytes); a hub name, whose files the loader may update
under it, has no key and is always generated.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf")


def model_fingerprint(source: str) -> str | None:
    """Names, sizes and modification times of a local model folder's config and weights;
    None when `source` is not a folder holding weights."""
    folder = Path(source)
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.name.endswith(".json")))
    if not any(p.suffix in WEIGHT_SUFFIXES for p in files):
        return None
    h = hashlib.sha256()
    for p in files:
        st = p.stat()
        h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def base_key(base_source: str, eval_sha256: str, prompt_ids: list[str], params: dict, samples: int,
             chunk_size: int) -> str | None:
    """What the base side's outputs depend on; None when the base model cannot be identified."""
    fingerprint = model_fingerprint(base_source)
    if fingerprint is None:
        return None
    ident = {"base": str(Path(base_source).resolve()), "weights": fingerprint, "eval": eval_sha256,
             "prompts": prompt_ids, "params": params, "samples": samples, "chunk": chunk_size}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def stored_texts(chunk: list[dict], samples: int, stored: dict[tuple[str, int], dict]) -> list[list[dict]] | None:
    """The chunk's stored base results, per prompt and sample (in order), or None when any is
    missing: a chunk is reused whole or generated whole, as the seeds are per chunk."""
    out = []
    for row in chunk:
        found = [stored.get((row["prompt_id"], s)) for s in range(samples)]
        if any(r is None for r in found):
            return None
        out.append(found)
    return out
