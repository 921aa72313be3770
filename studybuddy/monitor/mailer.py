"""Mail the monitor sends: its templates; the SMTP transport is studybuddy.smtp."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ..smtp import Mail, Mailer, MailError

__all__ = ["Mail", "MailError", "Mailer", "TEMPLATE_DIR", "render", "template_env"]

TEMPLATE_DIR = Path(__file__).resolve().parent / "mail_templates"


def template_env() -> jinja2.Environment:
    """HTML templates are autoescaped: check output and log text are never trusted."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, subject: str, **context: Any) -> Mail:
    """Render `<template>.txt` and `<template>.html` into one multipart mail."""
    env = template_env()
    text = env.get_template(f"{template}.txt").render(subject=subject, **context)
    html = env.get_template(f"{template}.html").render(subject=subject, **context)
    return Mail(subject=subject, text=text, html=html)
