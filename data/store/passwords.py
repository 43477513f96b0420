"""Password hashing: salted scrypt (hashlib), stored as one self-describing string.

    hash_password("s3cret!") -> "scrypt$16384$8$1$<salt, base64>$<key, base64>"
    verify_password("s3cret!", stored) -> True

The cost parameters travel inside the string, so they can be raised later without
breaking old hashes. Verification compares in constant time (hmac.compare_digest).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from data.store.errors import InvalidInput

SCHEME = "scrypt"
# n=2**14, r=8, p=1 is the cost OWASP lists for scrypt (~80 ms here, 16 MiB of memory).
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 6
MAX_LENGTH = 1024  # scrypt takes any length; a cap stops a megabyte "password" from being a cheap DoS.


def check_password_policy(password: str) -> None:
    """Raise InvalidInput naming what is wrong with a new password."""
    if not isinstance(password, str):
        raise InvalidInput("password must be text")
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"password must have at most {MAX_LENGTH} characters")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * r * n * p * 2, dklen=KEY_BYTES)


def hash_password(password: str) -> str:
    """A fresh salted hash of `password` (policy checked first)."""
    check_password_policy(password)
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, N, R, P)
    b64 = base64.b64encode
    return f"{SCHEME}${N}${R}${P}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored`; False for a wrong password or a malformed hash."""
    if not stored or not isinstance(password, str) or len(password) > MAX_LENGTH:
        return False
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.b64decode(key)
        actual = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# A real hash to verify against when the username does not exist, so a failed login
# takes the same time whether or not the account exists.
_DUMMY_HASH: str | None = None


def burn_time(password: str) -> None:
    """Spend one verification's worth of time (used when the user is unknown)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    verify_password(password if isinstance(password, str) else "", _DUMMY_HASH)
