"""The config loader: YAML, env overrides, secrets, strict validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from studybuddy.config import Config, ConfigError, describe_settings, load_config

ROOT = Path(__file__).resolve().parents[1]


def problems_of(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(text=text, env=env or {})
    return info.value.problems


def test_defaults_need_nothing() -> None:
    cfg = load_config(env={})
    assert cfg == Config()
    assert cfg.storage_url.startswith("sqlite:///") and cfg.broker.url == "memory://"


def test_example_file_documents_every_setting_with_its_default() -> None:
    text = (ROOT / "config.example.yaml").read_text()
    assert load_config(ROOT / "config.example.yaml", env={}) == Config()
    for dotted, _default, _secret in describe_settings():
        section, key = dotted.split(".")
        assert f"\n  {key}:" in text.split(f"\n{section}:", 1)[1].split("\n\n", 1)[0], dotted


def test_unknown_keys_get_a_did_you_mean_with_the_line() -> None:
    problems = problems_of("web:\n  port: 80\n  secure_cookie: true\nwokrer:\n  concurrency: 2\n")
    assert "<config>:3: unknown setting 'web.secure_cookie' (did you mean 'secure_cookies'?)" in problems
    assert "<config>:4: unknown section 'wokrer' (did you mean 'worker'?)" in problems


@pytest.mark.parametrize("value", ["yes", "no", "on", "1", "True", '"true"'])
def test_booleans_are_only_true_or_false(value: str) -> None:
    problems = problems_of(f"web:\n  secure_cookies: {value}\n")
    assert len(problems) == 1 and "must be true or false" in problems[0]


def test_numbers_are_not_guessed_from_strings() -> None:
    problems = problems_of('web:\n  port: "8080"\n')
    assert problems == ["<config>:2: web.port must be a whole number, got '8080'"]


def test_every_problem_is_listed_at_once() -> None:
    problems = problems_of(
        "web:\n  port: -1\n  threads: 0\nworker:\n  queues: [summarise]\nai:\n  chat: [gpt]\n"
        "storage:\n  url: postgres://x\nmonitor:\n  daily_report_time: '8am'\n"
    )
    text = "\n".join(problems)
    for fragment in ["web.port must be between", "web.threads must be above 0", "unknown queue 'summarise'",
                     "unknown provider 'gpt'", "storage.url must start", "daily_report_time must be HH:MM"]:
        assert fragment in text
    assert len(problems) == 6


def test_env_overrides_use_the_declared_type() -> None:
    cfg = load_config(text="web:\n  port: 80\n", env={
        "STUDYBUDDY_WEB__PORT": "9000", "STUDYBUDDY_WEB__SECURE_COOKIES": "true",
        "STUDYBUDDY_WORKER__QUEUES": "summarize, assess", "STUDYBUDDY_BROKER__CONNECT_TIMEOUT": "1.5",
        "STUDYBUDDY_TEST_MONGODB_URI": "ignored: belongs to the test suite",
    })
    assert cfg.web.port == 9000 and cfg.web.secure_cookies is True
    assert cfg.worker.queues == ["summarize", "assess"] and cfg.broker.connect_timeout == 1.5
    problems = problems_of("", env={"STUDYBUDDY_WEB__PORT": "eighty", "STUDYBUDDY_WEB__SECURE_COOKIES": "yes",
                                    "STUDYBUDDY_WEBB__PORT": "1"})
    assert len(problems) == 3
    assert any("did you mean 'web'" in p for p in problems)


def test_secrets_from_credentials_and_files_and_never_shown(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "secret_key").write_text("from-credential\n")
    (tmp_path / "smtp").write_text("smtp-secret\n")
    cfg = load_config(text=f"mail:\n  password_file: {tmp_path / 'smtp'}\n",
                      env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert cfg.web.secret_key == "from-credential"
    assert cfg.mail.password == "smtp-secret"
    assert "from-credential" not in repr(cfg) and "smtp-secret" not in repr(cfg)
    problems = problems_of("web:\n  secret_key: 12345\n")
    assert problems == ["<config>:2: web.secret_key must be a string, got <hidden>"]
    problems = problems_of(f"ai:\n  openai_api_key_file: {tmp_path / 'missing'}\n")
    assert "cannot read" in problems[0]


def test_malformed_yaml_and_wrong_shapes() -> None:
    assert "not valid YAML" in problems_of("web: [\n")[0]
    assert problems_of("- a\n- b\n") == ["<config>: the top level must be a mapping of sections"]
    assert problems_of("web: 5\n") == ["<config>:1: section 'web' must be a mapping"]


def test_replace_makes_a_changed_copy() -> None:
    cfg = Config()
    other = cfg.replace(web={"port": 1234})
    assert other.web.port == 1234 and cfg.web.port == 8080


def test_mail_cap_and_reminder_interval_are_checked() -> None:
    # No cap of 0 (only resolves would ever go out) and no reminder every round.
    problems = problems_of("mail:\n  max_per_hour: 0\n  repeat_minutes: -5\n")
    assert problems == ["<config>:2: mail.max_per_hour must be above 0",
                        "<config>:3: mail.repeat_minutes must be above 0"]


def test_parser_limits_are_checked() -> None:
    problems = problems_of("ingest:\n  parse_timeout_seconds: 0\n  parse_cpu_seconds: -1\n"
                           "  parse_memory_mb: 100\n  max_image_pixels: 0\n")
    text = "\n".join(problems)
    for fragment in ["ingest.parse_timeout_seconds must be above 0", "ingest.parse_cpu_seconds must be above 0",
                     "ingest.max_image_pixels must be above 0", "ingest.parse_memory_mb must be at least 256"]:
        assert fragment in text
    assert len(problems) == 4
    cfg = load_config(text="ingest:\n  parse_memory_mb: 512\n  parse_timeout_seconds: 60\n", env={})
    assert (cfg.ingest.parse_memory_mb, cfg.ingest.parse_timeout_seconds) == (512, 60)
