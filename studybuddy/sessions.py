"""Server-side sessions: what a session or "remember me" cookie carries is a random secret whose
hash names a session record; the record holds the account's session version at log-in, when
it was issued and when it ends. Logging out deletes the record; "log out everywhere", a new
password and disabling an account bump the version, so every older record stops working."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from .config import Config
from .store import Store
from .store.account_models import SessionRecord
from .store.models import User

DAY = 86400.0
# last_seen_at is written at most this often per session (not on every request).
TOUCH_EVERY_SECONDS = 60.0
MAX_SESSIONS_PER_USER = 50


@dataclass(frozen=True)
class ActiveSession:
    token: str
    record: SessionRecord
    user: User


def session_id(token: str) -> str:
    """The record id of a cookie secret: a database leak does not hand out live sessions."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe_device(user_agent: str) -> str:
    """ "Firefox on Linux" from a User-Agent header; the raw start of it when unknown."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if browser and system:
        return f"{browser} · {system}"
    return re.sub(r"\s+", " ", browser or system or user_agent).strip()[:80]


def start(store: Store, config: Config, user: User, *, remember: bool, user_agent: str = "",
          address: str = "", now: float) -> ActiveSession:
    token = secrets.token_urlsafe(32)
    days = config.web.remember_days if remember else config.web.session_days
    record = SessionRecord(id=session_id(token), user_id=user.id, version=user.session_version,
                           expires_at=now + days * DAY, remember=remember,
                           device=describe_device(user_agent), address=address[:64],
                           created_at=now, last_seen_at=now)
    sessions = store.accounts.sessions
    sessions.delete_expired(now)
    sessions.add(record)
    for old in sessions.list_for_user(user.id)[MAX_SESSIONS_PER_USER:]:
        sessions.delete(old.id)
    return ActiveSession(token, record, user)


def resume(store: Store, token: str, now: float) -> ActiveSession | None:
    """The session a cookie names, if it is still good; a record that is not is deleted."""
    if not token or len(token) > 200:
        return None
    sessions = store.accounts.sessions
    found = sessions.get_with_user(session_id(token))
    if found is None:
        return None
    record, user = found
    if (record.expires_at < now or user is None or user.disabled
            or user.session_version != record.version):
        sessions.delete(record.id)
        return None
    if now - record.last_seen_at >= TOUCH_EVERY_SECONDS:
        sessions.touch(record.id, now)
    return ActiveSession(token, record, user)


def end(store: Store, token: str) -> None:
    store.accounts.sessions.delete(session_id(token))


def active_for(store: Store, user: User, now: float) -> list[SessionRecord]:
    return [r for r in store.accounts.sessions.list_for_user(user.id)
            if r.expires_at >= now and r.version == user.session_version]
