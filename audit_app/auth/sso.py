"""Single sign-on (OIDC) through Streamlit's `st.login`, when secrets configure it.

Streamlit reads `[auth]` from `.streamlit/secrets.toml` (project folder or ~/.streamlit):
either one provider (`client_id`, `client_secret`, `server_metadata_url` directly under
`[auth]`) or several named ones (`[auth.google]`, `[auth.microsoft]`...). Logging in
proves an e-mail address; the store decides who that is: the active account whose
`email` matches, case-insensitively. No matching account, no access: identity comes from
the provider, roles only from the store.
"""

from __future__ import annotations

from collections.abc import Mapping

from data.store.roles import User


def oidc_providers() -> list[str | None] | None:
    """None when OIDC is not configured; else the providers to offer
    ([None] for a single unnamed provider, else the `[auth.<name>]` names)."""
    import streamlit as st

    try:
        auth = st.secrets.get("auth")
    except Exception:  # no secrets.toml at all, or one that does not parse
        return None
    if not isinstance(auth, Mapping) or not auth:
        return None
    named = sorted(k for k, v in auth.items() if isinstance(v, Mapping) and "client_id" in v)
    if named:
        return named
    return [None] if "client_id" in auth else None


def account_for_email(store, email: str | None) -> User | None:
    """The active store account with this e-mail (case-insensitive), or None."""
    if not email or "@" not in email:
        return None
    user = store.get_user_by_email(email.strip())
    return user if user is not None and user.active else None


def account_for_oidc_user(store, oidc_user) -> User | None:
    """The store account of a logged-in `st.user`, refusing unverified e-mail addresses."""
    if not getattr(oidc_user, "is_logged_in", False):
        return None
    data = oidc_user.to_dict() if hasattr(oidc_user, "to_dict") else dict(oidc_user)
    if data.get("email_verified") is False:
        return None
    return account_for_email(store, data.get("email"))


def oidc_logged_in() -> bool:
    """Whether this browser has a single sign-on session (False when OIDC is off)."""
    import streamlit as st

    return bool(st.user.get("is_logged_in", False))
