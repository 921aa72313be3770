"""Checks of settings that have a shape: e-mail addresses, URLs, ports.

Each problem names the setting, the value and what a good one looks like, so `check-config`
can print it next to the line it comes from.
"""

from __future__ import annotations

import email.errors
from collections.abc import Callable
from email.headerregistry import Address
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .config import Config

WEB_SCHEMES = ("http", "https")
AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")


def email_problem(value: str) -> str:
    """Why `value` is not a bare address (local@domain) an SMTP server takes, or ""."""
    try:
        # The standard library's RFC 5322 addr-spec parser: it refuses brackets, display names,
        # spaces and a missing domain, the mistakes that an SMTP server answers with 553.
        address = Address(addr_spec=value)
    except (ValueError, IndexError, email.errors.MessageError):
        return f"{value!r} is not an e-mail address: write it bare, like admin@example.org"
    if not address.username or not address.domain:
        return f"{value!r} is not an e-mail address: write it bare, like admin@example.org"
    return ""


def _without_password(url: str) -> str:
    """The URL as it may be shown: a password in it becomes ***."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{hostpart}"


def url_problem(value: str, schemes: tuple[str, ...], *, needs_host: bool = True) -> str:
    """Why `value` is not a URL with one of `schemes` (and a host, and a valid port), or ""."""
    example = f"{schemes[0]}://host:port"
    problem = _url_problem(value, schemes, needs_host, example)
    return problem.replace(repr(value), repr(_without_password(value))) if problem else ""


def _url_problem(value: str, schemes: tuple[str, ...], needs_host: bool, example: str) -> str:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        return f"{value!r} is not a valid URL ({exc}), e.g. {example}"
    if parts.scheme not in schemes:
        wanted = " or ".join(f"{s}://" for s in schemes)
        return f"{value!r} must start with {wanted}, e.g. {example}"
    if needs_host and not parts.hostname:
        return f"{value!r} has no host name, e.g. {example}"
    if port is not None and port == 0:
        return f"{value!r} has port 0; give the port the server listens on"
    return ""


def port_problem(value: int, *, zero_means: str = "") -> str:
    low = 0 if zero_means else 1
    if low <= value <= 65535:
        return ""
    allowed = f"between 1 and 65535 (0 {zero_means})" if zero_means else "between 1 and 65535"
    return f"must be a port number {allowed}, got {value}"


def shaped_value_problems(cfg: Config, where: Callable[[str], str]) -> list[str]:
    """Every e-mail address, URL and port in the settings that does not have its shape."""
    problems: list[str] = []

    def add(key: str, problem: str) -> None:
        if problem:
            problems.append(f"{where(key)}: {key}: {problem}")

    add("mail.sender", email_problem(cfg.mail.sender))
    for i, address in enumerate(cfg.mail.admin_to):
        add(f"mail.admin_to[{i}]", email_problem(address))
    add("monitor.account_email", email_problem(cfg.monitor.account_email))

    add("monitor.web_url", url_problem(cfg.monitor.web_url, WEB_SCHEMES))
    for key, value in (("app.base_url", cfg.app.base_url), ("ai.openai_base_url", cfg.ai.openai_base_url),
                       ("ai.gemini_base_url", cfg.ai.gemini_base_url)):
        if value:
            add(key, url_problem(value, WEB_SCHEMES))
    if cfg.broker.url.startswith(tuple(f"{s}://" for s in AMQP_SCHEMES)):
        add("broker.url", url_problem(cfg.broker.url, AMQP_SCHEMES))

    add("mail.port", port_problem(cfg.mail.port))
    for key in ("web_port", "worker_port", "monitor_port"):
        add(f"metrics.{key}", port_problem(getattr(cfg.metrics, key), zero_means="turns it off"))
    return problems
