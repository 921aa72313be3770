"""`studybuddy run` on embedded defaults: serves with no servers or keys, stops cleanly on Ctrl-C."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_run_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBUDDY_")}
    env["STUDYBUDDY_APP__STATE_DIR"] = str(tmp_path / "data")
    proc = subprocess.Popen([sys.executable, "-m", "studybuddy.cli", "run", "--port", "0"], cwd=tmp_path,
                            env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            match = re.search(r"running at (http://\S+/)", line)
            if match:
                url = match.group(1)
        assert url, "".join(lines)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(url + "signup", timeout=10).read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        form = urllib.parse.urlencode({"email": "student@example.com", "password": "a good password",
                                       "password2": "a good password", "csrf_token": token}).encode()
        login_page = opener.open(url + "signup", data=form, timeout=10)
        # Signing up answers alike for new and taken addresses: it leads to the log-in page.
        assert "/login" in login_page.geturl()
        token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.read().decode()).group(1)  # type: ignore[union-attr]
        form = urllib.parse.urlencode({"email": "student@example.com", "password": "a good password",
                                       "csrf_token": token}).encode()
        library = opener.open(url + "login", data=form, timeout=10)
        assert library.geturl().endswith("/library")
        token = re.search(r'name="csrf-token" content="([^"]+)"', library.read().decode()).group(1)  # type: ignore[union-attr]
        form = urllib.parse.urlencode({"name": "ביולוגיה", "csrf_token": token}).encode()
        course_page = opener.open(url + "library", data=form, timeout=10).read().decode()
        assert "ביולוגיה" in course_page
        assert (tmp_path / "data" / "studybuddy.db").is_file()
        assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o777 == 0o600
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, proc.stdout.read()  # type: ignore[union-attr]


def test_waitress_refuses_an_oversized_body_by_its_length(app: object) -> None:
    import http.client
    import threading

    from studybuddy.web.serve import serve

    bound: list[int] = []
    ready = threading.Event()

    def on_bound(port: int) -> None:
        bound.append(port)
        ready.set()

    threading.Thread(target=serve, args=(app, "127.0.0.1", 0), daemon=True,
                     kwargs={"threads": 2, "on_bound": on_bound, "max_body": 10_000}).start()
    assert ready.wait(10)

    def oversized_post(path: str, **headers: str) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", bound[0], timeout=10)
        conn.putrequest("POST", path)
        conn.putheader("Content-Length", "50000000")
        for name, value in headers.items():
            conn.putheader(name.replace("_", "-"), value)
        conn.endheaders()
        return conn.getresponse()

    response = oversized_post("/api/v1/courses/x/documents", Content_Type="application/octet-stream")
    assert response.status == 413
    # Answered like our other errors: JSON for the API, in the default language (Hebrew).
    assert response.getheader("Content-Type", "").startswith("application/json")
    from studybuddy.ingest import messages

    body = json.loads(response.read())
    assert body["error"] != messages.REQUEST_TOO_LARGE.format(limit=1)  # translated
    assert "MB" in body["error"] and any("\u05d0" <= ch <= "\u05ea" for ch in body["error"])
    # A browser page gets the HTML error page.
    response = oversized_post("/courses/x/documents", Accept="text/html")
    assert response.status == 413
    assert response.getheader("Content-Type", "").startswith("text/html")
    page = response.read().decode()
    assert "<html" in page and 'lang="he"' in page
