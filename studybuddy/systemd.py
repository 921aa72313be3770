"""sd_notify over the sdnotify package: READY, STATUS, WATCHDOG, STOPPING.

Outside systemd (no NOTIFY_SOCKET) every call is a silent no-op.
"""

from __future__ import annotations

import logging
import os

import sdnotify

log = logging.getLogger(__name__)


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid.isdigit() and int(pid) != os.getpid()):
        return None
    try:
        return max(int(usec) / 1_000_000 / 2, 0.05)
    except ValueError:
        return None


class Notifier:
    def __init__(self) -> None:
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self._n = sdnotify.SystemdNotifier() if self.enabled else None
        self.last_status = ""
        self._failing = False

    def _send(self, message: str) -> None:
        # sdnotify's own notify() encodes latin-1 and silently drops anything else (an em dash,
        # Hebrew); systemd reads UTF-8, so we send the bytes over its connected socket ourselves.
        sock = getattr(self._n, "socket", None) if self._n is not None else None
        if sock is None:
            return
        try:
            sock.sendall(message.encode("utf-8"))
        except OSError as exc:
            # A lost WATCHDOG=1 means systemd will kill us: say so, once, not at every ping.
            if not self._failing:
                log.warning("sd_notify %r failed: %s (watchdog pings may be lost)", message.split("\n", 1)[0], exc)
            self._failing = True
            return
        if self._failing:
            log.warning("sd_notify works again")
            self._failing = False

    def ready(self, status: str = "") -> None:
        self._send("READY=1" + (f"\nSTATUS={status}" if status else ""))
        self.last_status = status or self.last_status

    def status(self, text: str) -> None:
        if text != self.last_status:
            self.last_status = text
            self._send(f"STATUS={text}")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def stopping(self, status: str = "stopping") -> None:
        self._send("STOPPING=1" + (f"\nSTATUS={status}" if status else ""))
