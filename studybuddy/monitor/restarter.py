"""Restarting our units and reading their state, through `systemctl` (allowed by our polkit rule)."""

from __future__ import annotations

import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# The verbs the polkit rule grants the monitor's account; nothing else is ever run.
ALLOWED_VERBS = ("restart", "try-restart", "reset-failed")
SHOW_PROPERTIES = ("ActiveState", "SubState", "Result", "NRestarts", "MainPID", "ControlGroup",
                   "MemoryCurrent", "CPUUsageNSec")
_UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.\\@-]+\.(service|target)$")


def under_systemd() -> bool:
    """Whether systemd runs this host (and so whether systemctl can restart anything)."""
    return Path("/run/systemd/system").is_dir()


class RestarterError(ValueError):
    """A command the monitor refuses to build (unknown unit or verb)."""


@dataclass(frozen=True)
class CommandResult:
    ok: bool
    command: list[str]
    returncode: int | None
    output: str
    stdout: str = ""

    @property
    def summary(self) -> str:
        if self.ok:
            return "ok"
        code = "timed out" if self.returncode is None else f"exit {self.returncode}"
        return f"{code}: {self.output}" if self.output else code


class Restarter:
    def __init__(self, units: list[str], systemctl: str = "systemctl", timeout: float = 30.0):
        for unit in units:
            if not _UNIT_NAME.match(unit):
                raise RestarterError(f"not a unit name: {unit!r}")
        self.units = list(units)
        self.systemctl = systemctl
        self.timeout = timeout

    def build(self, verb: str, unit: str) -> list[str]:
        """The exact command line; refuses anything the polkit rule would not allow."""
        if verb not in ALLOWED_VERBS:
            raise RestarterError(f"verb {verb!r} is not allowed")
        if unit not in self.units:
            raise RestarterError(f"unit {unit!r} is not one of ours")
        # --no-ask-password: never hang on an interactive polkit prompt. --no-block: a restart
        # waits for the old process to stop and the new one to send READY=1 (minutes for a worker
        # finishing a job), longer than the monitor's own watchdog allows; whether the restart
        # cured anything is judged by the next probe rounds instead.
        return [self.systemctl, "--no-ask-password", "--no-block", verb, unit]

    def build_show(self, unit: str) -> list[str]:
        if unit not in self.units:
            raise RestarterError(f"unit {unit!r} is not one of ours")
        return [self.systemctl, "show", unit, "--property=" + ",".join(SHOW_PROPERTIES)]

    def _run(self, command: list[str]) -> CommandResult:
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout,
                                  check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            out = exc.stderr or exc.stdout or ""
            if isinstance(out, bytes):
                out = out.decode(errors="replace")
            return CommandResult(False, command, None, out.strip()[:500])
        except OSError as exc:
            return CommandResult(False, command, 127, f"{type(exc).__name__}: {exc.strerror or exc}")
        output = (proc.stderr.strip() or proc.stdout.strip())[:500]
        return CommandResult(proc.returncode == 0, command, proc.returncode, output, proc.stdout)

    def run(self, verb: str, unit: str) -> CommandResult:
        command = self.build(verb, unit)
        result = self._run(command)
        if result.ok:
            log.warning("ran %s", " ".join(command))
        else:
            log.error("%s failed: %s", " ".join(command), result.summary)
        return result

    def restart(self, unit: str) -> CommandResult:
        return self.run("restart", unit)

    def show(self, unit: str) -> dict[str, str]:
        """`systemctl show` properties; raises RuntimeError when systemctl cannot answer."""
        result = self._run(self.build_show(unit))
        if not result.ok:
            raise RuntimeError(result.summary)
        return parse_show(result.stdout)


def parse_show(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props[key.strip()] = value.strip()
    return props


def stopped_on_purpose(props: dict[str, str]) -> bool:
    """Inactive after a clean stop (`systemctl stop`), as opposed to failed or crashed."""
    return props.get("ActiveState") == "inactive" and props.get("Result") == "success"
