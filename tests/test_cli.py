"""The `studybuddy` command: --help for every command, check-config, create-admin."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from studybuddy.cli import main
from studybuddy.store import open_store
from studybuddy.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def test_help_for_every_command() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0 and "StudyBuddy" in result.output
    assert {"run", "web", "worker", "check-config", "create-admin"} <= set(main.commands)
    for name in main.commands:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output and len(result.output.splitlines()) >= 3, name


def test_check_config_ok_and_broken(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["check-config", str(ROOT / "config.example.yaml")], env={})
    assert result.exit_code == 0 and result.output.strip() == "config OK"
    bad = tmp_path / "bad.yaml"
    bad.write_text("web:\n  port: high\n  secret_key: hunter2-very-secret\n  sekret: 1\n")
    result = runner.invoke(main, ["check-config", str(bad)], env={})
    assert result.exit_code == 2
    assert f"{bad}:2: web.port must be a whole number" in result.output
    assert f"{bad}:4: unknown setting 'web.sekret'" in result.output
    assert "hunter2" not in result.output
    missing = runner.invoke(main, ["check-config", str(tmp_path / "nope.yaml")], env={})
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_create_admin(tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(f"app:\n  state_dir: {tmp_path / 'state'}\n")
    runner = CliRunner()
    result = runner.invoke(main, ["-c", str(cfg_file), "create-admin", "Root@Example.com", "--password",
                                  "long enough pw"], env={})
    assert result.exit_code == 0, result.output
    store = open_store(load_config(cfg_file, env={}))
    user = store.users.get_by_email("root@example.com")
    assert user is not None and user.is_admin
    result = runner.invoke(main, ["-c", str(cfg_file), "create-admin", "x", "--password", "short"], env={})
    assert result.exit_code == 1 and "valid e-mail" in result.output
    assert store.users.count() == 1
    store.close()


def test_a_broken_config_stops_startup_with_a_clear_list(tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("broker:\n  url: redis://x\n")
    result = CliRunner().invoke(main, ["-c", str(cfg_file), "worker"], env={})
    assert result.exit_code == 2
    assert "broker.url must be memory:// or amqp://" in result.output


@pytest.mark.parametrize("args", [["worker", "--queues", "summarise"]])
def test_bad_arguments(args: list[str], tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(f"app:\n  state_dir: {tmp_path / 'state'}\n")
    result = CliRunner().invoke(main, ["-c", str(cfg_file), *args], env={})
    assert result.exit_code == 2 and "unknown queue 'summarise'" in result.output
