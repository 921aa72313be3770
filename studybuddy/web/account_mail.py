"""The mails accounts send (confirm the address, reset the password), through the SMTP mailer.

Each is rendered in the recipient's language. A failure to send is logged, never shown: the
page a person sees is the same whether a mail went out or not, and whether the address has an
account or not.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import render_template, request, url_for
from flask_babel import force_locale

from ..smtp import Mail, MailError, Mailer
from ..throttle import account_key
from . import LANGUAGES, get_services

log = logging.getLogger(__name__)

# Mails to one address per hour; more are dropped silently (they would all say the same).
MAX_MAILS_PER_ADDRESS_HOUR = 5


def mail_enabled() -> bool:
    return bool(get_services().config.mail.enabled)


def absolute_url(endpoint: str, **values: Any) -> str:
    """From app.base_url when set, so a forged Host header cannot redirect a link elsewhere."""
    base = get_services().config.app.base_url.rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return request.host_url.rstrip("/") + url_for(endpoint, **values)


def mail_language(language: str) -> str:
    """The recipient's language: theirs if they chose one, else the page's, else the default."""
    if language in LANGUAGES:
        return language
    from flask_babel import get_locale

    current = str(get_locale() or "")
    return current if current in LANGUAGES else get_services().config.app.default_language


def send_account_mail(to: str, language: str, subject: str, paragraphs: list[str], link: str = "",
                      link_label: str = "") -> bool:
    """Render and send one account mail (texts already in `language`); True if it was handed
    to the SMTP server."""
    services = get_services()
    if not services.config.mail.enabled:
        log.info("mail is disabled: an account mail was not sent")
        return False
    now = time.time()
    sent = services.store.accounts.throttle.fail(f"mail:{account_key(to)}", now, 3600)
    if sent > MAX_MAILS_PER_ADDRESS_HOUR:
        log.warning("account mails to one address are over %d an hour: not sending", MAX_MAILS_PER_ADDRESS_HOUR)
        return False
    lang = mail_language(language)
    with force_locale(lang):
        context = {"subject": subject, "paragraphs": paragraphs, "link": link, "link_label": link_label,
                   "lang": lang, "text_dir": "rtl" if lang == "he" else "ltr"}
        mail = Mail(subject=subject, text=render_template("mail/account.txt", **context),
                    html=render_template("mail/account.html", **context), to=[to])
    try:
        Mailer(services.config.mail).send(mail)
    except MailError as exc:
        log.warning("an account mail could not be sent: %s", exc)
        return False
    return True
