"""The administrator's first hour, without Ansible: `apt-get install ./studybuddy_*.deb` on a fresh
Debian bookworm under systemd (RabbitMQ, nginx and Tesseract present), and what one does next.

Runs on a container of its own, booted and shut down here, before the Ansible scenario
(test_system.py) boots its own. The figures are added to bench/results/recovery.json.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import WORK, booted_container
from .harness import Container

pytestmark = pytest.mark.e2e

UNITS = ("studybuddy-web.service", "studybuddy-worker.service", "studybuddy-monitor.service")
GREEN_WITHIN_SECONDS = 60.0
FIGURES: dict[str, Any] = {}
RESULTS = Path(__file__).resolve().parents[2] / "bench/results/plain-install.json"


def _record(key: str, value: Any) -> None:
    FIGURES[key] = value
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def fresh(deb_path: Path) -> Iterator[Container]:
    started = time.monotonic()
    with booted_container(WORK / "plain-install") as box:
        (box.root / "root" / deb_path.name).write_bytes(deb_path.read_bytes())
        box.deb = deb_path.name  # type: ignore[attr-defined]
        yield box
    _record("scenario_seconds", round(time.monotonic() - started, 1))


def _ready(box: Container) -> bool:
    out = box.sh("python3 -c \"import json, urllib.request; print(json.load(urllib.request.urlopen("
                 "'http://127.0.0.1:8080/health/ready', timeout=5))['status'])\"", check=False).stdout
    return out.strip() == "pass"


def test_a_apt_install_is_green_within_a_minute(fresh: Container) -> None:
    began = time.monotonic()
    fresh.sh(f"cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./{fresh.deb}",  # type: ignore[attr-defined]
             timeout=600)
    installed = time.monotonic()
    _record("apt_install_seconds", round(installed - began, 1))
    seen: dict[str, float] = {}

    def green() -> bool:
        if "units" not in seen and all(fresh.show(u, "ActiveState")["ActiveState"] == "active" for u in UNITS):
            seen["units"] = time.monotonic() - installed
        if "ready" not in seen and _ready(fresh):
            seen["ready"] = time.monotonic() - installed
        if "units" in seen and "ready" in seen:
            status = fresh.sh("studybuddy status", check=False)
            if status.returncode == 0 and "overall: pass" in status.stdout:
                seen["status"] = time.monotonic() - installed
                return True
        return False

    try:
        fresh.wait_until("all units active, /health/ready and `studybuddy status` passing", green,
                         timeout=GREEN_WITHIN_SECONDS, interval=1.0)
    finally:
        _record("install_to_green_seconds", {k: round(v, 1) for k, v in seen.items()})
        print("\n" + fresh.sh("studybuddy status", check=False).stdout)
    monitor = fresh.show("studybuddy-monitor.service", "StatusText")["StatusText"]
    assert re.search(r"last round \d\d:\d\d: \d+ pass, 0 warn, 0 fail", monitor), monitor


def test_b_the_journal_has_no_warning_from_our_units(fresh: Container) -> None:
    out = fresh.sh("journalctl -q -b --no-pager -p warning -u 'studybuddy-*' -o short-precise").stdout
    assert out.strip() == "", out


def test_c_status_as_root_then_create_admin_as_the_service_account(fresh: Container) -> None:
    status = fresh.sh("studybuddy status", check=False)
    assert status.returncode == 0, status.stdout + status.stderr
    assert fresh.sh("test -e /var/lib/studybuddy/secret_key", check=False).returncode != 0
    assert fresh.sh("find /var/lib/studybuddy -user root").stdout.strip() == ""
    password = secrets.token_urlsafe(12)
    made = fresh.sh(f"cd / && sudo -u studybuddy studybuddy create-admin admin@example.org --password '{password}'",
                    check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "administrator admin@example.org created" in made.stdout
    assert "Traceback" not in made.stderr


def test_d_probe_upload_as_root_passes(fresh: Container) -> None:
    probe = fresh.sh("studybuddy probe upload", check=False, timeout=180)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert re.search(r"upload:roundTrip\s+pass", probe.stdout), probe.stdout
    assert fresh.sh("find /var/lib/studybuddy -user root").stdout.strip() == ""


def test_e_metrics_on_loopback_and_the_dashboard_and_apt(fresh: Container) -> None:
    def scrape(port: int) -> str:
        return fresh.sh(f"python3 -c \"import urllib.request; print(urllib.request.urlopen("
                        f"'http://127.0.0.1:{port}/metrics', timeout=10).read().decode())\"").stdout

    web, worker, monitor = scrape(9480), scrape(9481), scrape(9482)
    assert 'role="web"' in web and "studybuddy_http_requests_total{" in web
    assert 'role="worker"' in worker and 'studybuddy_jobs_processed_total{outcome="succeeded",type="ping"}' in worker
    assert 'role="monitor"' in monitor and 'studybuddy_check_status{check="upload:roundTrip"} 0.0' in monitor
    dashboard = fresh.sh("cat /usr/share/doc/studybuddy/grafana-dashboard.json").stdout
    assert json.loads(dashboard)["title"] == "StudyBuddy"
    # The daily report's update line, asked as the monitor's account with the package's python3-apt.
    line = fresh.sh("cd / && runuser -u studybuddy-monitor -- /opt/venvs/studybuddy/bin/python -c "
                    "\"from studybuddy.monitor.updates import check_for_update; s = check_for_update(); "
                    "print(s.via, '|', s.line())\"").stdout.strip()
    assert line.startswith("python3-apt |") and "installed; apt knows no newer version" in line, line


def test_f_figures() -> None:
    """The figures, printed next to the aim they are measured against."""
    green = FIGURES.get("install_to_green_seconds", {})
    print(f"\nplain install: apt-get install took {FIGURES.get('apt_install_seconds')} s")
    print(f"plain install: installed -> units active {green.get('units')} s, /health/ready {green.get('ready')} s, "
          f"`studybuddy status` overall: pass {green.get('status')} s (aim: within {GREEN_WITHIN_SECONDS:.0f} s)")
    assert green.get("status") is not None and green["status"] <= GREEN_WITHIN_SECONDS
