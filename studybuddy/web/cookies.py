"""Flask's signed-cookie sessions, opened cheaply: a browser sends the same cookie with every
request, so a cookie already verified is not verified and decoded again.

The contents are unchanged: the same signature, salt, serializer and lifetime as Flask's own
interface (cookies it wrote stay valid, and the other way round). A kept cookie is still held to
its age on every request, and each request gets its own copy of the contents to change.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

# Distinct cookies kept: one per browser that is using the app right now is plenty.
KEPT = 4096


class KeptCookieSessions(SecureCookieSessionInterface):
    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._opened: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()
        self._lock = threading.Lock()  # waitress serves from several threads
        self._serializer: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask builds a serializer per request (and it test-serializes {} each time); it only
        depends on the keys, so one is made per key set."""
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        made = self._serializer
        if made is None or made[0] != keys:
            made = self._serializer = (keys, super().get_signing_serializer(app))
        return made[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = app.permanent_session_lifetime.total_seconds()
        now = _now()
        with self._lock:
            found = self._opened.get(value)
            if found is not None:
                self._opened.move_to_end(value)
        if found is None:
            try:
                data, signed = serializer.loads(value, max_age=int(max_age), return_timestamp=True)
            except BadSignature:
                return self.session_class()
            found = (data, signed.timestamp())
            with self._lock:
                self._opened[value] = found
                while len(self._opened) > self.kept:
                    self._opened.popitem(last=False)
        data, signed_at = found
        age = int(now) - int(signed_at)
        if age > max_age or age < 0:  # itsdangerous' own test: expired, or signed in the future
            return self.session_class()
        if all(isinstance(v, _SCALARS) for v in data.values()):
            return self.session_class(data)  # a copy of the dict; its values cannot change
        return self.session_class(copy.deepcopy(data))


_SCALARS = (str, int, float, bool, type(None))


def _now() -> float:
    return time.time()
