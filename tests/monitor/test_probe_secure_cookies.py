"""The upload probe logs in over plain HTTP on loopback while the app sets Secure cookies (as on
an installed host behind nginx): loopback counts as secure for the probe's cookie jar, as it
does in browsers. Before, the probe lost its session on every request."""

from __future__ import annotations

from typing import Any

from studybuddy.config import Config
from studybuddy.monitor import probes
from studybuddy.monitor.httpclient import HttpClient
from studybuddy.services import Services

from .test_probes import WebServer, ctx_for, worker  # noqa: F401 - the worker fixture


def test_upload_probe_round_trip_with_secure_cookies(cfg: Config, services: Services, worker: Any) -> None:  # noqa: F811
    secure = cfg.replace(web={"secure_cookies": True})
    web = WebServer(secure, Services(secure, store=services.store, broker=services.broker))
    ctx = ctx_for(cfg, services, web_url=web.url, account_password="monitor password 123",
                  upload_timeout_seconds=30.0)
    result = probes.probe_upload(ctx)[0]
    assert result.status == "pass", result


def test_secure_cookies_stay_off_the_wire_to_other_hosts() -> None:
    import http.cookiejar
    import urllib.request

    client = HttpClient()
    cookie = http.cookiejar.Cookie(0, "s", "v", None, False, "example.org", True, False, "/", True, True,
                                   None, False, None, None, {})
    client.jar.set_cookie(cookie)
    request = urllib.request.Request("http://example.org/")
    client.jar.add_cookie_header(request)
    assert not request.has_header("Cookie")
    request = urllib.request.Request("https://example.org/")
    client.jar.add_cookie_header(request)
    assert request.get_header("Cookie") == "s=v"
