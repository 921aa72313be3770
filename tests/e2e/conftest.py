"""Fixtures for the end-to-end run: the .deb, a booted container, a loopback SMTP server inside
it, and the playbook applied to it. Everything is session-scoped: one container per run."""

from __future__ import annotations

import contextlib
import json
import mailbox
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .client import Browser
from .harness import CONTAINER_IP, HERE, Container, Network, run
from .upgrade import StudentData, make_student_data, previous_release, snapshot

TOP = HERE.parent.parent
CACHE = Path(os.environ.get("STUDYBUDDY_E2E_CACHE", "/var/cache/studybuddy-e2e"))
WORK = Path(os.environ.get("STUDYBUDDY_E2E_WORKDIR", "/var/tmp/studybuddy-e2e"))
SMTP_PORT = 2525
ADMIN_MAIL = "admin@studybuddy-e2e.test"
TOOLS = ["debootstrap", "systemd-nspawn", "nsenter", "ip", "ssh", "ansible-playbook", "dpkg-buildpackage"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    system_tests = str(HERE / "test_system.py")
    for item in items:
        if str(item.fspath) == system_tests:
            item.add_marker(pytest.mark.e2e)


def _require_environment() -> None:
    """The run needs root and a few Debian tools; it is opt-in because it takes minutes."""
    if os.environ.get("STUDYBUDDY_E2E") != "1":
        pytest.skip("end-to-end run not requested: use `make e2e` (sets STUDYBUDDY_E2E=1)")
    problems = []
    if os.geteuid() != 0:
        problems.append("needs root (debootstrap, systemd-nspawn, network namespaces)")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        problems.append("missing tools: " + ", ".join(missing))
    if problems:
        message = "; ".join(problems)
        if os.environ.get("CI") == "true":
            pytest.fail(f"end-to-end prerequisites missing in CI: {message}")
        pytest.skip(message)


@pytest.fixture(scope="session")
def deb_path() -> Path:
    _require_environment()
    given = os.environ.get("STUDYBUDDY_E2E_DEB")
    if given:
        path = Path(given).resolve()
        assert path.is_file(), f"STUDYBUDDY_E2E_DEB={given} does not exist"
        return path
    run(["sh", str(TOP / "packaging/build-deb.sh")], timeout=1800)
    debs = sorted((TOP / "dist").glob("studybuddy_*_amd64.deb"), key=lambda p: p.stat().st_mtime)
    assert debs, "packaging/build-deb.sh produced no .deb"
    return debs[-1]


@contextlib.contextmanager
def booted_container(workdir: Path) -> Iterator[Container]:
    """A fresh copy of the cached Debian tree under workdir/root, booted in our network namespace.

    Only one container can run at a time (one namespace name): a scenario that needs a host of
    its own boots it in a module-scoped fixture, which ends before the next one starts."""
    run(["sh", str(HERE / "build-rootfs.sh")], timeout=1800,
        env={**os.environ, "STUDYBUDDY_E2E_CACHE": str(CACHE)})
    network = Network()
    box = Container(workdir / "root", workdir, network)
    box.prepare(CACHE / "root")
    network.up()
    try:
        box.boot()
        yield box
    finally:
        try:
            (workdir / "journal.txt").write_text(box.journal("-b -o short-precise") if box.init_pid else "")
        except Exception as exc:  # noqa: BLE001 - diagnostics only
            print(f"could not save the container's journal: {exc}", file=sys.stderr)
        box.shutdown()
        network.down()


@pytest.fixture(scope="session")
def container(deb_path: Path) -> Iterator[Container]:
    with booted_container(WORK) as box:
        yield box


@dataclass
class Smtp:
    """A real SMTP server (aiosmtpd) listening on 127.0.0.1 inside the container's network."""

    maildir: Path
    proc: subprocess.Popen[bytes]

    def messages(self) -> list[mailbox.MaildirMessage]:
        box = mailbox.Maildir(str(self.maildir), create=False)
        return sorted(box, key=lambda m: m.get_date())

    def subjects(self) -> list[str]:
        from email.header import decode_header, make_header

        return [str(make_header(decode_header(m.get("Subject", "")))) for m in self.messages()]


@pytest.fixture(scope="session")
def smtp(container: Container) -> Iterator[Smtp]:
    maildir = WORK / "maildir"
    shutil.rmtree(maildir, ignore_errors=True)
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    log = WORK / "smtp.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            container.in_netns([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{SMTP_PORT}",
                                "-c", "aiosmtpd.handlers.Mailbox", str(maildir)]),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    probe = f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {SMTP_PORT}), 1)\""
    deadline = time.monotonic() + 20
    while container.sh(probe, check=False).returncode != 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the loopback SMTP server did not start; see {log}")
        time.sleep(0.2)
    yield Smtp(maildir, proc)
    proc.terminate()
    proc.wait(timeout=10)


@dataclass
class Upgrade:
    """The previous release installed, a student's data made with it, then the upgrade."""

    student: Browser
    data: StudentData
    before: dict[str, Any]
    started_at: float
    seconds: dict[str, float]


@dataclass
class Provisioned:
    inventory: Path
    first_run: subprocess.CompletedProcess[str]
    rabbitmq_password: str
    upgrade: Upgrade


def write_inventory(container: Container, deb: Path, workdir: Path, rabbitmq_password: str,
                    secret_key: str, name: str = "inventory.json") -> Path:
    """The single-host inventory, pointed at the container, with settings that make the run fast."""
    inventory = {
        "all": {
            "vars": {
                "ansible_host": CONTAINER_IP,
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(container.key),
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                "studybuddy_deb_path": str(deb),
                "studybuddy_apt_update": False,
                "studybuddy_server_name": "studybuddy-e2e.test",
                "studybuddy_admin_email": ADMIN_MAIL,
                "studybuddy_smtp_host": "127.0.0.1",
                "studybuddy_smtp_port": SMTP_PORT,
                "studybuddy_smtp_security": "none",
                "studybuddy_rabbitmq_password": rabbitmq_password,
                "studybuddy_secret_key": secret_key,
                "studybuddy_config": {
                    # Probe every few seconds so three strikes take seconds, not 15 minutes.
                    "monitor": {"interval_seconds": 3, "ai_probe_interval_seconds": 86400,
                                "canary_timeout_seconds": 10.0, "upload_timeout_seconds": 20.0},
                    "mail": {"max_per_hour": 100},
                    # A killed worker's job is requeued when its lease runs out: keep that short.
                    "worker": {"lease_seconds": 20, "reaper_interval_seconds": 3.0},
                },
            },
            "children": {
                group: {"hosts": {"studybuddy-e2e": None}}
                for group in ("web", "worker", "monitor", "rabbitmq")
            } | {"mongodb": {"hosts": {}}},
        }
    }
    path = workdir / name
    path.write_text(json.dumps(inventory, indent=2))
    return path


def run_playbook(inventory: Path, *extra: str, ansible: Path = TOP / "ansible") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ansible / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "False"}
    return subprocess.run(["ansible-playbook", "-i", str(inventory), str(ansible / "site.yml"), *extra],
                          capture_output=True, text=True, timeout=1200, env=env, cwd=str(ansible),
                          check=False)


@pytest.fixture(scope="session")
def provisioned(container: Container, smtp: Smtp, deb_path: Path) -> Provisioned:
    password = secrets.token_urlsafe(18)
    secret_key = secrets.token_urlsafe(32)
    inventory = write_inventory(container, deb_path, WORK, password, secret_key)
    # A dry run on the new host first: --check --diff must work before anything is installed.
    dry = run_playbook(inventory, "--check", "--diff")
    (WORK / "playbook-0-check.log").write_text(dry.stdout + dry.stderr)
    assert dry.returncode == 0, f"--check --diff failed on a new host:\n{dry.stdout[-6000:]}\n{dry.stderr[-3000:]}"

    # The previous release first, installed by its own playbook, and a student's data made with it.
    seconds: dict[str, float] = {}
    started = time.monotonic()
    previous_deb, previous_ansible = previous_release()
    seconds["build_previous_release"] = time.monotonic() - started
    started = time.monotonic()
    old_inventory = write_inventory(container, previous_deb, WORK, password, secret_key,
                                    name="inventory-previous.json")
    old = run_playbook(old_inventory, ansible=previous_ansible)
    (WORK / "playbook-0-previous.log").write_text(old.stdout + old.stderr)
    assert old.returncode == 0, f"the previous release's playbook failed:\n{old.stdout[-6000:]}\n{old.stderr[-3000:]}"
    _wait_until_settled(container)
    seconds["install_previous_release"] = time.monotonic() - started
    started = time.monotonic()
    cert = WORK / "site-cert.pem"
    cert.write_text(container.sh("cat /etc/ssl/studybuddy/cert.pem").stdout)
    student = Browser(f"https://{CONTAINER_IP}", str(cert))
    student_email = f"noa-{secrets.token_hex(3)}@studybuddy-e2e.test"
    student.signup(student_email, "correct horse battery", "נועה")
    data = make_student_data(student)
    before = snapshot(student, data)
    seconds["data_through_http"] = time.monotonic() - started

    # The upgrade: this tree's package, by this tree's playbook.
    started = time.monotonic()
    upgrade_at = float(container.sh("date +%s.%N").stdout)
    result = run_playbook(inventory)
    (WORK / "playbook-1.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"the playbook failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    _wait_until_settled(container)
    seconds["upgrade"] = time.monotonic() - started
    # The upgrade ends the previous release's logins (its cookies named the account, not a session
    # that could be revoked): the student logs in again.
    student.login(student_email, "correct horse battery")
    return Provisioned(inventory, result, password, Upgrade(student, data, before, upgrade_at, seconds))


def _wait_until_settled(container: Container, timeout: float = 180) -> None:
    """The services restarted by the playbook are up, and the monitor's last round passed."""
    units = ("studybuddy-web.service", "studybuddy-worker.service", "studybuddy-monitor.service")

    def settled() -> bool:
        if any(container.show(u, "SubState")["SubState"] != "running" for u in units):
            return False
        status = container.show("studybuddy-monitor.service", "StatusText")["StatusText"]
        return " 0 fail" in status

    container.wait_until("the services and the monitor's probes to settle", settled, timeout=timeout,
                         interval=1.0)
