"""The one place the monitor speaks HTTP to the web app: a cookie session with CSRF handling."""

from __future__ import annotations

import http.cookiejar
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

_CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
_CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class HttpError(Exception):
    """The request did not get an HTTP answer (refused, timed out, reset...)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _LoopbackIsSecure(http.cookiejar.DefaultCookiePolicy):
    """Secure cookies go back over plain HTTP to a loopback address, as browsers do for
    localhost: the monitor talks to the web service directly, behind nginx's HTTPS."""

    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        host = urllib.parse.urlsplit(request.get_full_url()).hostname or ""
        if host in ("127.0.0.1", "::1", "localhost") or host.startswith("127."):
            return True
        return bool(super().return_ok_secure(cookie, request))


class HttpClient:
    def __init__(self, timeout: float = 10.0):
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar(policy=_LoopbackIsSecure())
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        self.csrf = ""
        self.last_location = ""

    def request(self, method: str, url: str, *, data: bytes | None = None, json_body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, str]:
        """Returns (status, body text); raises HttpError when there is no HTTP answer at all."""
        all_headers = {"Accept": "application/json", **(headers or {})}
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        if method != "GET" and self.csrf:
            all_headers["X-CSRF-Token"] = self.csrf
        req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with self.opener.open(req, timeout=self.timeout) as response:
                self.last_location = response.headers.get("Location", "")
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            self.last_location = exc.headers.get("Location", "") if exc.headers else ""
            body = exc.read().decode("utf-8", "replace") if exc.fp else ""
            return exc.code, body
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise HttpError(f"{method} {urllib.parse.urlsplit(url).path}: {reason}") from exc

    def _fetch_csrf(self, url: str) -> None:
        status, page = self.request("GET", url, headers={"Accept": "text/html"})
        match = _CSRF_META.search(page) or _CSRF_INPUT.search(page)
        if status != 200 or not match:
            raise HttpError(f"{urllib.parse.urlsplit(url).path} answered {status} without a CSRF token")
        self.csrf = match.group(1)

    def login(self, url: str, email: str, password: str) -> None:
        self._fetch_csrf(url)
        form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": self.csrf})
        status, _ = self.request("POST", url, data=form.encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise HttpError(f"login as {email} failed (HTTP {status})")
        # Logging in starts a new session, and with it a new CSRF token: take it from the landing page.
        self._fetch_csrf(urllib.parse.urljoin(url, self.last_location or "/"))

    def upload(self, url: str, field: str, filename: str, content: bytes, mime: str) -> tuple[int, str]:
        boundary = "----studybuddy" + secrets.token_hex(12)
        body = b"".join([
            f"--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'.encode(),
            f"Content-Type: {mime}\r\n\r\n".encode(),
            content,
            f"\r\n--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="csrf_token"\r\n\r\n{self.csrf}\r\n'.encode(),
            f"--{boundary}--\r\n".encode(),
        ])
        return self.request("POST", url, data=body,
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
