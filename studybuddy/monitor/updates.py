"""Is a newer `studybuddy` package available to apt? For the daily report.

Asked through python3-apt when it can be loaded (the package's virtual environment does not see
Debian's python3 modules, so apt_pkg is loaded from Debian's directory by file), else through
`apt-cache policy`. Both read what apt already knows (the lists of the last `apt update`); neither
changes anything. `options` are apt configuration items (`Dir::State::status` ...), so tests can
point apt at a repository of their own.
"""

from __future__ import annotations

import dataclasses
import importlib.machinery
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

PACKAGE = "studybuddy"
DEBIAN_PYTHON_DIRS = ("/usr/lib/python3/dist-packages",)
APT_TIMEOUT_SECONDS = 60.0


class AptUnavailable(Exception):
    """This way of asking apt is not there on this host."""


@dataclass(frozen=True)
class UpdateStatus:
    installed: str
    candidate: str = ""
    newer: bool = False
    error: str = ""
    via: str = ""
    running: str = ""  # the version this process runs, for a host where dpkg does not know it

    def line(self) -> str:
        """The report's line about the installed version and what apt offers."""
        if self.error:
            version = self.installed or self.running or "(version unknown)"
            return f"StudyBuddy {version}; could not ask apt about updates: {self.error}"
        if not self.installed:
            running = f" {self.running}" if self.running else ""
            return f"StudyBuddy{running} is not installed as a Debian package here; apt cannot tell about updates"
        if self.newer:
            return (f"StudyBuddy {self.installed} installed; {self.candidate} is available "
                    f"(apt install {PACKAGE})")
        return f"StudyBuddy {self.installed} installed; apt knows no newer version"


def load_apt_pkg() -> ModuleType:
    """python3-apt's apt_pkg: importable, or loaded from Debian's own module directory."""
    try:
        import apt_pkg  # type: ignore[import-not-found]

        return apt_pkg  # type: ignore[no-any-return]
    except ImportError:
        pass
    for directory in DEBIAN_PYTHON_DIRS:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(directory) / f"apt_pkg{suffix}"
            if not path.is_file():
                continue
            spec = importlib.util.spec_from_file_location("apt_pkg", path)
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except ImportError as exc:
                log.debug("cannot load %s: %s", path, exc)
                continue
            sys.modules["apt_pkg"] = module
            return module
    raise AptUnavailable("python3-apt is not installed")


def via_python_apt(package: str, options: Mapping[str, str]) -> UpdateStatus:
    apt_pkg = load_apt_pkg()
    apt_pkg.init_config()
    for key, value in options.items():
        apt_pkg.config.set(key, value)
    try:
        apt_pkg.init_system()
        cache = apt_pkg.Cache(None)  # None: no progress lines
        depcache = apt_pkg.DepCache(cache)
    finally:
        # apt's configuration is global to the process: leave none of ours behind.
        for key in options:
            apt_pkg.config.clear(key)
    try:
        pkg = cache[package]
    except KeyError:
        return UpdateStatus("", via="python3-apt")
    candidate = depcache.get_candidate_ver(pkg)
    installed = pkg.current_ver.ver_str if pkg.current_ver else ""
    offered = candidate.ver_str if candidate else ""
    newer = bool(installed and offered and apt_pkg.version_compare(offered, installed) > 0)
    return UpdateStatus(installed, offered, newer, via="python3-apt")


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LC_ALL": "C.UTF-8"}  # apt-cache translates "Installed:" otherwise
    return subprocess.run(argv, capture_output=True, text=True, timeout=APT_TIMEOUT_SECONDS, env=env, check=False)


def via_apt_cache(package: str, options: Mapping[str, str]) -> UpdateStatus:
    apt_cache = shutil.which("apt-cache")
    if apt_cache is None:
        raise AptUnavailable("apt-cache is not installed")
    proc = _run([apt_cache, *(f"-o{k}={v}" for k, v in options.items()), "policy", package])
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1])
    fields: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and key in ("Installed", "Candidate") and key not in fields:
            fields[key] = "" if value.strip() == "(none)" else value.strip()
    installed, offered = fields.get("Installed", ""), fields.get("Candidate", "")
    newer = False
    if installed and offered and offered != installed:
        dpkg = shutil.which("dpkg") or "dpkg"
        newer = _run([dpkg, "--compare-versions", offered, "gt", installed]).returncode == 0
    return UpdateStatus(installed, offered, newer, via="apt-cache")


METHODS = {"python3-apt": via_python_apt, "apt-cache": via_apt_cache}


def check_for_update(package: str = PACKAGE, *, options: Mapping[str, str] | None = None,
                     methods: tuple[str, ...] = ("python3-apt", "apt-cache"),
                     installed_hint: str = "") -> UpdateStatus:
    """What apt knows about `package`; never raises (a failure is in `error`)."""
    problems = []
    for name in methods:
        try:
            return dataclasses.replace(METHODS[name](package, options or {}), running=installed_hint)
        except AptUnavailable as exc:
            problems.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - apt's failure is a line in the report
            log.warning("asking apt about %s through %s failed: %s", package, name, exc)
            problems.append(f"{name}: {exc}")
    return UpdateStatus("", error="; ".join(problems) or "no way to ask apt", running=installed_hint)
