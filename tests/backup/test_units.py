"""The backup service and timer: they verify, the service scores 2.0 or lower like the others,
and the package, tmpfiles and polkit pieces agree with them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.monitor.test_units import ANALYZE, UNIT_DIR, _settings, needs_analyze

ROOT = UNIT_DIR.parent


@needs_analyze
@pytest.mark.slow
def test_backup_units_verify(unit_root: Path) -> None:
    for name in ("studybuddy-backup.service", "studybuddy-backup.timer"):
        shutil.copy(UNIT_DIR / name, unit_root / "etc/systemd/system" / name)
    proc = subprocess.run([ANALYZE or "", "verify", f"--root={unit_root}", "studybuddy-backup.service",
                           "studybuddy-backup.timer"], check=False, capture_output=True, text=True, timeout=120)
    ours = [line for line in (proc.stdout + proc.stderr).splitlines() if "studybuddy" in line]
    assert proc.returncode == 0 and ours == [], proc.stdout + proc.stderr


@needs_analyze
def test_backup_service_exposure_is_at_most_2(tmp_path: Path) -> None:
    for path in UNIT_DIR.glob("*.service"):
        shutil.copy(path, tmp_path / path.name)
    proc = subprocess.run([ANALYZE or "", "security", "--offline=true", "--no-pager", "studybuddy-backup.service"],
                          check=False, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout + proc.stderr)
    assert match and float(match.group(1)) <= 2.0, proc.stdout + proc.stderr


def test_backup_service_contract() -> None:
    s = _settings("studybuddy-backup.service")
    assert s["Type"] == ["oneshot"] and s["User"] == ["studybuddy"] and s["Group"] == ["studybuddy"]
    assert s["ExecStart"] == ["/usr/bin/studybuddy --config /etc/studybuddy/config.yaml backup --prune"]
    assert s["ReadWritePaths"] == ["/var/lib/studybuddy /var/backups/studybuddy"]
    assert "StateDirectory" not in s, "it would re-own the shared state directory"
    assert s["OnFailure"] == ["studybuddy-failure-mail@%n.service"]
    timer = _settings("studybuddy-backup.timer")
    assert timer["Persistent"] == ["true"] and timer["OnCalendar"] and timer["WantedBy"] == ["timers.target"]
    tmp = (UNIT_DIR / "studybuddy.tmpfiles.conf").read_text()
    assert re.search(r"^d /var/backups/studybuddy 0750 studybuddy studybuddy", tmp, re.MULTILINE)


def test_package_installs_enables_and_purge_keeps_the_backups() -> None:
    rules = (ROOT / "packaging/debian/rules").read_text()
    assert "systemd/studybuddy-backup.timer" in rules and "dh_installsystemd studybuddy-backup.timer" in rules
    postinst = (ROOT / "packaging/debian/studybuddy.postinst").read_text()
    assert re.search(r"backup --to /var/backups/studybuddy --label \"pre-upgrade-\$1\"", postinst)
    assert postinst.index("backup --to") < postinst.index("studybuddy_as_service migrate")
    assert postinst.index('migrate_store "${2:-}"') < postinst.index("#DEBHELPER#")
    postrm = (ROOT / "packaging/debian/studybuddy.postrm").read_text()
    assert "rm -rf /var/backups" not in postrm
    role = (ROOT / "ansible/roles/studybuddy/tasks/main.yml").read_text()
    assert "studybuddy-backup.timer" in role


def test_exec_start_of_the_backup_service_is_a_real_command() -> None:
    from click.testing import CliRunner

    from studybuddy.cli import main

    argv = _settings("studybuddy-backup.service")["ExecStart"][0].split()
    result = CliRunner().invoke(main, [argv[3], "--help"])
    assert result.exit_code == 0 and "--prune" in result.output
