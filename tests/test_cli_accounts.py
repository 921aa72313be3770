"""The CLI on an installed host: it never writes the services' state as another owner, reads the
credential store as the units would, and fails with one line that says how to fix it.

The installed host is imitated in a world-readable temporary directory whose state belongs to
`nobody` (standing in for the `studybuddy` account). Commands that switch accounts run in a
forked child, so the test process stays root.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import studybuddy.web.auth  # noqa: F401 - see in_child
from studybuddy.cli import main
from studybuddy.config import load_config
from studybuddy.jobs.broker import BrokerUnavailable
from studybuddy.store import open_store

NOBODY = pwd.getpwnam("nobody")
PASSWORD = "a long enough password"
TOP = Path(__file__).resolve().parents[1]


def _needs_root() -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("these tests switch accounts and need root, as CI runs them")
        pytest.skip("switching accounts needs root")


@dataclass
class Host:
    """A config file and a state directory laid out as the package lays them out."""

    root: Path
    config: Path
    state: Path
    credstore: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {"STUDYBUDDY_CONFIG": str(self.config), "STUDYBUDDY_CREDSTORE_PATH": str(self.credstore),
                "CREDENTIALS_DIRECTORY": "", **extra}

    def files(self) -> dict[str, int]:
        """Every path in the state directory with the uid that owns it."""
        out = {".": self.state.stat().st_uid}
        for path in self.state.rglob("*"):
            out[str(path.relative_to(self.state))] = path.lstat().st_uid
        return out


@pytest.fixture
def host() -> Iterator[Host]:
    root = Path(tempfile.mkdtemp(prefix="studybuddy-host-"))
    root.chmod(0o755)
    state = root / "state"
    credstore = root / "credstore"
    credstore.mkdir(mode=0o700)
    config = root / "config.yaml"
    config.write_text(f"app:\n  state_dir: {state}\n")
    config.chmod(0o644)
    yield Host(root, config, state, credstore)
    shutil.rmtree(root, ignore_errors=True)


def install(host: Host) -> None:
    """What postinst and the first start of the services leave: a store owned by the service account."""
    store = open_store(load_config(host.config, env={}))
    store.close()
    for path in [host.state, *host.state.rglob("*")]:
        os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)
    host.state.chmod(0o770)


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def in_child(fn: Callable[[], Any]) -> Any:
    """Run fn in a forked child, which may give up root for good; returns what it returned.

    The modules the commands import late (the web app and what it needs, smtplib among them)
    are imported above, before the fork: this machine's Python lives under /root, which the
    child cannot read once it is another account (an installed Python is world-readable)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(read_end)
        try:
            payload = json.dumps({"value": fn()})
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            payload = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        with os.fdopen(write_end, "w") as out:
            out.write(payload)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    answer = json.loads(data)
    assert "error" not in answer, answer["error"]
    return answer["value"]


def as_nobody(fn: Callable[[], Any]) -> Callable[[], Any]:
    """fn, run as an ordinary account (what `sudo -u studybuddy` or a login as alice gives)."""

    def run() -> Any:
        os.setgroups([])
        os.setgid(NOBODY.pw_gid)
        os.setuid(NOBODY.pw_uid)
        return fn()

    return run


def one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    assert "Traceback" not in output
    return lines[0]


@pytest.fixture(autouse=True)
def _imports_done(host: Host) -> None:
    """Import everything the commands use while still root: after a switch to nobody the
    interpreter may not be able to read its own library (here it lives under /root)."""
    import studybuddy.cli_ops  # noqa: F401
    import studybuddy.monitor.probes  # noqa: F401
    import studybuddy.services  # noqa: F401

    warm = Path(tempfile.mkdtemp(prefix="studybuddy-warm-"))
    cfg = warm / "c.yaml"
    cfg.write_text(f"app:\n  state_dir: {warm / 'state'}\n")
    env = {"STUDYBUDDY_CONFIG": str(cfg), "STUDYBUDDY_CREDSTORE_PATH": ""}
    for args in (["create-admin", "warm@example.org", "--password", PASSWORD], ["status"], ["probe", "store"],
                 ["check-config"], ["status", "--help"]):
        invoke(args, env)
    invoke(["-c", str(warm / "missing.yaml"), "status"], env)
    shutil.rmtree(warm, ignore_errors=True)


# -- read-only commands create nothing --------------------------------------------------------

def test_help_and_check_config_create_nothing(host: Host) -> None:
    env = host.env()
    for args in (["--help"], ["status", "--help"], ["create-admin", "--help"], ["check-config"],
                 ["check-config", str(host.config)]):
        code, output = invoke(args, env)
        assert code == 0, (args, output)
    assert not host.state.exists()


def test_status_and_probe_create_nothing_where_nothing_is_installed(host: Host) -> None:
    for args in (["status"], ["probe", "store"]):
        code, output = invoke(args, host.env())
        line = one_line_error(output)
        assert code == 1 and "there is no StudyBuddy database" in line and "systemctl start" in line
    assert not host.state.exists()


def test_status_as_root_then_create_admin_as_the_service_account(host: Host) -> None:
    _needs_root()
    install(host)
    before = host.files()
    code, output = in_child(lambda: invoke(["status"], host.env()))
    assert code == 0 and "overall: warn" in output, output
    code, output = in_child(lambda: invoke(["probe", "store"], host.env()))
    assert code == 0, output
    assert not (host.state / "secret_key").exists()
    # Nothing in the state directory belongs to root: every file is the service account's.
    after = host.files()
    assert set(after.values()) == {NOBODY.pw_uid}, after
    assert set(before) <= set(after)

    # The man page's example, as the service account itself (sudo -u studybuddy ...).
    code, output = in_child(as_nobody(lambda: invoke(["create-admin", "admin@example.org", "--password",
                                                      PASSWORD], host.env())))
    assert code == 0 and "administrator admin@example.org created" in output, output
    # And run by root, which switches to that account by itself.
    code, output = in_child(lambda: invoke(["create-admin", "second@example.org", "--password", PASSWORD],
                                           host.env()))
    assert code == 0, output
    assert set(host.files().values()) == {NOBODY.pw_uid}
    store = open_store(load_config(host.config, env={}))
    assert {u.email for u in store.users.list()} == {"admin@example.org", "second@example.org"}
    store.close()


# -- permissions ------------------------------------------------------------------------------

def test_an_account_that_may_not_write_is_told_the_command(host: Host) -> None:
    _needs_root()
    install(host)
    os.chown(host.state, 0, 0)
    host.state.chmod(0o700)
    code, output = in_child(as_nobody(lambda: invoke(
        ["create-admin", "admin@example.org", "--password", PASSWORD], host.env())))
    line = one_line_error(output)
    assert code == 1
    assert f"nobody may not write {host.state}" in line
    assert line.endswith("run it as root: sudo studybuddy create-admin admin@example.org")
    assert PASSWORD not in output


def test_an_unreadable_config_file_is_one_line(host: Host) -> None:
    _needs_root()
    install(host)
    host.config.chmod(0o600)
    for args in (["status"], ["check-config", str(host.config)]):
        code, output = in_child(as_nobody(lambda a=args: invoke(a, host.env())))  # type: ignore[misc]
        line = one_line_error(output)
        assert code == 1 and f"{host.config} is not readable by this account" in line and "sudo" in line


def test_the_default_config_hidden_by_its_directory_is_not_replaced_by_defaults(
        host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    _needs_root()
    hidden = host.root / "etc"
    hidden.mkdir(mode=0o750)
    shutil.copy(host.config, hidden / "config.yaml")
    monkeypatch.setattr("studybuddy.cli.DEFAULT_CONFIG_PATH", str(hidden / "config.yaml"))
    env = host.env(STUDYBUDDY_CONFIG="")
    code, output = in_child(as_nobody(lambda: invoke(["status"], env)))
    line = one_line_error(output)
    assert code == 1 and "is not readable by this account" in line
    assert not Path("studybuddy-data").exists()


# -- missing files ----------------------------------------------------------------------------

def test_a_missing_config_file_is_one_line(host: Host) -> None:
    code, output = invoke(["-c", str(host.root / "nope.yaml"), "status"], host.env())
    line = one_line_error(output)
    assert code == 2 and "nope.yaml: cannot read: No such file or directory" in line


# -- unreachable services ---------------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_mongodb_is_one_line(host: Host) -> None:
    env = host.env(STUDYBUDDY_STORAGE__URL=f"mongodb://127.0.0.1:{_closed_port()}/studybuddy")
    code, output = invoke(["create-admin", "admin@example.org", "--password", PASSWORD], env)
    line = one_line_error(output)
    assert code == 1 and "MongoDB is unreachable" in line and "storage.url" in line


def test_a_taken_port_is_one_line(host: Host) -> None:
    install(host)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = in_child(lambda: invoke(["web"], host.env(STUDYBUDDY_WEB__PORT=str(port),
                                                                 STUDYBUDDY_METRICS__WEB_PORT="0")))
    line = one_line_error(output)
    assert code == 1 and "already in use" in line


def test_debug_shows_the_traceback(host: Host) -> None:
    """Through the real console entry point: one line on stderr, or the traceback with --debug."""
    env = {**os.environ, **host.env()}
    plain = subprocess.run([sys.executable, "-m", "studybuddy.cli", "status"], capture_output=True, text=True,
                           env=env, cwd=TOP, timeout=120, check=False)
    assert plain.returncode == 1
    assert plain.stdout == "" and one_line_error(plain.stderr)
    debug = subprocess.run([sys.executable, "-m", "studybuddy.cli", "--debug", "status"], capture_output=True,
                           text=True, env=env, cwd=TOP, timeout=120, check=False)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and "CliFailure" in debug.stderr


# -- the credential store ---------------------------------------------------------------------

def test_root_reads_the_credential_store_then_runs_as_the_service_account(host: Host) -> None:
    _needs_root()
    install(host)
    (host.credstore / "studybuddy.monitor_password").write_text("from the credstore\n")

    def password_seen() -> list[Any]:
        from studybuddy.cli import Context, load_cli_config

        cfg = load_cli_config(str(host.config))
        ctx = Context(str(host.config))
        import click

        with click.Context(main) as click_ctx:
            click_ctx.obj = ctx
            ctx.service_config()
        return [cfg.monitor.account_password, os.geteuid()]

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STUDYBUDDY_CREDSTORE_PATH", str(host.credstore))
        mp.delenv("CREDENTIALS_DIRECTORY", raising=False)
        assert in_child(password_seen) == ["from the credstore", NOBODY.pw_uid]
        # An account that may not read the store simply does without it.
        assert in_child(as_nobody(lambda: load_config(host.config, credstore=[str(host.credstore)])
                                  .monitor.account_password)) == ""


def test_root_becomes_the_monitors_account_for_the_monitors_commands(host: Host) -> None:
    """Only the monitor's account may restart units (polkit): `monitor --once` run by root becomes it
    when it shares the state through its group, and the owner otherwise."""
    _needs_root()
    from studybuddy.service_account import run_as_state_owner

    install(host)
    daemon = pwd.getpwnam("daemon")
    os.chown(host.state, NOBODY.pw_uid, daemon.pw_gid)

    def who(prefer: str) -> list[Any]:
        account = run_as_state_owner(host.state, "studybuddy monitor --once", prefer=prefer)
        return [account.name if account else None, os.geteuid(), os.getegid()]

    assert in_child(lambda: who("daemon")) == ["daemon", daemon.pw_uid, daemon.pw_gid]
    # An account that does not exist, or is not in the state's group: the owner, as always.
    assert in_child(lambda: who("no-such-account"))[:2] == ["nobody", NOBODY.pw_uid]
    assert in_child(lambda: who("bin"))[:2] == ["nobody", NOBODY.pw_uid]


@pytest.mark.parametrize("exc, expected", [
    (PermissionError(13, "Permission denied", "/var/lib/studybuddy/blobs"),
     "permission denied: /var/lib/studybuddy/blobs; run it as root, which switches to the service account "
     "itself: sudo studybuddy create-admin a@example.org"),
    (FileNotFoundError(2, "No such file or directory", "/srv/x.pdf"),
     "/srv/x.pdf does not exist; check the path (and app.state_dir in the configuration)"),
    (sqlite3.OperationalError("attempt to write a readonly database"),
     "the SQLite database cannot be written (attempt to write a readonly database); run it as root, which "
     "switches to the service account itself: sudo studybuddy create-admin a@example.org"),
    (BrokerUnavailable("refused"),
     "the broker is unreachable: is RabbitMQ running (`systemctl status rabbitmq-server`), and is broker.url right?"),
    (RuntimeError("something odd\nsecond line"),
     "RuntimeError: something odd (run `studybuddy --debug …` for the details)"),
])
def test_each_failure_is_explained_in_one_line(exc: BaseException, expected: str) -> None:
    from studybuddy.cli_failures import explain

    assert explain(exc, "studybuddy create-admin a@example.org") == expected
