"""What can be wrong with a model or an adapter as given, one exception per failure mode.

They subclass the builtin that fits (FileNotFoundError, LookupError, ValueError), so the
command line prints them as one clear line.
"""

from __future__ import annotations


class ModelError(ValueError):
    """A model or adapter cannot be used as given; the message says which and why."""


class ModelNotFound(ModelError, FileNotFoundError):
    """A local model or adapter path does not exist or is not a model folder."""


class ModelUnavailable(ModelError, LookupError):
    """A hub id that is neither cached locally nor reachable (offline or no network)."""


class AdapterMismatch(ModelError):
    """The LoRA adapter was trained on another base model."""


class BackendUnavailable(ModelError, LookupError):
    """The requested backend cannot run here (e.g. unsloth without CUDA or not installed)."""
