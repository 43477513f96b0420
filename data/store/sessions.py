"""Store methods for browser sessions and log-in throttling (mixed into data.store.Store).

A session starts when a password (or single sign-on) log-in succeeds: `open_session`
records who logged in, with which role, until when, and returns a one-time hand-off code.
The browser trades that code for an HTTP-only cookie (`redeem_handoff`, called by the
app's /auth/session route); the cookie carries a random token, signed with this store's
`session_key` by the app, and the row keeps only the token's SHA-256. `check_session`
re-reads the stored account every time: an ended, expired or unknown session, a disabled
account, or a role changed since log-in all end it, with the reason.

Throttling: every log-in attempt is recorded before the password is checked
(`begin_login`), so parallel guesses count too; a success clears that username's
record. After FREE_FAILURES failures within FAILURE_WINDOW_S for a username, or from one
client, the next attempt must wait 1 s after the last failure, then 2, 4, 8 ... up to
MAX_DELAY_S (`backoff_seconds`); an attempt made too early is refused unchecked.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from data.store.errors import InvalidInput
from data.store.roles import ROLES, User
from data.store.values import utcnow

SESSION_SECONDS = 12 * 3600  # a working day; log in again after that
HANDOFF_SECONDS = 120.0
FREE_FAILURES = 3
FAILURE_WINDOW_S = 15 * 60.0
MAX_DELAY_S = 300.0
MAX_CLIENT_CHARS = 200


def backoff_seconds(failures: int) -> float:
    """The wait after the last failure before another attempt, given recent failures."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(2.0 ** (failures - FREE_FAILURES), MAX_DELAY_S)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _client(client) -> str:
    text = str(client or "unknown").strip() or "unknown"
    return text[:MAX_CLIENT_CHARS]


def _throttle_name(username) -> str:
    # Case variants of one name share a counter (usernames are case-sensitive, guesses are not).
    return str(username or "").strip().lower()[:64]


@dataclass(frozen=True)
class SessionCheck:
    """What `check_session` found: the account as stored now when the session is valid,
    else `user` None and `ended` the reason (e.g. "expired", "account disabled")."""

    session_id: int | None
    user: User | None
    cookie_issued: bool = False
    ended: str | None = None
    expires_at: float | None = None


class SessionsMixin:
    """Methods use self.conn / self.write() / self.acting() provided by Store."""

    def session_key(self) -> str:
        """The secret that signs this store's session cookies (made by the migration)."""
        return self.conn.execute("SELECT secret FROM session_key WHERE id = 1").fetchone()[0]

    def open_session(self, user: User, *, client: str | None = None,
                     seconds: float = SESSION_SECONDS) -> tuple[int, str]:
        """Start a session for an active account; returns (session id, one-time hand-off
        code that /auth/session trades for the cookie within HANDOFF_SECONDS)."""
        me = self.acting(user, *ROLES, action="logging in", account=True)
        if not 0 < float(seconds) <= 31 * 24 * 3600:
            raise InvalidInput(f"a session lasts more than 0 s and at most 31 days; got {seconds!r}")
        code = secrets.token_urlsafe(32)
        now = time.time()

        def write(conn):
            return conn.execute(
                "INSERT INTO sessions (user_id, role, client, handoff_hash, handoff_until, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [me.id, me.role, _client(client), _digest(code), now + HANDOFF_SECONDS, utcnow(),
                 now + float(seconds)]).lastrowid

        return self.write(write), code

    def redeem_handoff(self, code: str) -> tuple[str, float] | None:
        """(token, expires_at) for a live, unused hand-off code, which is used up; else None."""
        if not isinstance(code, str) or not code.strip():
            return None
        token, now = secrets.token_urlsafe(32), time.time()

        def write(conn):
            row = conn.execute(
                "SELECT id, expires_at FROM sessions WHERE handoff_hash = ? AND handoff_until >= ?"
                " AND ended_at IS NULL AND expires_at > ?", [_digest(code.strip()), now, now]).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE sessions SET token_hash = ?, handoff_hash = NULL, handoff_until = NULL"
                         " WHERE id = ?", [_digest(token), row[0]])
            return token, row[1]

        return self.write(write)

    def check_session(self, session_id: int | None = None, *, token: str | None = None) -> SessionCheck:
        """The session by id (this server's own record) or by cookie token, with its user
        re-read from the store; a session no longer valid is ended here, with the reason."""
        if session_id is None and not token:
            return SessionCheck(None, None, ended="no session")
        where, key = ("s.id = ?", session_id) if session_id is not None else ("s.token_hash = ?", _digest(token))
        row = self.conn.execute(
            "SELECT s.id, s.role, s.token_hash IS NOT NULL, s.expires_at, s.ended_reason, u.id, u.username,"
            f" u.role, u.active FROM sessions s JOIN users u ON u.id = s.user_id WHERE {where}", [key]).fetchone()
        if row is None:
            return SessionCheck(session_id, None, ended="unknown session")
        sid, role, issued, expires, ended, uid, username, role_now, active = row
        if ended is None:
            if expires <= time.time():
                ended = "the session expired"
            elif not active:
                ended = "the account was disabled"
            elif role_now != role:
                ended = f"the account's role changed to {role_now}"
            if ended is not None:
                self.end_session(sid, reason=ended)
        if ended is not None:
            return SessionCheck(sid, None, bool(issued), ended, expires)
        return SessionCheck(sid, User(uid, username, role_now, True), bool(issued), None, expires)

    def end_session(self, session_id: int | None = None, *, token: str | None = None,
                    reason: str = "logged out") -> bool:
        """End one session (by id or cookie token); False when it was not live."""
        if session_id is None and not token:
            return False
        where, key = ("id = ?", session_id) if session_id is not None else ("token_hash = ?", _digest(token))
        return self.write(lambda conn: conn.execute(
            f"UPDATE sessions SET ended_at = ?, ended_reason = ?, handoff_hash = NULL WHERE {where}"
            " AND ended_at IS NULL", [utcnow(), reason, key]).rowcount > 0)

    def list_sessions(self, username: str | None = None, *, live: bool = False) -> list[dict]:
        """Sessions (newest first) with username, role, client, times and end reason."""
        return self.query(
            "SELECT s.id, u.username, s.role, s.client, s.created_at, s.expires_at, s.ended_at, s.ended_reason"
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE (:who IS NULL OR u.username = :who)"
            " AND (:live = 0 OR (s.ended_at IS NULL AND s.expires_at > :now)) ORDER BY s.id DESC",
            {"who": username, "live": int(live), "now": time.time()})

    # -- throttling -------------------------------------------------------------------
    def login_wait(self, username: str, client: str | None, *, now: float | None = None) -> float:
        """Seconds before `username` may try again from `client` (0: now)."""
        return self._login_wait(self.conn, _throttle_name(username), _client(client),
                                time.time() if now is None else now)

    @staticmethod
    def _login_wait(conn, name: str, client: str, now: float) -> float:
        wait = 0.0
        for column, value in (("username", name), ("client", client)):
            count, last = conn.execute(f"SELECT count(*), max(at) FROM login_failures WHERE {column} = ?"
                                       " AND at > ?", [value, now - FAILURE_WINDOW_S]).fetchone()
            if count:
                wait = max(wait, last + backoff_seconds(count) - now)
        return max(0.0, wait)

    def begin_login(self, username: str, client: str | None, *, now: float | None = None) -> tuple[int | None, float]:
        """Record an attempt before its password is checked: (attempt id, 0) when it may go
        ahead, (None, seconds to wait) when it comes too early. The attempt counts as a
        failure until `login_succeeded` clears it."""
        name, who = _throttle_name(username), _client(client)
        now = time.time() if now is None else now

        def write(conn):
            conn.execute("DELETE FROM login_failures WHERE at <= ?", [now - FAILURE_WINDOW_S])
            wait = self._login_wait(conn, name, who, now)
            if wait > 0:
                return None, wait
            return conn.execute("INSERT INTO login_failures (username, client, at) VALUES (?, ?, ?)",
                                [name, who, now]).lastrowid, 0.0

        return self.write(write)

    def login_succeeded(self, username: str) -> None:
        """A right password: forget the failures recorded for that username."""
        name = _throttle_name(username)
        self.write(lambda conn: conn.execute("DELETE FROM login_failures WHERE username = ?", [name]))
