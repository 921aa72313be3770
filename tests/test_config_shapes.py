"""check-config knows the shape of e-mail addresses, URLs, times and ports (with the line), and the
loader reads the credential store as LoadCredential= would."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from studybuddy.cli import main
from studybuddy.config import ConfigError, credstore_dirs, load_config


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(text=text, env={})
    return info.value.problems


def test_the_bracketed_admin_address_is_refused_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text('mail:\n  enabled: true\n  admin_to: "[admin@example.org]"\n')
    result = CliRunner().invoke(main, ["check-config", str(config)], env={})
    # A YAML string where a list belongs is a type error already.
    assert result.exit_code == 2 and f"{config}:3: mail.admin_to must be a list of strings" in result.output
    config.write_text('mail:\n  enabled: true\n  admin_to:\n    - ops@example.org\n    - "[admin@example.org]"\n')
    result = CliRunner().invoke(main, ["check-config", str(config)], env={})
    assert result.exit_code == 2
    assert (f"{config}:5: mail.admin_to[1]: '[admin@example.org]' is not an e-mail address: "
            "write it bare, like admin@example.org") in result.output
    assert "1 problem(s) found" in result.output


@pytest.mark.parametrize("address", ["admin", "Admin <admin@example.org>", "admin@@example.org",
                                     "ad min@example.org", "admin@example..org", ""])
def test_bad_addresses(address: str) -> None:
    problems = problems_of(f'mail:\n  sender: "{address}"\n')
    assert problems == [f"<config>:2: mail.sender: {address!r} is not an e-mail address: "
                        "write it bare, like admin@example.org"]


@pytest.mark.parametrize("address", ["admin@example.org", "studybuddy@localhost", "monitor@studybuddy.invalid",
                                     "first.last+tag@sub.example.co.il"])
def test_good_addresses(address: str) -> None:
    cfg = load_config(text=f'mail:\n  sender: "{address}"\nmonitor:\n  account_email: "{address}"\n', env={})
    assert cfg.mail.sender == address


def test_urls_ports_and_times_with_their_lines() -> None:
    problems = problems_of(
        "app:\n  base_url: study.example.org\n"
        "monitor:\n  web_url: 'http://127.0.0.1:80800'\n  daily_report_time: '25:00'\n"
        "ai:\n  openai_base_url: 'ftp://models.example.org'\n"
        "broker:\n  url: 'amqp://user:s3cret@/vhost'\n"
        "mail:\n  port: 0\n"
        "metrics:\n  monitor_port: 70000\n"
    )
    assert problems == [
        "<config>:5: monitor.daily_report_time must be HH:MM (24-hour clock, e.g. 08:00), got '25:00'",
        "<config>:4: monitor.web_url: 'http://127.0.0.1:80800' is not a valid URL (Port out of range 0-65535), "
        "e.g. http://host:port",
        "<config>:2: app.base_url: 'study.example.org' must start with http:// or https://, e.g. http://host:port",
        "<config>:7: ai.openai_base_url: 'ftp://models.example.org' must start with http:// or https://, "
        "e.g. http://host:port",
        "<config>:9: broker.url: 'amqp://user:***@/vhost' has no host name, e.g. amqp://host:port",
        "<config>:11: mail.port: must be a port number between 1 and 65535, got 0",
        "<config>:13: metrics.monitor_port: must be a port number between 1 and 65535 (0 turns it off), "
        "got 70000",
    ]
    assert not any("s3cret" in p for p in problems)


def test_environment_overrides_are_checked_too() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env={"STUDYBUDDY_MAIL__ADMIN_TO": "ops@example.org,[x@example.org]"})
    assert info.value.problems == ["<defaults>: mail.admin_to[1]: '[x@example.org]' is not an e-mail address: "
                                   "write it bare, like admin@example.org"]


# -- the credential store ---------------------------------------------------------------------

def test_credentials_come_from_the_store_outside_a_unit(tmp_path: Path) -> None:
    etc, run = tmp_path / "etc", tmp_path / "run"
    etc.mkdir()
    run.mkdir()
    (etc / "studybuddy.monitor_password").write_text("from etc\n")
    (run / "studybuddy.monitor_password").write_text("from run\n")
    (run / "studybuddy.smtp_password").write_text("smtp from run\n")
    (etc / "monitor_token").write_text("not named studybuddy.*: not ours\n")
    cfg = load_config(env={}, credstore=[str(etc), str(run)])
    # /etc/credstore first, as systemd searches it.
    assert cfg.monitor.account_password == "from etc"
    assert cfg.mail.password == "smtp from run"
    assert cfg.monitor.token == ""
    # Inside a unit, systemd has chosen already: only $CREDENTIALS_DIRECTORY counts.
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "monitor_password").write_text("from the unit\n")
    inside = load_config(env={"CREDENTIALS_DIRECTORY": str(creds)}, credstore=[str(etc), str(run)])
    assert inside.monitor.account_password == "from the unit" and inside.mail.password == ""
    # Without a store given, nothing is read from any.
    assert load_config(env={}).monitor.account_password == ""


def test_the_store_directories_default_to_systemds_and_can_be_moved() -> None:
    assert credstore_dirs({}) == ("/etc/credstore", "/run/credstore", "/usr/lib/credstore")
    assert credstore_dirs({"STUDYBUDDY_CREDSTORE_PATH": "/a:/b"}) == ("/a", "/b")
    assert credstore_dirs({"STUDYBUDDY_CREDSTORE_PATH": ""}) == ()
