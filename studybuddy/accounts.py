"""Accounts: sign up (the first account is the admin), authenticate, change settings."""

from __future__ import annotations

import logging
import re

from werkzeug.security import check_password_hash, generate_password_hash

from .store import DuplicateError, Store, new_id
from .store.models import User

log = logging.getLogger(__name__)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


class AccountError(ValueError):
    """A problem the person can fix; the message is shown to them."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(store: Store, email: str, password: str, display_name: str = "",
                is_admin: bool | None = None, language: str = "") -> User:
    """Create an account. The very first account becomes admin unless told otherwise."""
    email = normalize_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError("Please enter a valid e-mail address.")
    if len(password) < MIN_PASSWORD:
        raise AccountError("The password must be at least 8 characters long.")
    if len(password) > 1024:
        raise AccountError("The password is too long.")
    display_name = display_name.strip()[:80]
    if store.users.get_by_email(email) is not None:
        raise AccountError("An account with this e-mail address already exists.")
    if is_admin is None:
        is_admin = store.users.count() == 0
    user = User(
        id=new_id(),
        email=email,
        password_hash=generate_password_hash(password),
        display_name=display_name or email.split("@")[0],
        is_admin=is_admin,
        language=language,
    )
    try:
        store.users.add(user)
    except DuplicateError:
        raise AccountError("An account with this e-mail address already exists.") from None
    log.info("account %s created%s", user.id, " (admin)" if is_admin else "")
    return user


def authenticate(store: Store, email: str, password: str) -> User | None:
    user = store.users.get_by_email(normalize_email(email))
    if user is None or not check_password_hash(user.password_hash, password):
        return None
    return user


def change_password(store: Store, user: User, current: str, new: str) -> None:
    if not check_password_hash(user.password_hash, current):
        raise AccountError("The current password is not correct.")
    if len(new) < MIN_PASSWORD:
        raise AccountError("The password must be at least 8 characters long.")
    store.users.update(user.id, password_hash=generate_password_hash(new))
