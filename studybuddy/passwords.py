"""Password policy and hashing: long enough, not a common password, never longer than 1024.

The common passwords are the 10,000 most frequent of zxcvbn's password frequency list (ranked
from real leaked password sets), shipped as data inside the `zxcvbn` package.
"""

from __future__ import annotations

from functools import lru_cache

from werkzeug.security import check_password_hash, generate_password_hash

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
COMMON_COUNT = 10_000


class PasswordRejected(ValueError):
    """The message (English, translated where shown) says what to change."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"][:COMMON_COUNT])


def check_policy(password: str, email: str = "") -> None:
    """Raise PasswordRejected unless the password may be used."""
    if len(password) > MAX_PASSWORD:
        raise PasswordRejected("The password is too long (1024 characters at most).")
    if len(password) < MIN_PASSWORD:
        raise PasswordRejected("The password must be at least 10 characters long.")
    lowered = password.lower()
    if lowered in common_passwords() or (email and lowered == email.strip().lower()):
        raise PasswordRejected("This password is too common and easy to guess. Please choose another.")


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash("an unguessable placeholder for unknown addresses")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown address) the same work is done against a
    placeholder, so an answer takes as long for an unknown address as for a known one."""
    if len(password) > MAX_PASSWORD:
        check_password_hash(_dummy_hash(), "")
        return False
    if password_hash is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(password_hash, password)


def spend_hash_time() -> None:
    """As long as hashing a new password: keeps refused and accepted sign-ups alike in time."""
    generate_password_hash("an unguessable placeholder for unknown addresses")
