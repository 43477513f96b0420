"""Who is acting: the User value passed to every store method that changes state, and
the role checks enforced there (never only by hiding a button).

Roles: annotator (scores), reviewer (reviews comparisons), engineer (samples, launches
training), admin (everything, including users and gate thresholds).

A User passed in is only a claim: store methods check the account as it is stored now
(`Store.acting`), so a demoted or disabled user holding an old User value is refused.
The command line acts as SYSTEM, an identity rather than a name: `is_system(actor)` is
true for that one object only, never for an account (the username "system" is reserved,
and an account that has it anyway gains nothing from it).
"""

from __future__ import annotations

from dataclasses import dataclass

from data.store.errors import PermissionDenied

ROLES: tuple[str, ...] = ("annotator", "engineer", "reviewer", "admin")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    active: bool = True


@dataclass(frozen=True)
class _CommandLine(User):
    """The type of SYSTEM alone; equal to no User built from an account."""


# The identity used by CLI commands run on the machine itself (trusted shell access).
SYSTEM: User = _CommandLine(id=0, username="system", role="admin")
RESERVED_USERNAMES = ("system",)


def is_system(actor) -> bool:
    """True only for SYSTEM itself (not for an account named "system", nor a copy of it)."""
    return actor is SYSTEM


def require_role(actor: User | None, *roles: str, action: str = "this action") -> User:
    """Raise PermissionDenied unless `actor` is active and has one of `roles` (admin always may)."""
    if actor is None:
        raise PermissionDenied(f"{action} needs a logged-in user")
    if not actor.active:
        raise PermissionDenied(f"user {actor.username!r} is disabled")
    if actor.role != "admin" and actor.role not in roles:
        allowed = ", ".join(roles)
        raise PermissionDenied(f"{action} needs role {allowed}; {actor.username!r} is {actor.role}")
    return actor
