"""Who is acting: the User value passed to every store method that changes state, and
the role checks enforced there (never only by hiding a button).

Roles: annotator (scores), reviewer (reviews comparisons), engineer (samples, launches
training), admin (everything, including users and gate thresholds).
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


# The identity used by CLI commands run on the machine itself (trusted shell access).
SYSTEM = User(id=0, username="system", role="admin")


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
