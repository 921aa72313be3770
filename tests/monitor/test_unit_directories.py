"""The directories the units declare have the modes the package gives them, so systemd does not
log "already exists but the mode is different" at every start."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT_DIR = ROOT / "systemd"
# systemd.exec(5): where each kind of directory lives, and its default mode.
BASES = {"StateDirectory": "/var/lib", "ConfigurationDirectory": "/etc", "RuntimeDirectory": "/run",
         "CacheDirectory": "/var/cache", "LogsDirectory": "/var/log"}


def tmpfiles_modes() -> dict[str, str]:
    modes = {}
    for line in (UNIT_DIR / "studybuddy.tmpfiles.conf").read_text().splitlines():
        fields = line.split()
        if fields and fields[0] in ("d", "D") and len(fields) >= 3:
            modes[fields[1]] = fields[2].rjust(4, "0")
    return modes


def unit_directories(unit: Path) -> dict[str, str]:
    """path -> mode for every *Directory= the unit declares."""
    settings: dict[str, str] = {}
    for line in unit.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not line.lstrip().startswith("#"):
            settings[key] = value.strip()
    out = {}
    for kind, base in BASES.items():
        for name in settings.get(kind, "").split():
            out[f"{base}/{name}"] = settings.get(f"{kind}Mode", "0755").rjust(4, "0")
    return out


@pytest.mark.parametrize("unit", sorted(p.name for p in UNIT_DIR.glob("*.service")))
def test_unit_directory_modes_match_the_package(unit: str) -> None:
    package = tmpfiles_modes()
    declared = unit_directories(UNIT_DIR / unit)
    assert declared, f"{unit} declares no directories"
    for path, mode in declared.items():
        if path in package:
            assert mode == package[path], f"{unit}: {path} is {mode} in the unit but {package[path]} in tmpfiles.d"


def test_the_configuration_directory_is_checked() -> None:
    assert tmpfiles_modes()["/etc/studybuddy"] == "0750"
    assert unit_directories(UNIT_DIR / "studybuddy-web.service")["/etc/studybuddy"] == "0750"
