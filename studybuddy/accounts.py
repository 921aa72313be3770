"""Accounts: sign up (the first account is the admin), authenticate, passwords, disable, erase.

Answers never tell whether an address has an account: `register` does the same work for a
taken address as for a new one, and `authenticate` hashes against a placeholder for an
unknown address, so both take as long either way.
"""

from __future__ import annotations

import logging
import re

from .passwords import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    PasswordRejected,
    check_policy,
    hash_password,
    spend_hash_time,
    verify_password,
)
from .store import DuplicateError, Store, new_id
from .store.models import User

log = logging.getLogger(__name__)

__all__ = ["MAX_PASSWORD", "MIN_PASSWORD", "AccountError", "authenticate", "change_password", "create_user",
           "log_out_everywhere", "register", "reset_password", "set_disabled"]

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 254
MAX_DISPLAY_NAME = 80


class AccountError(ValueError):
    """A problem the person can fix; the message is shown to them."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _check_new(email: str, password: str) -> None:
    if len(email) > MAX_EMAIL or not EMAIL_RE.match(email):
        raise AccountError("Please enter a valid e-mail address.")
    try:
        check_policy(password, email)
    except PasswordRejected as exc:
        raise AccountError(str(exc)) from None


def create_user(store: Store, email: str, password: str, display_name: str = "",
                is_admin: bool | None = None, language: str = "", email_verified: bool = False) -> User:
    """Create an account. The very first account becomes admin unless told otherwise."""
    email = normalize_email(email)
    _check_new(email, password)
    display_name = display_name.strip()[:MAX_DISPLAY_NAME]
    if store.users.get_by_email(email) is not None:
        raise AccountError("An account with this e-mail address already exists.")
    if is_admin is None:
        is_admin = store.users.count() == 0
    user = User(
        id=new_id(),
        email=email,
        password_hash=hash_password(password),
        display_name=display_name or email.split("@")[0],
        is_admin=is_admin,
        language=language,
        email_verified=email_verified,
    )
    try:
        store.users.add(user)
    except DuplicateError:
        raise AccountError("An account with this e-mail address already exists.") from None
    log.info("account %s created%s", user.id, " (admin)" if is_admin else "")
    return user


def register(store: Store, email: str, password: str, display_name: str = "",
             language: str = "") -> tuple[User, bool]:
    """Sign up from the web: (the account, whether it existed already). A taken address costs
    the same time as a new one and is not an error: the caller answers both alike."""
    email = normalize_email(email)
    _check_new(email, password)
    existing = store.users.get_by_email(email)
    if existing is not None:
        spend_hash_time()
        return existing, True
    try:
        return create_user(store, email, password, display_name, language=language), False
    except AccountError:
        # Taken between the look-up and the insert.
        taken = store.users.get_by_email(email)
        if taken is None:
            raise
        return taken, True


def authenticate(store: Store, email: str, password: str) -> User | None:
    """The account if the password is right (disabled ones included: the caller says so)."""
    email = normalize_email(email)[:MAX_EMAIL + 1]
    user = store.users.get_by_email(email) if email else None
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None else None


def _end_sessions(store: Store, user_id: str, keep: str = "") -> None:
    store.accounts.bump_session_version(user_id)
    store.accounts.sessions.delete_for_user(user_id, keep=keep)


def change_password(store: Store, user: User, current: str, new: str) -> None:
    """Every session of the account ends (the caller starts a new one for this browser)."""
    if not verify_password(user.password_hash, current):
        raise AccountError("The current password is not correct.")
    try:
        check_policy(new, user.email)
    except PasswordRejected as exc:
        raise AccountError(str(exc)) from None
    store.users.update(user.id, password_hash=hash_password(new))
    _end_sessions(store, user.id)


def reset_password(store: Store, user_id: str, new: str) -> None:
    """A new password from a reset link: it also proves the address, and ends every session."""
    user = store.users.get(user_id)
    if user is None:
        raise AccountError("This link is not valid.")
    try:
        check_policy(new, user.email)
    except PasswordRejected as exc:
        raise AccountError(str(exc)) from None
    store.users.update(user_id, password_hash=hash_password(new), email_verified=True)
    _end_sessions(store, user_id)
    store.accounts.throttle.clear(f"account:{user.email}")


def log_out_everywhere(store: Store, user_id: str) -> None:
    _end_sessions(store, user_id)


def set_disabled(store: Store, user_id: str, disabled: bool) -> None:
    store.users.update(user_id, disabled=disabled)
    if disabled:
        _end_sessions(store, user_id)
