"""One exception per failure mode of the store and the services around it.

They subclass the builtin that fits, so the CLI prints them as one clear line.
"""


class StoreError(Exception):
    """Base of every store failure."""


class NotFound(StoreError, LookupError):
    """The named row (user, rollout, job, run...) does not exist."""


class InvalidInput(StoreError, ValueError):
    """A value was malformed or out of range; the message names it."""


class PermissionDenied(StoreError, PermissionError):
    """The acting user's role does not allow this action."""


class Conflict(StoreError, ValueError):
    """The action clashes with the store's state (e.g. a second active training run)."""
