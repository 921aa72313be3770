"""Signed, single-use, time-limited links: confirm an e-mail address, reset a password.

The link carries an itsdangerous signature (so it cannot be made up or altered) over the id of
a token record in the store; the record is what makes it single-use and lets it expire.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .store import Store, new_id
from .store.account_models import AccountToken
from .store.models import User

VERIFY = "verify"
RESET = "reset"
PURPOSES = (VERIFY, RESET)


class LinkProblem(Exception):
    """`reason` is one of "invalid", "expired", "used"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"studybuddy-link-{purpose}")


def issue(store: Store, secret_key: str, user: User, purpose: str, lifetime_seconds: float, now: float) -> str:
    """A new link token; an earlier unused one for the same purpose stops working."""
    store.accounts.tokens.delete_for_user(user.id, purpose)
    record = store.accounts.tokens.add(AccountToken(new_id(), user.id, purpose, now + lifetime_seconds,
                                                    created_at=now))
    return str(_serializer(secret_key, purpose).dumps({"t": record.id, "u": user.id}))


def check(store: Store, secret_key: str, token: str, purpose: str, lifetime_seconds: float,
          now: float) -> AccountToken:
    """The token record if the link may be used; LinkProblem otherwise. Uses nothing up."""
    if len(token) > 500:
        raise LinkProblem("invalid")
    try:
        data = _serializer(secret_key, purpose).loads(token, max_age=int(lifetime_seconds) + 60)
    except SignatureExpired:
        raise LinkProblem("expired") from None
    except BadSignature:
        raise LinkProblem("invalid") from None
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        raise LinkProblem("invalid")
    record = store.accounts.tokens.get(data["t"])
    if record is None:
        # Replaced by a newer link, or the account is gone.
        raise LinkProblem("used")
    if record.user_id != data.get("u") or record.purpose != purpose:
        raise LinkProblem("invalid")
    if record.used_at is not None:
        raise LinkProblem("used")
    if record.expires_at < now:
        raise LinkProblem("expired")
    return record


def consume(store: Store, secret_key: str, token: str, purpose: str, lifetime_seconds: float,
            now: float) -> AccountToken:
    """check(), then use the link up atomically: of two clicks at once, one wins."""
    record = check(store, secret_key, token, purpose, lifetime_seconds, now)
    if not store.accounts.tokens.consume(record.id, now):
        raise LinkProblem("used")
    return record
