"""Sending mail over SMTP (STARTTLS or implicit TLS, verified with the system trust store).

Below every process that mails: the monitor (alerts, reports) and the web (account links).
"""

from __future__ import annotations

import email.utils
import logging
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from .config import MailConfig

log = logging.getLogger(__name__)


class MailError(Exception):
    """The mail could not be handed to the SMTP server (it is kept and retried)."""


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str
    to: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "text": self.text, "html": self.html, "to": list(self.to)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mail:
        return cls(str(data["subject"]), str(data["text"]), str(data["html"]), list(data.get("to") or []))


class Mailer:
    def __init__(self, config: MailConfig, hostname: str | None = None):
        self.config = config
        self.hostname = hostname or socket.getfqdn()

    @property
    def enabled(self) -> bool:
        return self.config.enabled and bool(self.config.admin_to)

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.config.ca_file or None)

    def build(self, mail: Mail) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.config.sender
        msg["To"] = ", ".join(mail.to or self.config.admin_to)
        # Subjects carry check names and outputs: keep them on one line.
        msg["Subject"] = " ".join(mail.subject.split())[:200]
        msg["Date"] = email.utils.formatdate(localtime=True)
        domain = self.config.sender.rpartition("@")[2] or None
        msg["Message-ID"] = email.utils.make_msgid("studybuddy", domain=domain)
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(mail.text)
        msg.add_alternative(mail.html, subtype="html")
        return msg

    def send(self, mail: Mail) -> None:
        """Hand the mail to the SMTP server; raises MailError on any failure."""
        cfg = self.config
        recipients = mail.to or cfg.admin_to
        if not recipients:
            raise MailError("no recipients (mail.admin_to is empty)")
        msg = self.build(mail)
        try:
            if cfg.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_seconds,
                                                      context=self.tls_context())
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
            with smtp:
                smtp.ehlo()
                if cfg.security == "starttls":
                    smtp.starttls(context=self.tls_context())
                    smtp.ehlo()
                if cfg.username:
                    smtp.login(cfg.username, cfg.password)
                refused = smtp.send_message(msg, from_addr=cfg.sender, to_addrs=recipients)
            if refused:
                log.warning("SMTP server refused some recipients: %s", ", ".join(refused))
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            raise MailError(f"{type(exc).__name__}: {exc}") from exc
        log.info("mail sent: %s", msg["Subject"])
