"""A student's browser, reduced to what the end-to-end test needs: HTTPS through nginx with the
host's self-signed certificate, a cookie session, and the CSRF token of the login form."""

from __future__ import annotations

import http.cookiejar
import json
import re
import secrets
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

_CSRF = re.compile(r'name="csrf[-_]token"[^>]*(?:content|value)="([^"]+)"')


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    def __init__(self, base_url: str, cafile: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        context = ssl.create_default_context(cafile=cafile)
        # The certificate names the site, the test reaches it by address.
        context.check_hostname = False
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            urllib.request.HTTPSHandler(context=context), _KeepRedirects)
        self.timeout = timeout
        self.csrf = ""

    def request(self, method: str, path: str, *, data: bytes | None = None, json_body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        all_headers = {"Accept": "application/json", **(headers or {})}
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        if method != "GET" and self.csrf:
            all_headers["X-CSRF-Token"] = self.csrf
        if method != "GET":
            # As a browser sends it (Referrer-Policy: same-origin): over HTTPS the CSRF check
            # also wants the request to come from this site.
            all_headers.setdefault("Referer", self.base_url + "/")
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=all_headers)
        try:
            with self.opener.open(req, timeout=self.timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read() if exc.fp else b""

    def json(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, _, body = self.request(method, path, **kwargs)
        try:
            return status, json.loads(body or b"null")
        except ValueError:
            return status, {"raw": body[:500].decode("utf-8", "replace")}

    def _form_token(self, path: str) -> str:
        status, _, page = self.request("GET", path, headers={"Accept": "text/html"})
        match = _CSRF.search(page.decode("utf-8", "replace"))
        assert status == 200 and match, f"GET {path}: {status}, no CSRF token"
        return match.group(1)

    def signup(self, email: str, password: str, name: str) -> None:
        self.csrf = self._form_token("/signup")
        form = {"email": email, "password": password, "password2": password, "display_name": name,
                "csrf_token": self.csrf}
        status, headers, body = self.request("POST", "/signup", data=urllib.parse.urlencode(form).encode(),
                                             headers={"Content-Type": "application/x-www-form-urlencoded",
                                                      "Accept": "text/html"})
        assert status == 302, f"signup: HTTP {status} {body[:300]!r}"
        if headers.get("Location", "").endswith("/library"):
            # Releases before 0.2 logged a new account in at once (the upgrade test installs one).
            self.csrf = self._form_token("/library")
            return
        # Signing up answers alike for new and taken addresses, so it does not log in: log in.
        self.login(email, password)

    def login(self, email: str, password: str) -> dict[str, str]:
        """Log in; returns the response headers (their Set-Cookie says how the cookies are sent)."""
        self.csrf = self._form_token("/login")
        form = {"email": email, "password": password, "csrf_token": self.csrf}
        status, headers, body = self.request("POST", "/login", data=urllib.parse.urlencode(form).encode(),
                                             headers={"Content-Type": "application/x-www-form-urlencoded",
                                                      "Accept": "text/html"})
        assert status == 302, f"login: HTTP {status} {body[:300]!r}"
        self.csrf = self._form_token("/library")
        return headers

    def upload(self, course_id: str, filename: str, content: bytes, mime: str) -> tuple[int, Any]:
        boundary = "----e2e" + secrets.token_hex(12)
        body = b"".join([
            f"--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="files"; filename="{filename}"\r\n'.encode(),
            f"Content-Type: {mime}\r\n\r\n".encode(), content, b"\r\n",
            f"--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="csrf_token"\r\n\r\n{self.csrf}\r\n'.encode(),
            f"--{boundary}--\r\n".encode(),
        ])
        return self.json("POST", f"/api/v1/courses/{course_id}/documents", data=body,
                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def wait_for_document(self, document_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status, doc = self.json("GET", f"/api/v1/documents/{document_id}")
            if status == 200 and doc["status"] in ("ready", "failed"):
                return doc
            if time.monotonic() > deadline:
                raise AssertionError(f"document {document_id} still {doc} after {timeout:.0f}s")
            time.sleep(0.5)

    def wait_for_job(self, job_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status, job = self.json("GET", f"/api/v1/jobs/{job_id}")
            if status == 200 and job["state"] in ("succeeded", "failed"):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {job} after {timeout:.0f}s")
            time.sleep(0.5)
