"""The session cookie: signed, expiring, HTTP-only, set by the app's own routes.

A Streamlit script cannot set a cookie (it talks to the browser over a websocket), so
the app server has two small HTTP routes beside Streamlit's (audit_app.auth.routes):

    POST /auth/session   body: the one-time hand-off code of a log-in that just
                         succeeded; answers with Set-Cookie (HttpOnly, SameSite=Lax,
                         Secure under https) and 204
    POST /auth/logout    ends the session the cookie names and deletes the cookie

After a log-in, the page runs `handoff_script(code)` (a fetch, no reload); from then on
a reload, a bookmark or a link opened in another tab reaches Streamlit with the cookie,
which `st.context.cookies` hands to the script, and audit_app.ui.context resumes the
session from it. The cookie's value is the session token signed with the store's key
(itsdangerous, with a timestamp): a value not made here, or older than the session
length, is refused before the store is asked. The token itself is checked against the
store (data.store.sessions), so logging out or disabling the account ends it at once.
"""

from __future__ import annotations

import json

from itsdangerous import BadSignature, URLSafeTimedSerializer

from data.store.sessions import SESSION_SECONDS

COOKIE = "tucano_session"
SESSION_ROUTE = "/auth/session"
LOGOUT_ROUTE = "/auth/logout"
_SALT = "tucano-audit-session"


def _serializer(key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=_SALT)


def sign(key: str, token: str) -> str:
    """The cookie value for a session token."""
    return _serializer(key).dumps(token)


def unsign(key: str, value: str | None, *, max_age: float = SESSION_SECONDS) -> str | None:
    """The token inside a cookie value, or None when it was not signed with `key`, is
    malformed, or is older than `max_age` seconds."""
    if not value or not isinstance(value, str) or len(value) > 1000:
        return None
    try:
        token = _serializer(key).loads(value, max_age=max_age)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    return token if isinstance(token, str) and token else None


# Our own constant scripts; the only value put in is json-encoded (a URL-safe code).
_HANDOFF = """<script>
fetch(%(route)s, {method: "POST", credentials: "same-origin", headers: {"Content-Type": "text/plain"},
                  body: %(code)s}).catch(() => {});
</script>"""

_LOGOUT = """<script>
fetch(%(route)s, {method: "POST", credentials: "same-origin"})
  .catch(() => {})
  .finally(() => { if (%(reload)s) window.location.replace("/"); });
</script>"""

HIDDEN_STYLE = "<style>.st-key-auth_scripts { display: none; }</style>"


def handoff_script(code: str) -> str:
    """The script that trades a hand-off code for the HTTP-only cookie (no page reload)."""
    return _HANDOFF % {"route": json.dumps(SESSION_ROUTE), "code": json.dumps(code)}


def logout_script(*, reload: bool) -> str:
    """The script that deletes the cookie (and, with `reload`, opens the log-in page)."""
    return _LOGOUT % {"route": json.dumps(LOGOUT_ROUTE), "reload": "true" if reload else "false"}
