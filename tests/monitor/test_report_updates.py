"""The daily report: the installed version and whether apt offers a newer one (asked both through
python3-apt and through apt-cache, of a repository the test controls), jobs per day by type with
failures, and the disk trend."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from studybuddy.config import Config
from studybuddy.metrics.jobs import daily_key
from studybuddy.monitor.report import STATE_KEY, build_report, mark_sent
from studybuddy.monitor.updates import AptUnavailable, UpdateStatus, check_for_update, load_apt_pkg
from studybuddy.services import Services

INSTALLED = "0.1.0"
STANZA = """Package: studybuddy
Version: {version}
Architecture: amd64
Maintainer: StudyBuddy maintainers <maintainers@studybuddy.example.org>
Installed-Size: 1
Filename: ./studybuddy_{version}_amd64.deb
Size: 1
Description: self-hosted AI study companion
"""


def _needs(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is missing and CI=true")
        pytest.skip(f"{tool} is missing")


def apt_source(root: Path, offered: str | None) -> dict[str, str]:
    """A dpkg status with studybuddy INSTALLED, a file: repository offering `offered` (None: an empty
    repository), and the apt options that make apt see only these; `apt-get update` has read it."""
    _needs("apt-get")
    for sub in ("repo", "lists/partial", "cache/archives/partial", "parts", "prefs", "state"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "status").write_text(STANZA.format(version=INSTALLED).replace(
        "Architecture: amd64\n", "Architecture: amd64\nStatus: install ok installed\n"))
    (root / "repo/Packages").write_text(STANZA.format(version=offered) if offered else "")
    (root / "sources.list").write_text(f"deb [trusted=yes] file:{root / 'repo'} ./\n")
    options = {
        "Dir::State::status": str(root / "status"), "Dir::State": str(root / "state"),
        "Dir::State::Lists": str(root / "lists"), "Dir::Cache": str(root / "cache"),
        "Dir::Etc::SourceList": str(root / "sources.list"), "Dir::Etc::SourceParts": str(root / "parts"),
        "Dir::Etc::Preferences": str(root / "prefs/none"), "Dir::Etc::PreferencesParts": str(root / "prefs"),
        "APT::Architecture": "amd64", "APT::Architectures": "amd64", "APT::Sandbox::User": "root",
        "Debug::NoLocking": "1",
    }
    update = subprocess.run(["apt-get", "-q", *(f"-o{k}={v}" for k, v in options.items()), "update"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert update.returncode == 0, update.stdout + update.stderr
    return options


METHODS = ["python3-apt", "apt-cache"]


@pytest.fixture(params=METHODS)
def method(request: pytest.FixtureRequest) -> str:
    if request.param == "python3-apt":
        try:
            load_apt_pkg()
        except AptUnavailable:
            if os.environ.get("CI") == "true":
                pytest.fail("python3-apt is missing and CI=true (apt-get install python3-apt)")
            pytest.skip("python3-apt is missing")
    else:
        _needs("apt-cache")
    return str(request.param)


@pytest.mark.parametrize("offered, newer", [("0.2.0", True), ("0.1.0+1", True), (INSTALLED, False),
                                            ("0.0.9", False), (None, False)])
def test_apt_is_asked(tmp_path: Path, method: str, offered: str | None, newer: bool) -> None:
    status = check_for_update(options=apt_source(tmp_path, offered), methods=(method,))
    assert status.error == "" and status.via == method
    assert status.installed == INSTALLED
    assert status.newer is newer
    if newer:
        assert status.candidate == offered


def report_text(cfg: Config, services: Services, now: float, **kwargs: object) -> tuple[str, str, str]:
    mail = build_report(cfg, services.store, now, "host.test", {}, **kwargs)  # type: ignore[arg-type]
    return mail.subject, mail.text, mail.html


NOW = dt.datetime(2026, 3, 10, 8, 0, tzinfo=ZoneInfo("Asia/Jerusalem")).timestamp()


def test_the_report_says_when_apt_offers_a_newer_version(cfg: Config, services: Services, tmp_path: Path,
                                                         method: str) -> None:
    options = apt_source(tmp_path, "0.2.0")
    subject, text, html = report_text(cfg, services, NOW, updates=check_for_update(options=options,
                                                                                   methods=(method,)))
    line = "StudyBuddy 0.1.0 installed; 0.2.0 is available (apt install studybuddy)"
    assert line in text and f"<strong>{line}</strong>" in html
    assert subject == "[StudyBuddy] Daily report 2026-03-10 (update 0.2.0 available)"


def test_the_report_says_when_apt_knows_nothing_newer(cfg: Config, services: Services, tmp_path: Path,
                                                      method: str) -> None:
    options = apt_source(tmp_path, INSTALLED)
    subject, text, _ = report_text(cfg, services, NOW, updates=check_for_update(options=options,
                                                                                methods=(method,)))
    assert "StudyBuddy 0.1.0 installed; apt knows no newer version" in text
    assert subject == "[StudyBuddy] Daily report 2026-03-10"


def test_the_report_asks_apt_itself(cfg: Config, services: Services, tmp_path: Path) -> None:
    _, text, _ = report_text(cfg, services, NOW, apt_options=apt_source(tmp_path / "apt", "0.3.0"))
    assert "StudyBuddy 0.1.0 installed; 0.3.0 is available" in text


def test_no_way_to_ask_apt_is_a_line_not_a_failure() -> None:
    status = check_for_update(methods=())
    assert status.error and not status.newer
    assert UpdateStatus("0.1.0", error="apt-cache is not installed").line() == \
        "StudyBuddy 0.1.0; could not ask apt about updates: apt-cache is not installed"


# -- jobs per day, disk trend -------------------------------------------------------------------

def test_jobs_per_day_by_type_with_failures(cfg: Config, services: Services) -> None:
    counters = services.store.counters
    counters.incr(daily_key("2026-03-10", "ingest", "succeeded"), 5)
    counters.incr(daily_key("2026-03-10", "ingest", "dead"), 1)
    counters.incr(daily_key("2026-03-09", "summary", "succeeded"), 2)
    counters.incr(daily_key("2026-03-09", "summary", "failed"), 1)
    counters.incr(daily_key("2026-03-09", "ping", "succeeded"), 500)  # canaries: not students' jobs
    counters.incr(daily_key("2026-03-01", "summary", "succeeded"), 9)  # older than a week
    _, text, html = report_text(cfg, services, NOW, updates=UpdateStatus(INSTALLED))
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.startswith("  2026-03-")}
    assert rows["2026-03-10"] == ["6", "(1)", "-", "6", "(1)"]
    assert rows["2026-03-09"] == ["-", "3", "(1)", "3", "(1)"]
    assert rows["2026-03-04"] == ["-", "-", "0", "(0)"]
    assert "2026-03-01" not in rows and "ping" not in text
    assert "<td>2026-03-09</td><td align=\"right\">-</td><td align=\"right\">3 (1)</td>" in html


def test_disk_trend_over_the_days(cfg: Config, services: Services) -> None:
    cfg.state_path.mkdir(parents=True, exist_ok=True)
    (cfg.state_path / "blob").write_bytes(b"x" * (3 * 1024 * 1024))
    _, first, _ = report_text(cfg, services, NOW, updates=UpdateStatus(INSTALLED))
    assert "the trend starts with tomorrow's report" in first
    assert "StudyBuddy's data 3 MiB" in first
    mark_sent(services.store, "2026-03-10")
    state = services.store.monitor.get_state(STATE_KEY) or {}
    assert state["last_date"] == "2026-03-10" and "2026-03-10" in state["disk"]
    # A week ago there was 7 GiB more free space and 700 MiB less data.
    today = state["disk"]["2026-03-10"]
    state["disk"]["2026-03-03"] = {"free_mb": today["free_mb"] + 7 * 1024, "used_mb": today["used_mb"] - 700,
                                   "total_mb": today["total_mb"]}
    services.store.monitor.set_state(STATE_KEY, state)
    _, text, _ = report_text(cfg, services, NOW + 3600, updates=UpdateStatus(INSTALLED))
    assert "since 2026-03-03: free -1024 MiB/day, data +100 MiB/day" in text
    assert f"full in about {today['free_mb'] // 1024} days at this rate" in text
