"""Store methods for users, login and roles (mixed into data.store.Store).

Passwords are kept only as salted scrypt hashes (data.store.passwords). Changing users is
an admin action, checked here (not only in the UI), and logged in `user_events` with who
did it. Role checks read the actor's *current* row, so a disabled account or a removed
role stops working at once even if a browser session still holds the old User.
"""

from __future__ import annotations

import re

from data.store.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from data.store.passwords import burn_time, hash_password, verify_password
from data.store.roles import RESERVED_USERNAMES, ROLES, SYSTEM, User, is_system, require_role
from data.store.values import utcnow

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")



def _user(row) -> User:
    return User(id=row["id"], username=row["username"], role=row["role"], active=bool(row["active"]))


def check_username(username) -> str:
    if not isinstance(username, str) or not USERNAME_RE.match(username.strip()):
        raise InvalidInput(
            f"invalid username {username!r}: 1-64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit"
        )
    if username.strip().lower() in RESERVED_USERNAMES:
        raise InvalidInput(f"the username {username.strip()!r} is reserved for the command line; choose another")
    return username.strip()


def check_role(role) -> str:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; valid roles: {', '.join(ROLES)}")
    return role


class UsersMixin:
    """Methods use self.conn / self.db / self.transaction() provided by Store."""

    # -- actors -----------------------------------------------------------------------
    def acting(self, actor: User | None, *roles: str, action: str, account: bool = False) -> User:
        """The actor as stored now, checked against `roles` (admin always passes); raises
        PermissionDenied for an account that is gone, renamed, disabled or lacks the role.

        SYSTEM (the command line, see data.store.roles.is_system) passes unless `account` is
        true, i.e. the action needs a real account (a score must name who gave it)."""
        if actor is None:
            raise PermissionDenied(f"{action} needs a logged-in user")
        if not isinstance(actor, User):
            raise PermissionDenied(f"{action} needs a user, got {type(actor).__name__}")
        if is_system(actor):
            if account:
                raise PermissionDenied(f"{action} needs a user account, not the command-line identity")
            return require_role(SYSTEM, *roles, action=action)
        row = self.conn.execute("SELECT id, username, role, active FROM users WHERE id = ?", [actor.id]).fetchone()
        if row is None or row[1] != actor.username:
            raise PermissionDenied(f"{action}: user {actor.username!r} does not exist")
        fresh = User(id=row[0], username=row[1], role=row[2], active=bool(row[3]))
        return require_role(fresh, *roles, action=action)

    # -- reading ----------------------------------------------------------------------
    def get_user(self, username: str) -> User | None:
        """The user named `username` (disabled ones too, with active=False), or None."""
        rows = self.query("SELECT id, username, role, active FROM users WHERE username = ?", [username])
        return _user(rows[0]) if rows else None

    def get_user_by_email(self, email: str) -> User | None:
        """The user whose email matches (case-insensitive), for OIDC logins; or None."""
        rows = self.query("SELECT id, username, role, active FROM users WHERE lower(email) = lower(?)", [email])
        return _user(rows[0]) if rows else None

    def list_users(self) -> list[dict]:
        """Every user as a dict: id, username, role, email, active (bool), created_at, created_by."""
        rows = self.query(
            "SELECT id, username, role, email, active, created_at, created_by FROM users ORDER BY username"
        )
        for row in rows:
            row["active"] = bool(row["active"])
        return rows

    def user_events(self, username: str | None = None, limit: int = 200) -> list[dict]:
        """The user admin log, newest first: username, action, detail, at, by."""
        if username is None:
            return self.query("SELECT * FROM user_events ORDER BY id DESC LIMIT ?", [limit])
        return self.query("SELECT * FROM user_events WHERE username = ? ORDER BY id DESC LIMIT ?",
                          [username, limit])

    # -- login ------------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> User | None:
        """The active user when `password` is right; None otherwise (same answer, and about
        the same time, for an unknown user, a wrong password or a disabled account)."""
        row = None
        if isinstance(username, str):
            row = self.conn.execute(
                "SELECT id, username, role, active, password_hash FROM users WHERE username = ?",
                [username.strip()],
            ).fetchone()
        if row is None or row[4] is None:
            burn_time(password)
            return None
        if not verify_password(password, row[4]) or not row[3]:
            return None
        return User(id=row[0], username=row[1], role=row[2], active=True)

    # -- changing (admin) -------------------------------------------------------------
    def add_user(self, username: str, role: str, password: str | None = None, *, email: str | None = None,
                 actor: User = SYSTEM) -> User:
        """Create an account. Password None makes an OIDC-only account (logs in by email)."""
        by = self.acting(actor, "admin", action="adding users")
        username, role = check_username(username), check_role(role)
        if email is not None:
            email = email.strip()
            if not EMAIL_RE.match(email):
                raise InvalidInput(f"invalid email {email!r}")
        if password is None and email is None:
            raise InvalidInput(f"user {username!r} needs a password or an email (for single sign-on)")
        pw_hash = hash_password(password) if password is not None else None
        with self.transaction(immediate=True) as conn:
            if conn.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
                raise Conflict(f"user {username!r} already exists")
            if email and conn.execute("SELECT 1 FROM users WHERE lower(email) = lower(?)", [email]).fetchone():
                raise Conflict(f"email {email!r} already belongs to another user")
            user_id = self.db["users"].insert({
                "username": username, "role": role, "password_hash": pw_hash, "email": email, "active": 1,
                "created_at": utcnow(), "created_by": by.username}).last_pk
            self._log_user_event(username, "add", f"role={role}", by)
        return User(id=user_id, username=username, role=role, active=True)

    def set_role(self, username: str, role: str, *, actor: User) -> User:
        """Give `username` another role (admin only; the last active admin keeps theirs)."""
        by = self.acting(actor, "admin", action="changing roles")
        role = check_role(role)
        with self.transaction(immediate=True) as conn:
            user = self._require_user(username)
            if user.role == "admin" and role != "admin":
                self._keep_an_admin(conn, user)
            conn.execute("UPDATE users SET role = ? WHERE id = ?", [role, user.id])
            self._log_user_event(username, "set-role", f"{user.role} -> {role}", by)
        return User(id=user.id, username=user.username, role=role, active=user.active)

    def disable_user(self, username: str, *, actor: User) -> None:
        """Disable an account: it can no longer log in or act (admin only)."""
        by = self.acting(actor, "admin", action="disabling users")
        with self.transaction(immediate=True) as conn:
            user = self._require_user(username)
            if user.role == "admin" and user.active:
                self._keep_an_admin(conn, user)
            conn.execute("UPDATE users SET active = 0 WHERE id = ?", [user.id])
            # Items it held go back to the pool at once instead of waiting for the lease to expire.
            self._release_leases(conn, user.id)
            self._log_user_event(username, "disable", None, by)

    def enable_user(self, username: str, *, actor: User) -> None:
        """Re-enable a disabled account (admin only)."""
        by = self.acting(actor, "admin", action="enabling users")
        with self.transaction(immediate=True):
            user = self._require_user(username)
            self.conn.execute("UPDATE users SET active = 1 WHERE id = ?", [user.id])
            self._log_user_event(username, "enable", None, by)

    def set_password(self, username: str, password: str, *, actor: User) -> None:
        """Set a new password (a user may change their own, an admin anyone's) and end every
        live session of the account: it logs in again with the new one."""
        target = self._require_user(username)
        if actor is not None and actor.id == target.id and actor.username == target.username:
            by = self.acting(actor, *self._all_roles(), action="changing your password")
        else:
            by = self.acting(actor, "admin", action="changing another user's password")
        pw_hash = hash_password(password)
        with self.transaction(immediate=True) as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", [pw_hash, target.id])
            # Every live session of the account ends with the old password: a browser left
            # logged in elsewhere (or a copied cookie) must log in again.
            conn.execute("UPDATE sessions SET ended_at = ?, ended_reason = 'the password was changed',"
                         " handoff_hash = NULL WHERE user_id = ? AND ended_at IS NULL", [utcnow(), target.id])
            self._log_user_event(username, "set-password", None, by)

    # -- helpers ----------------------------------------------------------------------
    @staticmethod
    def _all_roles() -> tuple[str, ...]:
        return ROLES

    def _require_user(self, username: str) -> User:
        user = self.get_user(username)
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user

    @staticmethod
    def _keep_an_admin(conn, user: User) -> None:
        others = conn.execute(
            "SELECT count(*) FROM users WHERE role = 'admin' AND active = 1 AND id != ?", [user.id]
        ).fetchone()[0]
        if others == 0:
            raise Conflict(f"{user.username!r} is the last active admin; make another admin first")

    def _log_user_event(self, username: str, action: str, detail: str | None, by: User) -> None:
        self.db["user_events"].insert({"username": username, "action": action, "detail": detail, "at": utcnow(),
                                       "by": by.username})
