"""One base model in memory serving several LoRA adapters, for comparisons.

A comparison generates with the base model and with one adapter per seed. Loading a full
copy of the base for each side costs its weights' memory and load time again; here the
base is loaded once, every adapter is attached to it through PEFT under its side's label,
and `use(label)` switches between them (`set_adapter`), or turns them all off for the
base side (`disable_adapter`), which gives the base model's own outputs.

    adapters = AdapterSet(load_model(base), {"s42": "runs/a/best_checkpoint", "s123": ...})
    with adapters.use("s42") as loaded:    # a LoadedModel generating with that adapter
        generate(loaded, prompts, params)
    with adapters.use(None) as loaded:     # the base alone
        ...
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path

from train.models.loading import LoadedModel, check_adapter, resolve_adapter


class AdapterSet:
    def __init__(self, base: LoadedModel, adapters: Mapping[str, str | Path], *, check: bool = True,
                 local_only: bool = True):
        """`check`: run check_adapter on each (skip it only when the caller already did)."""
        if base.checkpoint_id is not None:
            raise ValueError(f"AdapterSet needs the base model alone; it already carries {base.checkpoint_id}")
        self.base = base
        self.paths = {label: resolve_adapter(path) for label, path in adapters.items()}
        self.model = base.model
        for label, folder in self.paths.items():
            if check:
                check_adapter(folder, base.model_id, local_only=local_only)
            self.model = _attach(self.model, folder, label)
        if self.paths:
            self.model.eval()

    @contextlib.contextmanager
    def use(self, label: str | None) -> Iterator[LoadedModel]:
        """A LoadedModel that generates with adapter `label`, or with the base alone (None)."""
        if label is None:
            ctx = self.model.disable_adapter() if self.paths else contextlib.nullcontext()
            with ctx:
                yield dataclasses.replace(self.base, model=self.model, checkpoint_id=None)
            return
        if label not in self.paths:
            raise KeyError(f"no adapter {label!r}; loaded: {', '.join(self.paths) or 'none'}")
        self.model.set_adapter(label)
        yield dataclasses.replace(self.base, model=self.model, checkpoint_id=str(self.paths[label]))


def _attach(model, folder: Path, label: str):
    """The first adapter wraps the model in a PeftModel; later ones are loaded beside it."""
    if hasattr(model, "load_adapter") and hasattr(model, "peft_config"):
        model.load_adapter(str(folder), adapter_name=label, is_trainable=False)
        return model
    from peft import PeftModel  # PEFT imports torch: loaded only when an adapter is attached

    return PeftModel.from_pretrained(model, str(folder), adapter_name=label, is_trainable=False)
